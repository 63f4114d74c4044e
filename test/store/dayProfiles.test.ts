/**
 * The kept day profiles (migration 007): refreshed day by day they hold exactly what day_profiles
 * computes from the stored hours; a refresh computes only new days and days whose readings changed
 * (late readings); other parameters rebuild them; a lost partition's meters leave them.
 */
import { describe, it, expect } from 'vitest';
import { DOUBLE, INTEGER, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { openDb, type Db } from '../../src/store/db.js';
import { ReadingStore } from '../../src/store/readingStore.js';
import { refreshDayProfiles } from '../../src/store/dayProfiles.js';
import { dropKeptStateOf } from '../../src/store/judgeState.js';
import { rng } from '../../src/fixtures/district.js';
import type { Reading } from '../../src/contracts/reading.js';
import { DAY_MS, parseDate } from '../../src/time.js';

const START = parseDate('2026-09-01')!;

function hourly(meters: number, fromDay: number, toDay: number, seed = 5): Reading[] {
  const rand = rng(seed);
  const out: Reading[] = [];
  for (let m = 0; m < meters; m++) {
    for (let t = START + fromDay * DAY_MS; t < START + toDay * DAY_MS; t += 3600_000) {
      if (rand() < 0.03) continue;
      const h = new Date(t).getUTCHours();
      out.push({ meter_id: `m${m}`, ts_ms: t + 3600_000, interval_min: 60, kwh: Math.round((0.2 + rand() + (m % 2 && h >= 9 && h < 17 ? 5 : 0)) * 1000) / 1000 });
    }
  }
  return out;
}

const bound = (workStart = 9): { values: Record<string, DuckDBValue>; types: Record<string, DuckDBType> } => ({
  values: { min_hour_covered_min: 45, min_day_hours: 20, work_start_hour: workStart, work_end_hour: 17, night_end_hour: 6 },
  types: { min_hour_covered_min: DOUBLE, min_day_hours: INTEGER, work_start_hour: INTEGER, work_end_hour: INTEGER, night_end_hour: INTEGER },
});

const kept = async (db: Db, workStart = 9) => (await db.con.runAndReadAll(`
  select meter_id, day::varchar d, dow::integer dow, round(work_kw, 9) w, round(work_sd_kw, 9) s, round(night_kw, 9) n, round(peak_kw, 9) p, hours_seen::integer h
  from kept_day_profiles(45.0, 20, ${workStart}, 17, 6, date '1970-01-01', date '9999-01-01') order by all`)).getRowObjectsJS();
const fresh = async (db: Db, last: string, workStart = 9) => (await db.con.runAndReadAll(`
  select meter_id, day::varchar d, dow::integer dow, round(work_kw, 9) w, round(work_sd_kw, 9) s, round(night_kw, 9) n, round(peak_kw, 9) p, hours_seen::integer h
  from day_profiles(45.0, 20, ${workStart}, 17, 6, date '1970-01-01', date '${last}') order by all`)).getRowObjectsJS();
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe('kept day profiles', () => {
  it('refreshed day by day, with late readings, they are what day_profiles computes; untouched days are not recomputed', async () => {
    const db = await openDb(':memory:');
    try {
      const store = new ReadingStore(db);
      await store.append(hourly(6, 0, 20));
      await refreshDayProfiles(db, bound(), START + 19 * DAY_MS);
      expect(await kept(db)).toEqual(await fresh(db, iso(START + 19 * DAY_MS)));
      // an hour of day 3 changed behind the store's back (no dirty mark): a refresh that does not
      // recompute day 3 keeps the old profile, which shows which days a refresh recomputed
      // the same for m0's day 17, after the late day below: late readings for m1 recompute m1 only
      await db.con.run(`update meter_hourly set kwh = kwh + 40 where meter_id = 'm0' and hour in (timestamp '2026-09-04 12:00:00', timestamp '2026-09-17 12:00:00')`);
      const before = await kept(db);
      const untouched = (rows: typeof before) => rows.filter((r) => r.meter_id === 'm0' && (r.d === '2026-09-04' || r.d === '2026-09-17'));
      // day 20 lands, and late readings for day 15 (a meter's missing hours)
      await store.append(hourly(6, 20, 21, 6));
      await store.append(hourly(6, 15, 16, 7).filter((r) => r.meter_id === 'm1'));
      const late = await refreshDayProfiles(db, bound(), START + 20 * DAY_MS);
      expect(late).toEqual({ meters: ['m1'], fromMs: START + 15 * DAY_MS });
      const after = await kept(db);
      expect(untouched(after)).toEqual(untouched(before));
      expect(untouched(after)).toHaveLength(2);
      expect(untouched(await fresh(db, '2026-09-18'))).not.toEqual(untouched(before));
      // m1's late day and every other row are what day_profiles computes now
      const want = await fresh(db, iso(START + 20 * DAY_MS));
      const others = (rows: typeof before) => rows.filter((r) => !(r.meter_id === 'm0' && (r.d === '2026-09-04' || r.d === '2026-09-17')));
      expect(others(after)).toEqual(others(want));
      expect(after.find((r) => r.meter_id === 'm1' && r.d === '2026-09-16')).not.toEqual(before.find((r) => r.meter_id === 'm1' && r.d === '2026-09-16'));
      // the marks are spent: the next refresh recomputes nothing of m1's late day
      expect(await refreshDayProfiles(db, bound(), START + 20 * DAY_MS)).toBeUndefined();
      expect(after.filter((r) => r.d === '2026-09-21')).toHaveLength(6);
    } finally {
      db.close();
    }
  });

  it('other parameters rebuild them; a lost meter leaves them', async () => {
    const db = await openDb(':memory:');
    try {
      await new ReadingStore(db).append(hourly(4, 0, 10));
      await refreshDayProfiles(db, bound(), START + 9 * DAY_MS);
      await refreshDayProfiles(db, bound(8), START + 9 * DAY_MS);
      expect(await kept(db)).toEqual([]);
      expect(await kept(db, 8)).toEqual(await fresh(db, iso(START + 9 * DAY_MS), 8));
      await dropKeptStateOf(db.con, `select 'm1'`);
      expect((await kept(db, 8)).some((r) => r.meter_id === 'm1')).toBe(false);
      expect((await kept(db, 8)).some((r) => r.meter_id === 'm2')).toBe(true);
    } finally {
      db.close();
    }
  });
});
