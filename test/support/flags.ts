import type { Db } from '../../src/store/db.js';

/**
 * A day detector's kept flags (detector_flags_<name>), one JSON text per row in a stable order:
 * bigints as numbers, numbers to 1e-6, so two stores' flags compare whatever the float noise of
 * parallel sums.
 */
export async function storedFlagRows(db: Db, detector: string): Promise<string[]> {
  const rows = (await db.con.runAndReadAll(`select * from detector_flags_${detector} order by all`)).getRowObjectsJS();
  return rows.map((r) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? Math.round(v * 1e6) / 1e6 : v)));
}
