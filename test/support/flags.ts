import type { Db } from '../../src/store/db.js';
import { flagsTable } from '../../src/store/judgeState.js';

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
