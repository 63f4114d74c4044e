/** Copying what a stored database holds into another (eval on stored history without touching it). */
import { existsSync } from 'node:fs';
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
