/**
 * The kept day profiles (migration 007): one row per meter and closed local day of hourly draw
 * (sql/macros/shared_steps.sql, day_profiles). industrial_profile and peer_daily judge trailing
 * windows of them; computing the window from every stored hour at each close cost each of them a
 * scan of window_days of hourly rows, so the runner keeps the rows and computes only the days since
 * the last refresh, or since the earliest day whose readings changed (its detector_judged row gets
 * the same dirty marks as the detectors'). Rows carry the parameters they were computed with; other
 * parameters (an analyst's edit) or other macro text rebuild them all.
 */
import { createHash } from 'node:crypto';
import type { DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { inTransaction, type Db } from './db.js';
import { judgeFromMs, loadJudged, macroSource, saveJudged } from './judgeState.js';
import { DAY_MS } from '../time.js';

/** Its row in detector_judged. */
export const DAY_PROFILES_STATE = 'rollup:day_profiles';

/** The day_profiles parameters, named as peer_daily.sql and industrial_profile.sql declare them. */
const PARAMS = ['min_hour_covered_min', 'min_day_hours', 'work_start_hour', 'work_end_hour', 'night_end_hour'] as const;
const ARGS = PARAMS.map((p) => `$${p}`).join(', ');

/**
 * Bring meter_day_profiles current through lastCompleteDayMs with the given bound parameters (they
 * must hold PARAMS with the types the detector headers declare, as the consumers bind them).
 */
export async function refreshDayProfiles(
  db: Db, bound: { values: Record<string, DuckDBValue>; types: Record<string, DuckDBType> }, lastCompleteDayMs: number,
): Promise<void> {
  const values: Record<string, DuckDBValue> = {};
  const types: Record<string, DuckDBType> = {};
  for (const p of PARAMS) {
    if (bound.values[p] === undefined) throw new Error(`day profiles need the parameter ${p}`);
    values[p] = bound.values[p]!;
    types[p] = bound.types[p]!;
  }
  const con = db.con;
  const fingerprint = createHash('sha1').update(macroSource()).update(JSON.stringify(PARAMS.map((p) => String(values[p])))).digest('hex');
  const from = judgeFromMs(await loadJudged(db, DAY_PROFILES_STATE), fingerprint, lastCompleteDayMs);
  if (from > lastCompleteDayMs) return;
  const day = (ms: number) => `date '1970-01-01' + ${Math.floor(ms / DAY_MS)}`;
  await inTransaction(con, async () => {
    await con.run(from <= 0 ? 'delete from meter_day_profiles' : `delete from meter_day_profiles where day >= ${day(from)}`);
    await con.run(`
      insert into meter_day_profiles
      select day_profile_key(${ARGS}), * from day_profiles(${ARGS}, ${day(from)}, ${day(lastCompleteDayMs)})`, values, types);
    await saveJudged(db, DAY_PROFILES_STATE, fingerprint, lastCompleteDayMs);
  });
}
