/** The streaming worker's own state in its DuckDB file: the days it has prepared and judged. */
import type { Db } from './db.js';

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
