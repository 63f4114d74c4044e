/**
 * Restore from state, not from raw history (issue 13, item 4): after a day close a worker writes,
 * per readings partition it owns, what its DuckDB holds for that partition's meters - raw readings
 * within the raw horizon, rollups, day profiles, peer rows, register state, the kept detector flags
 * - as Parquet files with a manifest naming the Kafka offset they cover. A worker that gains a
 * partition its DuckDB knows nothing of loads the latest snapshot and replays only the messages
 * after that offset, instead of the topic from its earliest retained offset.
 *
 * The folder is the object store: a shared or synced directory (an NFS mount, or a bucket mounted
 * or synced by the operator). A snapshot is written to a temporary folder and renamed into place,
 * so a reader sees the previous one or the new one, never half of one.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBTimestampValue } from '@duckdb/node-api';
import { inTransaction, type Db } from './db.js';
import { markDirtyFrom } from './judgeState.js';
import { writePrivateFile } from '../sinks/private.js';
import { PowerscreenError } from '../errors.js';
import { DAY_MS } from '../time.js';
import { horizonFor, loadRetention } from './retention.js';
import { notePeerMarks, notePeersOffset } from './workerState.js';

/** The tables whose rows belong to a partition's meters (each has meter_id). */
const METER_TABLES = ['readings', 'meter_daily', 'meter_hourly', 'meter_day_profiles', 'peer_daily', 'register_state', 'meter_partition'] as const;

export interface SnapshotManifest {
  version: 1;
  topic: string;
  partition: number;
  /** The readings topic offset after the last message the snapshot holds. */
  next_offset: string;
  watermark_ms: number | null;
  /** Local midnight (ms) of the last day closed when it was written. */
  closed_day_ms: number;
  /** The first day of raw readings it holds (local midnight ms): the store's raw horizon then, or worker.snapshots.raw_days through the close where that is later; null = all raw kept. */
  raw_from_ms: number | null;
  /** Each day detector's kept state: flags are taken only by a store judging with the same fingerprint. */
  judged: { detector: string; fingerprint: string; judged_through_ms: number }[];
  meters: number;
  tables: string[];
  written_at: string;
  /**
   * Where the writer stood on the peers topic: per partition of it, the base offset of the last
   * batch the writer had published there. Every peer row of these meters published before it is
   * in the snapshot's peer_daily, so a new worker reads the topic only from there (loadPeersFromSnapshots).
   */
  peers?: { topic: string; offsets: { partition: number; offset: string }[] };
}

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
const tsLit = (ms: number) => `timestamp '${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}'`;
const folderOf = (dir: string, topic: string, partition: number) => join(dir, topic.replace(/[^\w.-]/g, '_'), `p${partition}`);

async function flagTables(db: Db): Promise<string[]> {
  const rows = (await db.con.runAndReadAll(`select table_name from duckdb_tables() where schema_name = 'main' and table_name like 'detector!_flags!_%' escape '!' order by 1`)).getRows();
  return rows.map((r) => String(r[0]));
}

export function readSnapshotManifest(dir: string, topic: string, partition: number): SnapshotManifest | undefined {
  const file = join(folderOf(dir, topic, partition), 'manifest.json');
  if (!existsSync(file)) return undefined;
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as SnapshotManifest;
    if (m.version !== 1 || m.partition !== partition || m.topic !== topic) return undefined;
    return m;
  } catch (e) {
    throw new PowerscreenError('INPUT_MALFORMED', `${file}: not a snapshot manifest: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Write partition `partition`'s state. Run on the worker's DuckDB queue, between batches, so the
 * tables and the stored offset agree. Returns the manifest and the bytes written.
 */
export async function writePartitionSnapshot(db: Db, dir: string, topic: string, partition: number, closedDayMs: number,
  /** Whole days of raw readings through the close to ship (null: all the store holds); see worker.snapshots.raw_days. */
  rawDays: number | null = null,
  /** The writer's Publisher.peersPublished, when it has published peer rows or markers. */
  peers?: { topic: string; published: ReadonlyMap<number, bigint> }): Promise<{ manifest: SnapshotManifest; bytes: number } | undefined> {
  const con = db.con;
  const off = (await con.runAndReadAll(`select next_offset, epoch_ms(watermark) w from kafka_offsets where topic = $t and "partition" = $p`, { t: topic, p: partition })).getRowObjectsJS()[0];
  if (!off) return undefined;
  const target = folderOf(dir, topic, partition);
  const tmp = `${target}.writing-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  try {
    const meters = `select meter_id from meter_partition where "partition" = ${Math.floor(partition)}`;
    const tables: string[] = [...METER_TABLES, ...(await flagTables(db))];
    // the raw tail shipped: the store's own horizon, or rawDays through the close where that is later
    const rawFromMs = horizonFor({ raw_days: rawDays, hourly_days: null, daily_days: null }, closedDayMs, { rawFromMs: (await loadRetention(db)).rawFromMs }).rawFromMs;
    for (const t of tables) {
      const tail = t === 'readings' && rawFromMs !== undefined ? ` and ts > ${tsLit(rawFromMs)}` : '';
      await con.run(`copy (select * from ${t} where meter_id in (${meters})${tail}) to ${lit(join(tmp, `${t}.parquet`))} (format parquet, compression zstd)`);
    }
    const judged = (await con.runAndReadAll(`select detector, fingerprint, epoch_ms(judged_through) t from detector_judged order by 1`)).getRowObjectsJS()
      .map((r) => ({ detector: String(r.detector), fingerprint: String(r.fingerprint), judged_through_ms: Number(r.t) }));
    const manifest: SnapshotManifest = {
      version: 1, topic, partition, next_offset: String(off.next_offset), watermark_ms: off.w === null ? null : Number(off.w),
      closed_day_ms: closedDayMs, raw_from_ms: rawFromMs ?? null, judged,
      meters: Number((await con.runAndReadAll(`select count(*) from (${meters})`)).getRows()[0]![0]),
      tables, written_at: new Date().toISOString(),
      ...(peers?.published.size ? { peers: { topic: peers.topic, offsets: [...peers.published].sort((x, y) => x[0] - y[0]).map(([partition, o]) => ({ partition, offset: String(o) })) } } : {}),
    };
    // the manifest last: a folder without one is not a snapshot
    writePrivateFile(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 1));
    const bytes = readdirSync(tmp).reduce((n, f) => n + statSync(join(tmp, f)).size, 0);
    const old = `${target}.old-${process.pid}-${Date.now()}`;
    if (existsSync(target)) renameSync(target, old);
    renameSync(tmp, target);
    rmSync(old, { recursive: true, force: true });
    return { manifest, bytes };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw new PowerscreenError('STORE_FAILED', `writing the snapshot of partition ${partition} to ${dir} failed: ${(e as Error).message}`, { cause: e });
  }
}

const ts = (ms: number) => new DuckDBTimestampValue(BigInt(ms) * 1000n);

/**
 * Load the latest snapshot of a partition into this store, in one transaction: its meters' rows
 * replace whatever the store held of them (peer rows read from the peers topic), the offset and
 * watermark are stored, and days after the snapshot's close are marked to be judged again. Kept
 * flags come along only for detectors this store judges with the same SQL and parameters (or has
 * not judged yet). Returns the manifest, or undefined when there is none.
 */
export async function loadPartitionSnapshot(db: Db, dir: string, topic: string, partition: number): Promise<SnapshotManifest | undefined> {
  const m = readSnapshotManifest(dir, topic, partition);
  if (!m) return undefined;
  const folder = folderOf(dir, topic, partition);
  const file = (t: string) => lit(join(folder, `${t}.parquet`));
  const con = db.con;
  try {
    await inTransaction(con, async () => {
      const meters = `select meter_id from read_parquet(${file('meter_partition')})`;
      const mine = new Map((await con.runAndReadAll(`select detector, fingerprint from detector_judged`)).getRowObjectsJS().map((r) => [String(r.detector), String(r.fingerprint)]));
      const existing = new Set(await flagTables(db));
      for (const t of m.tables) {
        if (t.startsWith('detector_flags_')) {
          const detector = t.slice('detector_flags_'.length);
          const theirs = m.judged.find((j) => j.detector === detector);
          if (!theirs || (mine.has(detector) && mine.get(detector) !== theirs.fingerprint)) continue;
          if (!existing.has(t)) await con.run(`create table ${t} as select * from read_parquet(${file(t)}) limit 0`);
        }
        await con.run(`delete from ${t} where meter_id in (${meters})`);
        await con.run(`insert into ${t} select * from read_parquet(${file(t)})`);
      }
      // a store that has judged nothing yet takes the snapshot's judged state: its flags are those
      for (const j of m.judged) {
        if (!mine.has(j.detector)) {
          await con.run(`insert into detector_judged values ($d, $f, cast($t as date), null)`, { d: j.detector, f: j.fingerprint, t: ts(j.judged_through_ms) });
        }
      }
      // days this store has judged past the snapshot's are judged again, now with these meters
      await markDirtyFrom(con, `select date '${new Date(m.closed_day_ms + DAY_MS).toISOString().slice(0, 10)}'`);
      await con.run(`insert or replace into kafka_offsets values ($t, $p, $o, $w)`,
        { t: topic, p: partition, o: BigInt(m.next_offset), w: m.watermark_ms === null ? null : ts(m.watermark_ms) });
      // one raw horizon for the whole store: the later of the two. Raw readings of the other
      // partitions' meters before a later one go, as retention would delete them (the rollups
      // keep their days); the literal lets the zone maps skip the newer row groups, where a
      // subquery made the delete scan every stored reading (19 s of a 192 M-reading load)
      const held = (await loadRetention(db)).rawFromMs;
      if (m.raw_from_ms !== null && (held === undefined || m.raw_from_ms > held)) {
        await con.run(`update store_retention set raw_from = cast($r as date)`, { r: ts(m.raw_from_ms) });
        await con.run(`delete from readings where ts <= ${tsLit(m.raw_from_ms)}`);
      }
    });
  } catch (e) {
    throw new PowerscreenError('STORE_FAILED', `loading the snapshot of partition ${partition} from ${folder} failed: ${(e as Error).message}`, { cause: e });
  }
  return m;
}

/**
 * A new worker's peer rows from the partitions' snapshots instead of the whole peers topic (a year
 * of a 100k-meter district is 36 M messages): each snapshot's peer_daily holds its meters' rows as
 * its writer had them, which is every version the writer or an earlier owner published before the
 * offset the manifest names. The rows are loaded, the peers topic's read position is set to the
 * earliest of those offsets (the topic from there on is newer, and the last version of a key wins)
 * and each partition's marker to its snapshot's closed day, in one transaction.
 * Needs a snapshot, naming its peers offsets on `peersTopic`, for every partition of `topic`;
 * otherwise nothing is loaded and the reason is returned.
 */
export async function loadPeersFromSnapshots(db: Db, dir: string, topic: string, partitionCount: number, peersTopic: string):
  Promise<{ loaded: true; rows: number; startAt: { partition: number; offset: bigint }[] } | { loaded: false; why: string }> {
  if (partitionCount < 1) return { loaded: false, why: `${topic} has no partitions` };
  const manifests: SnapshotManifest[] = [];
  for (let p = 0; p < partitionCount; p++) {
    const m = readSnapshotManifest(dir, topic, p);
    if (!m) return { loaded: false, why: `partition ${p} has no snapshot` };
    if (m.peers?.topic !== peersTopic || !m.peers.offsets.length) return { loaded: false, why: `partition ${p}'s snapshot names no offset on ${peersTopic}` };
    manifests.push(m);
  }
  // a peers partition some writer never published to is read whole: which of its rows came before that writer's snapshot cannot be told
  const startAt: { partition: number; offset: bigint }[] = [];
  for (const { partition } of manifests[0]!.peers!.offsets) {
    const each = manifests.map((m) => m.peers!.offsets.find((o) => o.partition === partition)?.offset);
    if (each.every((o) => o !== undefined)) startAt.push({ partition, offset: each.map(BigInt).reduce((lo, o) => (o < lo ? o : lo)) });
  }
  const con = db.con;
  let rows = 0;
  try {
    await inTransaction(con, async () => {
      // the store has read nothing of the peers topic, so every row of a meter it does not hold
      // itself is replaced (one delete: one per snapshot scanned the growing table each time);
      // its own meters' rows (meter_partition) are its own, newer than any snapshot's
      await con.run(`delete from peer_daily where meter_id not in (select meter_id from meter_partition)`);
      for (const m of manifests) {
        const file = lit(join(folderOf(dir, topic, m.partition), 'peer_daily.parquet'));
        rows += Number((await con.run(`insert into peer_daily select s.* from read_parquet(${file}) s anti join meter_partition o using (meter_id)`)).rowsChanged);
      }
      for (const s of startAt) await notePeersOffset(db, peersTopic, s.partition, s.offset);
      await notePeerMarks(db, manifests.map((m) => ({ partition: m.partition, day: m.closed_day_ms })));
    });
  } catch (e) {
    throw new PowerscreenError('STORE_FAILED', `loading peer rows from the snapshots in ${dir} failed: ${(e as Error).message}`, { cause: e });
  }
  return { loaded: true, rows, startAt };
}
