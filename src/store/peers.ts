/**
 * peer_daily rows: the row a worker publishes for each of its meters and days, handed over a page
 * at a time, and the rows other workers computed for their meters (read from the peers topic). The
 * rows of this worker's own meters are computed locally (refreshPeers, src/store/detectors.ts) and
 * never overwritten from outside.
 */
import { DuckDBDateValue } from '@duckdb/node-api';
import { inTransaction, type Db } from './db.js';
import { markPeerRowsDirty } from './judgeState.js';
import { DAY_MS } from '../time.js';

export interface PeerRow {
  meter_id: string;
  /** Local midnight (ms). */
  day_ms: number;
  kwh_day: number | null;
  profiled: boolean;
  work_kw: number | null;
}

const CHANGED_PEER_COLUMNS = 'meter_id, epoch_ms(day) as day_ms, kwh_day, profiled, work_kw';
/** Rows handed to onChanged at a time. */
const CHANGED_PAGE_ROWS = 50_000;

const peerRowOf = (r: Record<string, unknown>): PeerRow => ({ meter_id: String(r.meter_id), day_ms: Number(r.day_ms), kwh_day: numOrNull(r.kwh_day), profiled: Boolean(r.profiled), work_kw: numOrNull(r.work_kw) });

/** Stream a table of peer rows to `onChanged` in pages (the callback must not use the connection: it publishes). */
export async function pageChangedPeerRows(con: Db['con'], table: string, onChanged: (rows: PeerRow[]) => Promise<void>): Promise<void> {
  const result = await con.stream(`select ${CHANGED_PEER_COLUMNS} from ${table}`);
  let page: PeerRow[] = [];
  for await (const rows of result.yieldRowObjectJs()) {
    for (const r of rows) page.push(peerRowOf(r));
    if (page.length >= CHANGED_PAGE_ROWS) {
      await onChanged(page);
      page = [];
    }
  }
  if (page.length) await onChanged(page);
}

const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * Put rows (a table with peer_daily's columns, one row per meter and day) in place of the stored
 * rows of the same keys. peer_daily has no index to upsert on (migration 010), so the keys are
 * deleted first, reading only the rows' days, which the zone maps find.
 */
export async function replacePeerRows(db: Db, table: string): Promise<void> {
  const con = db.con;
  await inTransaction(con, async () => {
    await con.run(`
      delete from peer_daily p using ${table} s
      where p.meter_id = s.meter_id and p.day = s.day
        and p.day between (select min(day) from ${table}) and (select max(day) from ${table})`);
    await con.run(`insert into peer_daily select * from ${table}`);
  });
}

/**
 * Store remote peer rows; returns the days (local midnight ms) whose stored values changed. The
 * peer groups of changed rows are marked for `peerDetectors` (the detectors that read peer rows).
 */
export async function applyPeerRows(db: Db, rows: readonly PeerRow[], peerDetectors: readonly string[]): Promise<number[]> {
  if (!rows.length) return [];
  // a compacted topic may still hold several versions of a key: the last one wins
  const latest = new Map<string, PeerRow>();
  for (const r of rows) latest.set(`${r.meter_id}|${r.day_ms}`, r);
  const con = db.con;
  await con.run(`create or replace temp table peer_stage as select * from peer_daily limit 0`);
  const app = await con.createAppender('peer_stage', 'main', 'temp');
  for (const r of latest.values()) {
    app.appendVarchar(r.meter_id);
    app.appendDate(new DuckDBDateValue(Math.floor(r.day_ms / DAY_MS)));
    if (r.kwh_day === null) app.appendNull(); else app.appendDouble(r.kwh_day);
    app.appendBoolean(r.profiled);
    if (r.work_kw === null) app.appendNull(); else app.appendDouble(r.work_kw);
    app.endRow();
  }
  app.closeSync();
  await con.run(`
    create or replace temp table peer_incoming as
    select s.* from temp.peer_stage s
    anti join meter_partition m on m.meter_id = s.meter_id
    left join peer_daily p on p.meter_id = s.meter_id and p.day = s.day
    where p.meter_id is null or p.profiled <> s.profiled or not same_level(p.kwh_day, s.kwh_day) or not same_level(p.work_kw, s.work_kw)`);
  await replacePeerRows(db, 'temp.peer_incoming');
  await markPeerRowsDirty(con, 'temp.peer_incoming', peerDetectors);
  const days = (await con.runAndReadAll(`select distinct epoch_ms(day) d from temp.peer_incoming`)).getRowObjectsJS();
  return days.map((r) => Number(r.d));
}
