/** Copying what a stored database holds into another (eval on stored history without touching it). */
import { chmodSync, existsSync } from 'node:fs';
import type { Db } from './db.js';
import { PowerscreenError } from '../errors.js';

/** The tables that hold readings, rollups and reference data: what detection reads. Cases are not copied. */
const DATA_TABLES = ['readings', 'meter_daily', 'meter_hourly', 'meters', 'sites', 'register_state', 'meter_partition'] as const;

export async function copyStoredData(db: Db, file: string): Promise<void> {
  if (!existsSync(file)) throw new PowerscreenError('INPUT_NOT_FOUND', `${file}: database not found`);
  try {
    await db.con.run(`attach '${file.replace(/'/g, "''")}' as stored (read_only)`);
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    throw new PowerscreenError('STORE_FAILED', `${file}: cannot open database${/lock/i.test(msg) ? ' (a running worker holds it)' : ''}: ${msg}`, { cause: e });
  }
  try {
    for (const t of DATA_TABLES) await db.con.run(`insert into main.${t} select * from stored.main.${t}`);
  } finally {
    await db.con.run('detach stored');
  }
}

/**
 * Write what detection reads into a new database file, from the process that holds the store
 * (a CLI `eval` beside a running worker works on this copy, never fighting the worker's lock).
 */
export async function exportSnapshot(db: Db, file: string): Promise<void> {
  if (existsSync(file)) throw new PowerscreenError('CONFIG_INVALID', `${file}: already exists; snapshots are written to a new file`);
  await db.con.run(`attach '${file.replace(/'/g, "''")}' as snap`);
  try {
    for (const t of DATA_TABLES) await db.con.run(`create table snap.main.${t} as select * from main.${t}`);
  } finally {
    await db.con.run('detach snap');
  }
  chmodSync(file, 0o600);
}
