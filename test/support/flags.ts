import type { Db } from '../../src/store/db.js';
import { flagsTable } from '../../src/store/judgeState.js';

/**
 * A day detector's kept flags (detector_flags_<name>), one JSON text per row in a stable order:
 * bigints as numbers, numbers to 1e-6, so two stores' flags compare whatever the float noise of
 * parallel sums.
 */
export async function storedFlagRows(db: Db, detector: string): Promise<string[]> {
  const rows = (await db.con.runAndReadAll(`select * from ${flagsTable(detector)} order by all`)).getRowObjectsJS();
  return rows.map((r) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? Math.round(v * 1e6) / 1e6 : v)));
}

/**
 * What a day detector decided, without its stored figures: one text per flagged meter-day with its
 * hours to visit (when the detector keeps them). Empty when it keeps no flags yet.
 */
export async function storedFlagDays(db: Db, detector: string): Promise<string[]> {
  const table = flagsTable(detector);
  const columns = (await db.con.runAndReadAll(`select column_name from duckdb_columns() where table_name = '${table}'`)).getRows().map(([c]) => String(c));
  if (!columns.length) return [];
  const hours = columns.includes('draw_hours') ? 'cast(draw_hours as varchar)' : "''";
  return (await db.con.runAndReadAll(`select meter_id, cast(day as varchar), ${hours} from ${table} order by all`)).getRows().map((r) => `${detector} ${r.join(' ')}`);
}
