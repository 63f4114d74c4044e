/**
 * The kept day profiles (migration 007): one row per meter and closed local day of hourly draw
 * (sql/macros/shared_steps.sql, day_profiles). industrial_profile and peer_daily judge trailing
 * windows of them; computing the window from every stored hour at each close cost each of them a
 * scan of window_days of hourly rows, so the runner keeps the rows and computes only the days since
 * the last refresh, and for meters whose readings came late, their days from the earliest one
 * touched (per-meter marks, as the detectors get). Rows carry the parameters they were computed
 * with; other parameters (an analyst's edit) or other macro text rebuild them all, and a restored
 * partition (dirty_from) recomputes every meter from its day.
 */
import { createHash } from 'node:crypto';
import { LIST, VARCHAR, listValue, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { inTransaction, type Db } from './db.js';
import { judgeFromMs, loadJudged, macroSource, saveJudged } from './judgeState.js';
import { DAY_MS } from '../time.js';

/** Its row in detector_judged. */
export const DAY_PROFILES_STATE = 'rollup:day_profiles';

/** The day_profiles parameters, named as peer_daily.sql and industrial_profile.sql declare them. */
const PARAMS = ['min_hour_covered_min', 'min_day_hours', 'work_start_hour', 'work_end_hour', 'night_end_hour'] as const;
const ARGS = PARAMS.map((p) => `$${p}`).join(', ');

/** Meters whose readings arrived late, for days whose profiles were already kept, and the earliest such day. */
export interface LateRollups {
  meters: string[];
  fromMs: number;
}

/**
 * Bring meter_day_profiles current through lastCompleteDayMs with the given bound parameters (they
 * must hold PARAMS with the types the detector headers declare, as the consumers bind them). Days
 * never kept are computed for every meter; kept days that late readings changed only for the meters
 * those readings were for (their marks, migration 011), which are returned: the peer rows built on
 * their profiles need the same.
 */
export async function refreshDayProfiles(
  db: Db, bound: { values: Record<string, DuckDBValue>; types: Record<string, DuckDBType> }, lastCompleteDayMs: number,
): Promise<LateRollups | undefined> {
  const values: Record<string, DuckDBValue> = {};
  const types: Record<string, DuckDBType> = {};
  for (const p of PARAMS) {
    if (bound.values[p] === undefined) throw new Error(`day profiles need the parameter ${p}`);
    values[p] = bound.values[p]!;
    types[p] = bound.types[p]!;
  }
  const con = db.con;
  const fingerprint = createHash('sha1').update(macroSource()).update(JSON.stringify(PARAMS.map((p) => String(values[p])))).digest('hex');
  const state = await loadJudged(db, DAY_PROFILES_STATE);
  const from = judgeFromMs(state, fingerprint, lastCompleteDayMs);
  const day = (ms: number) => `date '1970-01-01' + ${Math.floor(ms / DAY_MS)}`;
  // late readings: their meters' kept days from the earliest late day among them (a day is a few
  // meters' hours, where recomputing it for the district cost a steady close's share each)
  const late = from > 0 ? await lateMeters(db, day(from)) : undefined;
  if (from > lastCompleteDayMs && !late) return undefined;
  await inTransaction(con, async () => {
    if (late) {
      const only = { values: { only: listValue(late.meters) }, types: { only: LIST(VARCHAR) } };
      await con.run(`delete from meter_day_profiles where day >= ${day(late.fromMs)} and day < ${day(from)} and meter_id in (select unnest($only))`, only.values, only.types);
      await con.run(`
        insert into meter_day_profiles
        select day_profile_key(${ARGS}), * from day_profiles(${ARGS}, ${day(late.fromMs)}, ${day(from - DAY_MS)}, only_meters := $only)`,
      { ...values, ...only.values }, { ...types, ...only.types });
    }
    if (from <= lastCompleteDayMs) {
      await con.run(from <= 0 ? 'delete from meter_day_profiles' : `delete from meter_day_profiles where day >= ${day(from)}`);
      await con.run(`
        insert into meter_day_profiles
        select day_profile_key(${ARGS}), * from day_profiles(${ARGS}, ${day(from)}, ${day(lastCompleteDayMs)})`, values, types);
      await saveJudged(db, DAY_PROFILES_STATE, fingerprint, lastCompleteDayMs);
    } else await con.run(`delete from detector_dirty_meters where detector = $d`, { d: DAY_PROFILES_STATE });
  });
  return late;
}

/**
 * Late readings over more meter-days than `maxMeterDays` (a history re-read, a backfill of an earlier
 * year) are recomputed for every meter from their first day instead, in the caller's slices: one
 * statement for all of them would hold them in memory at once. Returns that day, or undefined when
 * the per-meter marks stay.
 */
export async function widenLateRollups(db: Db, maxMeterDays: number, lastCompleteDayMs: number): Promise<number | undefined> {
  const last = Math.floor(lastCompleteDayMs / DAY_MS);
  const r = (await db.con.runAndReadAll(`
    select epoch_ms(min(f)) f, sum(${last} + 1 - (f - date '1970-01-01')) meter_days
    from (select min(dirty_from) f from detector_dirty_meters where detector = $d group by meter_id)`, { d: DAY_PROFILES_STATE })).getRowObjectsJS()[0];
  if (!r || r.f === null || Number(r.meter_days) <= maxMeterDays) return undefined;
  const fromMs = Number(r.f);
  await inTransaction(db.con, async () => {
    await db.con.run(`update detector_judged set dirty_from = least(coalesce(dirty_from, x.d), x.d)
      from (select date '1970-01-01' + ${Math.floor(fromMs / DAY_MS)}) x(d) where detector = $d`, { d: DAY_PROFILES_STATE });
    await db.con.run(`delete from detector_dirty_meters where detector = $d`, { d: DAY_PROFILES_STATE });
  });
  return fromMs;
}

/** The meters marked for late readings before `beforeDay` (a SQL date), or undefined when none. */
async function lateMeters(db: Db, beforeDay: string): Promise<LateRollups | undefined> {
  const rows = (await db.con.runAndReadAll(`
    select meter_id, epoch_ms(min(dirty_from)) f from detector_dirty_meters
    where detector = $d and dirty_from < ${beforeDay} group by meter_id`, { d: DAY_PROFILES_STATE })).getRowObjectsJS();
  if (!rows.length) return undefined;
  return { meters: rows.map((r) => String(r.meter_id)), fromMs: rows.reduce((lo, r) => Math.min(lo, Number(r.f)), Infinity) };
}
