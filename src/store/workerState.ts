/** The streaming worker's own state in its DuckDB file: the days it has prepared and judged. */
import { inTransaction, type Db } from './db.js';

export interface WorkerDays {
  lastClosedDay?: number;
  lastPreparedDay?: number;
}

const KEYS = { lastClosedDay: 'last_closed_day', lastPreparedDay: 'last_prepared_day' } as const;

export async function loadWorkerDays(db: Db): Promise<WorkerDays> {
  const out: WorkerDays = {};
  for (const r of (await db.con.runAndReadAll(`select key, value from worker_state`)).getRowObjectsJS()) {
    if (r.key === KEYS.lastClosedDay) out.lastClosedDay = Number(r.value);
    if (r.key === KEYS.lastPreparedDay) out.lastPreparedDay = Number(r.value);
  }
  return out;
}

export async function saveWorkerDay(db: Db, which: keyof typeof KEYS, dayMs: number): Promise<void> {
  await db.con.run(`insert or replace into worker_state values ($k, $v)`, { k: KEYS[which], v: String(dayMs) });
}

/** How far the worker has read the peers topic: the offset after what peer_daily holds, per partition, and the partition markers seen. */
export interface PeersRead {
  offsets: { partition: number; offset: bigint }[];
  marks: { partition: number; day: number }[];
}

const MARK_KEY = 'peer_mark:';

/**
 * Note what the peers topic delivered up to `nextOffset`, after its rows are in peer_daily: a
 * restart then reads the stored rows and only the topic's tail (issue 13). Markers only move forward.
 */
export async function savePeersRead(db: Db, topic: string, partition: number, nextOffset: bigint, marks: readonly { partition: number; day: number }[]): Promise<void> {
  await inTransaction(db.con, async () => {
    await notePeersOffset(db, topic, partition, nextOffset);
    await notePeerMarks(db, marks);
  });
}

/** The peers topic read up to `nextOffset` (in the caller's transaction). */
export async function notePeersOffset(db: Db, topic: string, partition: number, nextOffset: bigint): Promise<void> {
  await db.con.run(`insert or replace into kafka_offsets values ($t, $p, $o, null)`, { t: topic, p: partition, o: nextOffset });
}

/** Partition markers seen (in the caller's transaction); a marker only moves forward. */
export async function notePeerMarks(db: Db, marks: readonly { partition: number; day: number }[]): Promise<void> {
  for (const m of marks) {
    await db.con.run(`
      insert into worker_state values ($k, $v)
      on conflict (key) do update set value = greatest(cast(worker_state.value as bigint), cast(excluded.value as bigint))::varchar`,
    { k: `${MARK_KEY}${m.partition}`, v: String(m.day) });
  }
}

export async function loadPeersRead(db: Db, topic: string): Promise<PeersRead> {
  const offsets = (await db.con.runAndReadAll(`select "partition" p, next_offset o from kafka_offsets where topic = $t`, { t: topic })).getRowObjectsJS()
    .map((r) => ({ partition: Number(r.p), offset: BigInt(r.o as bigint) }));
  const marks = (await db.con.runAndReadAll(`select key, value from worker_state where starts_with(key, $k)`, { k: MARK_KEY })).getRowObjectsJS()
    .map((r) => ({ partition: Number(String(r.key).slice(MARK_KEY.length)), day: Number(r.value) }));
  return { offsets, marks };
}
