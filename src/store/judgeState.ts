/**
 * How far each day detector's kept flags are current (migration 006), and the marks that send a
 * detector back: every write of a detection input (readings, peer rows, the registry) notes the
 * earliest day it touched, and the next run judges again from there.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LIST, VARCHAR, listValue } from '@duckdb/node-api';
import type { Db } from './db.js';
import { DAY_MS } from '../time.js';
import { MACRO_DIR } from '../paths.js';

export interface JudgedState {
  fingerprint: string;
  /** Local midnight (ms) of the last day whose flags are kept. */
  judgedThroughMs: number;
  /** Local midnight (ms) of the earliest day whose inputs changed since; undefined = none. */
  dirtyFromMs: number | undefined;
}

/** The kept flags of one detector (its columns are the detector's flagged CTE's). */
export const flagsTable = (detector: string): string => `detector_flags_${detector}`;

/**
 * A day detector's kept flags, one JSON text per row in a stable order: bigints as numbers,
 * numbers to 1e-6, so two stores' flags compare whatever the float noise of parallel sums.
 */
export async function storedFlagRows(db: Db, detector: string): Promise<string[]> {
  const rows = (await db.con.runAndReadAll(`select * from ${flagsTable(detector)} order by all`)).getRowObjectsJS();
  return rows.map((r) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? Math.round(v * 1e6) / 1e6 : v)));
}

type Con = Db['con'];

let macroText: string | undefined;

/** The shared macros' text: kept state made with other macros is made again. */
export function macroSource(): string {
  macroText ??= readdirSync(MACRO_DIR).filter((f) => f.endsWith('.sql')).sort().map((f) => readFileSync(join(MACRO_DIR, f), 'utf8')).join('\n');
  return macroText;
}

/**
 * Note that every meter's inputs changed from the day `dayExpr` yields (a SQL scalar query returning
 * a date, or null for nothing) on: a restored partition's state. Cheap: one row per detector.
 */
export async function markDirtyFrom(con: Con, dayExpr: string): Promise<void> {
  await con.run(`
    update detector_judged set dirty_from = least(coalesce(dirty_from, x.d), x.d)
    from (${dayExpr}) x(d) where x.d is not null`);
}

/**
 * Note the days new readings land on (`freshDays`: a relation with meter_id and day). A detector
 * that has already judged such a day judges exactly those meters again from it (migration 011): a
 * concentrator's late day for one meter no longer re-judges the district. The rollups kept per day
 * (day profiles, and the peer rows built on them) take the same per-meter marks and recompute those
 * meters' days only. Days not judged yet need no mark. Run inside the writer's transaction.
 */
export async function markReadingsDirty(con: Con, freshDays: string): Promise<void> {
  await con.run(`
    insert into detector_dirty_meters
    select j.detector, f.meter_id, min(f.day)
    from ${freshDays} f join detector_judged j on f.day <= j.judged_through
    group by all`);
}

/**
 * Note changed peer rows (`changedRows`: meter_id, day): every meter compared with medians that
 * include them is judged again from the earliest changed day by the detectors that read peers
 * (`peerDetectors`): the meters of their street group and, for a category with a street too small to
 * be a group, every meter compared with the district's (peer_street '*', as meter_groups() places
 * them). detector_dirty_groups holds peer streets. A detector that reads no peer row is not sent
 * back. Days not judged yet need no mark.
 */
export async function markPeerRowsDirty(con: Con, changedRows: string, peerDetectors: readonly string[]): Promise<void> {
  if (!peerDetectors.length) return;
  await con.run(`
    insert into detector_dirty_groups
    select j.detector, k.peer_street, k.category, min(k.day)
    from (
      select coalesce(m.street, '') as peer_street, coalesce(m.category, 'other') as category, c.day
      from ${changedRows} c left join meters m using (meter_id)
      union all
      select '*', coalesce(m.category, 'other'), c.day
      from ${changedRows} c left join meters m using (meter_id)
      where coalesce(m.category, 'other') in (select category from peer_streets() where peer_street = '*')
    ) k
    join detector_judged j on k.day <= j.judged_through
    where list_contains($names, j.detector)
    group by all`, { names: listValue([...peerDetectors]) }, { names: LIST(VARCHAR) });
}

/**
 * The meters a detector judges again before `beforeMs` (local midnight), each from its earliest
 * marked day: its own marks and its peer groups' (only meters with data, meters_with_data, count).
 * Fills temp.rejudge_meters (meter_id, from_day) and returns their number and earliest day.
 */
export async function loadRejudgeMeters(con: Con, detector: string, beforeMs: number): Promise<{ meters: number; fromMs: number | undefined }> {
  await con.run(`
    create or replace temp table rejudge_meters as
    select meter_id, min(from_day) as from_day from (
      select meter_id, dirty_from as from_day from detector_dirty_meters where detector = $d
      union all
      select g.meter_id, x.dirty_from from detector_dirty_groups x
      join meter_groups() g on g.peer_street = x.street and g.category = x.category
      where x.detector = $d
    ) semi join meters_with_data using (meter_id)
    where from_day < date '1970-01-01' + cast($before as integer)
    group by meter_id`, { d: detector, before: Math.floor(beforeMs / DAY_MS) });
  const r = (await con.runAndReadAll(`select count(*) n, epoch_ms(min(from_day)) f from temp.rejudge_meters`)).getRowObjectsJS()[0]!;
  return { meters: Number(r.n), fromMs: r.f === null ? undefined : Number(r.f) };
}

/** Everything is judged again at the next run (registry changes: categories, streets, capacities, sites). */
export async function markAllDirty(con: Con): Promise<void> {
  await con.run(`update detector_judged set dirty_from = date '1970-01-01'`);
}

export async function loadJudged(db: Db, detector: string): Promise<JudgedState | undefined> {
  const rows = (await db.con.runAndReadAll(
    `select fingerprint, epoch_ms(judged_through) t, epoch_ms(dirty_from) d from detector_judged where detector = $d`, { d: detector })).getRowObjectsJS();
  const r = rows[0];
  if (!r) return undefined;
  return { fingerprint: String(r.fingerprint), judgedThroughMs: Number(r.t), dirtyFromMs: r.d === null ? undefined : Number(r.d) };
}

export async function saveJudged(db: Db, detector: string, fingerprint: string, judgedThroughMs: number): Promise<void> {
  await db.con.run(`
    insert or replace into detector_judged values ($d, $f, date '1970-01-01' + cast($days as integer), null)`,
    { d: detector, f: fingerprint, days: Math.floor(judgedThroughMs / DAY_MS) });
  await db.con.run(`delete from detector_dirty_meters where detector = $d`, { d: detector });
  await db.con.run(`delete from detector_dirty_groups where detector = $d`, { d: detector });
}

/**
 * The first day to judge: everything when the flags were made by other SQL or parameters (or never),
 * otherwise the day after the last judged one, the earliest changed day, or the day after the one
 * asked for if that is earlier (a run through an earlier day drops later flags).
 */
export function judgeFromMs(state: JudgedState | undefined, fingerprint: string, lastCompleteDayMs: number): number {
  if (!state || state.fingerprint !== fingerprint) return 0;
  return Math.max(0, Math.min(state.judgedThroughMs + DAY_MS, state.dirtyFromMs ?? Infinity, lastCompleteDayMs + DAY_MS));
}

/** Drop the kept flags and day profiles of meters whose readings this store no longer holds (a lost partition). */
export async function dropKeptStateOf(con: Con, meterSelect: string): Promise<void> {
  const tables = (await con.runAndReadAll(`select table_name from duckdb_tables() where schema_name = 'main' and table_name like 'detector!_flags!_%' escape '!'`)).getRowObjectsJS();
  for (const t of tables) await con.run(`delete from "${String(t.table_name)}" where meter_id in (${meterSelect})`);
  await con.run(`delete from meter_day_profiles where meter_id in (${meterSelect})`);
}
