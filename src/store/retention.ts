/**
 * Retention (migration 008): raw interval readings are kept store.raw_days, hourly rollups with
 * the day profiles and peer rows made from them store.hourly_days, daily rollups store.daily_days
 * (or for ever). Detection reads the rollups beyond the raw horizon; ingest asks here what a
 * reading from before it is, since the raw rows that would de-duplicate it are gone.
 */
import { DuckDBTimestampValue } from '@duckdb/node-api';
import type { Db } from './db.js';
import { inTransaction } from './db.js';
import { DAY_MS, dayOfIntervalEnd } from '../time.js';
import { PowerscreenError } from '../errors.js';

export interface RetentionPolicy {
  raw_days: number | null;
  hourly_days: number | null;
  daily_days: number | null;
}

/** From which local day (midnight, local ms) each table is kept; undefined = all of it. */
export interface RetentionHorizon {
  rawFromMs?: number;
  hourlyFromMs?: number;
  dailyFromMs?: number;
}

export interface RetentionResult extends RetentionHorizon {
  deleted: { readings: number; meter_hourly: number; meter_day_profiles: number; peer_daily: number; meter_daily: number };
}

const dayMs = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));

export async function loadRetention(db: Db): Promise<RetentionHorizon> {
  const r = (await db.con.runAndReadAll(`
    select epoch_ms(cast(raw_from as timestamp)) raw, epoch_ms(cast(hourly_from as timestamp)) hourly, epoch_ms(cast(daily_from as timestamp)) daily
    from store_retention`)).getRowObjectsJS()[0];
  return { rawFromMs: dayMs(r?.raw), hourlyFromMs: dayMs(r?.hourly), dailyFromMs: dayMs(r?.daily) };
}

/**
 * The first day each table keeps when the last closed day is `throughDayMs`: `days` whole days
 * through it. Pure. A horizon never moves back (what is deleted stays deleted).
 */
export function horizonFor(policy: RetentionPolicy, throughDayMs: number, current: RetentionHorizon = {}): RetentionHorizon {
  const from = (days: number | null, now: number | undefined) => {
    if (days === null) return now;
    const h = throughDayMs - (days - 1) * DAY_MS;
    return now === undefined ? h : Math.max(h, now);
  };
  return { rawFromMs: from(policy.raw_days, current.rawFromMs), hourlyFromMs: from(policy.hourly_days, current.hourlyFromMs), dailyFromMs: from(policy.daily_days, current.dailyFromMs) };
}

const day = (ms: number) => new DuckDBTimestampValue(BigInt(ms) * 1000n);

/**
 * Delete what is older than the policy keeps, the last closed day being `throughDayMs`, in one
 * transaction with the horizon it leaves. DuckDB reuses the freed blocks for new rows, so the
 * file stops growing once retention is in steady state (it does not shrink).
 */
export async function applyRetention(db: Db, policy: RetentionPolicy, throughDayMs: number): Promise<RetentionResult> {
  const con = db.con;
  const h = horizonFor(policy, throughDayMs, await loadRetention(db));
  const deleted = { readings: 0, meter_hourly: 0, meter_day_profiles: 0, peer_daily: 0, meter_daily: 0 };
  const del = async (table: keyof typeof deleted, where: string, fromMs: number | undefined) => {
    if (fromMs === undefined) return;
    const r = await con.run(`delete from ${table} where ${where}`, { from: day(fromMs) });
    deleted[table] = Number(r.rowsChanged);
  };
  try {
    await inTransaction(con, async () => {
      // a reading belongs to the day of its interval end less a second: one ending at the
      // horizon's midnight is the day before's
      await del('readings', `ts <= $from`, h.rawFromMs);
      await del('meter_hourly', `hour < $from`, h.hourlyFromMs);
      await del('meter_day_profiles', `day < cast($from as date)`, h.hourlyFromMs);
      await del('peer_daily', `day < cast($from as date)`, h.hourlyFromMs);
      await del('meter_daily', `day < cast($from as date)`, h.dailyFromMs);
      const d = (ms: number | undefined) => (ms === undefined ? null : day(ms));
      await con.run(`update store_retention set raw_from = cast($raw as date), hourly_from = cast($hourly as date), daily_from = cast($daily as date)`,
        { raw: d(h.rawFromMs), hourly: d(h.hourlyFromMs), daily: d(h.dailyFromMs) });
    });
  } catch (e) {
    throw new PowerscreenError('STORE_FAILED', `retention through ${new Date(throughDayMs).toISOString().slice(0, 10)} failed: ${(e as Error).message}`, { cause: e });
  }
  return { ...h, deleted };
}

/** What a reading from before the raw horizon is (see classifyBeforeHorizon). */
export type BeforeHorizon = 'new' | 'duplicate' | 'unknown' | 'expired';

/**
 * Readings from before the raw horizon, judged against the rollups of their meter, hour and day:
 *  - new: nothing of the meter is stored for that hour (or day, for a reading longer than an
 *    hour): history loaded out of order; and any reading while the day's raw rows are still held
 *    (not yet deleted), which the store de-duplicates as usual;
 *  - duplicate: the reading does not fit in what the rollup has left uncovered (a complete hour
 *    or day), so it is there already;
 *  - unknown: its hour (or day) is partly covered and the raw rows are gone: whether it is the
 *    missing reading or a repeat cannot be told, and adding it could count it twice;
 *  - expired: from before the daily horizon, where nothing is kept.
 */
export async function classifyBeforeHorizon(db: Db, readings: readonly { meter_id: string; ts_ms: number; interval_min: number }[], h: RetentionHorizon): Promise<BeforeHorizon[]> {
  if (!readings.length) return [];
  const con = db.con;
  await con.run(`create or replace temp table horizon_keys (i integer, meter_id varchar, ts timestamp, interval_min integer)`);
  const app = await con.createAppender('horizon_keys', 'main', 'temp');
  try {
    readings.forEach((k, i) => {
      app.appendInteger(i);
      app.appendVarchar(k.meter_id);
      app.appendTimestamp(day(k.ts_ms));
      app.appendInteger(k.interval_min);
      app.endRow();
    });
  } finally {
    app.closeSync();
  }
  const rows = (await con.runAndReadAll(`
    with k as (
      select *, cast(ts - interval 1 second as date) as day, date_trunc('hour', ts - interval 1 second) as hour from temp.horizon_keys
    )
    select k.i, h.covered_min as hour_min, d.covered_min as day_min,
           exists (select 1 from readings r where r.meter_id = k.meter_id
                   and r.ts > cast(k.day as timestamp) and r.ts <= cast(k.day as timestamp) + interval 1 day) as raw_held
    from k
    left join meter_hourly h on h.meter_id = k.meter_id and h.hour = k.hour
    left join meter_daily d on d.meter_id = k.meter_id and d.day = k.day`)).getRowObjectsJS();
  await con.run(`drop table temp.horizon_keys`);
  const out = new Array<BeforeHorizon>(readings.length);
  for (const row of rows) {
    const i = Number(row.i);
    const { ts_ms, interval_min: iv } = readings[i]!;
    const dayMs = dayOfIntervalEnd(ts_ms);
    const hourMin = row.hour_min === null ? undefined : Number(row.hour_min);
    const dayMin = row.day_min === null ? undefined : Number(row.day_min);
    const hourKept = iv <= 60 && (h.hourlyFromMs === undefined || dayMs >= h.hourlyFromMs);
    if (h.dailyFromMs !== undefined && dayMs < h.dailyFromMs) out[i] = 'expired';
    else if (row.raw_held === true || dayMin === undefined) out[i] = 'new';
    else if (dayMin + iv > 1440) out[i] = 'duplicate';
    else if (!hourKept) out[i] = 'unknown';
    else if (hourMin === undefined) out[i] = 'new';
    else out[i] = hourMin + iv > 60 ? 'duplicate' : 'unknown';
  }
  return out;
}
