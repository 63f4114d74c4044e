/**
 * Property tests: on random meters (random workshop blocks, households, all-day loads; random
 * contracts) sustained_draw and daily_capacity agree with their TypeScript references. Seeds are
 * fixed so a failure reproduces.
 */
import { describe, it, expect } from 'vitest';
import { openDb } from '../../src/store/db.js';
import { ReadingStore } from '../../src/store/readingStore.js';
import { upsertMeters } from '../../src/store/reference.js';
import { runDetector } from '../../src/store/detectors.js';
import { loadRegistry } from '../../src/config/detectorRegistry.js';
import { parsePipeline } from '../../src/config/pipeline.js';
import { meterSchema } from '../../src/contracts/registry.js';
import { rng } from '../../src/fixtures/district.js';
import { DAY_MS, HOUR_MS, formatLocal, lastCompleteDay, parseDate } from '../../src/time.js';
import type { Reading } from '../../src/contracts/reading.js';
import type { RefHour } from '../support/reference/hourly.js';
import { batchDaysReference, dailyCapacityReference, sustainedDrawReference, workingWeekReference, type RefMeter } from '../support/reference/workshopDraw.js';
import type { Lead } from '../../src/core/types.js';
import { peerLevels } from '../support/reference/common.js';

const defaults = parsePipeline({}).detectors;
const START = parseDate('2026-10-05')!;
const key = (e: { meter_id: string; episode_start_ms: number; detected_at_ms: number }) => `${e.meter_id} start=${formatLocal(e.episode_start_ms)} detected=${formatLocal(e.detected_at_ms)}`;

/** A district of hourly meters from START: each meter's draw (kW) hour by hour, a hundredth of its hours missing. */
class HourlyDistrict {
  readonly hours: RefHour[] = [];
  readonly readings: Reading[] = [];
  readonly meters = new Map<string, RefMeter>();
  constructor(private readonly rand: () => number, private readonly days: number) {}

  add(id: string, meter: RefMeter, kwAt: (t: number) => number): void {
    this.meters.set(id, meter);
    for (let t = START; t < START + this.days * DAY_MS; t += HOUR_MS) {
      if (this.rand() < 0.01) continue; // a missing hour
      const v = Math.round(kwAt(t) * 1000) / 1000;
      this.hours.push({ meter_id: id, hour_ms: t, kw: v });
      this.readings.push({ meter_id: id, ts_ms: t + HOUR_MS, interval_min: 60, kwh: v });
    }
  }
}

function randomMeters(rand: () => number, n: number, days: number): HourlyDistrict {
  const district = new HourlyDistrict(rand, days);
  // one summer's heat a day, shared by every meter: a fifth of the flats cool their bedrooms with it at night
  const heat = Array.from({ length: days }, () => 0.3 + 0.7 * rand());
  for (let i = 0; i < n; i++) {
    const id = `m${i}`;
    const category = rand() < 0.7 ? 'resident' : 'commercial';
    const kva = rand() < 0.15 ? null : category === 'resident' ? [4, 6, 8, 10][Math.floor(rand() * 4)]! : [20, 30][Math.floor(rand() * 2)]!;
    // half the businesses and a tenth of the flats work a night shift (from 21:00-23:00 for 8-11 hours,
    // mostly through the whole deep night), the rest at any hours
    const nightShift = rand() < (category === 'commercial' ? 0.5 : 0.1);
    const from = nightShift ? 21 + Math.floor(rand() * 3) : 5 + Math.floor(rand() * 20);
    const to = from + (nightShift ? 8 + Math.floor(rand() * 4) : 4 + Math.floor(rand() * 12));
    const kw = nightShift ? 5 + rand() * 8 : rand() < 0.5 ? 1 + rand() * 12 : 0;
    const allDay = rand() < 0.15 ? 1 + rand() * 3 : 0;
    const onset = START + Math.floor(rand() * (nightShift ? days / 2 : days)) * DAY_MS;
    const workdays = 5 + Math.floor(rand() * 3);
    const shop = category === 'commercial' && !nightShift ? 1.5 + 1.5 * rand() : 0;
    const coolingKw = category === 'resident' && rand() < 0.2 ? 2.5 + 2 * rand() : 0;
    // a third of the workshops keep 30-60 % of their load on around the clock once started (a real plant's base load)
    const baseKw = kw && !nightShift && rand() < 0.33 ? kw * (0.3 + 0.3 * rand()) : 0;
    // a sixth of the flats run a heat pump that cycles in blocks of an hour around the clock (many runs a day)
    const blocksKw = category === 'resident' && rand() < 0.17 ? 2 + 3 * rand() : 0;
    // a third of the flats heat their waking day (08:00-22:00) by a thermostat of their own, so their
    // energy follows the street's weather only by chance
    const wakingKw = category === 'resident' && rand() < 0.3 ? 1.7 + 0.6 * rand() : 0;
    const wakingDays = Array.from({ length: days }, () => 0.8 + 0.2 * rand());
    district.add(id, { category, street: `s${i % 2}`, contract_kva: kva }, (t) => {
      const h = new Date(t).getUTCHours(), dow = ((new Date(t).getUTCDay() + 6) % 7) + 1;
      // an all-day load (a heat pump) whose timer keeps it off until 08:00 on some days
      const timerOff = allDay && h < 8 && (Math.floor((t - START) / DAY_MS) * 2654435761) % 7 < 2;
      let v = 0.2 + (h >= 18 && h < 22 ? 1 : 0) + (timerOff ? 0 : allDay * (0.7 + 0.3 * rand()));
      // shops open 08:00-21:00, so a business's peers are tens of kWh a day (a night shift is judged against them)
      if (shop) v += h >= 8 && h < 21 ? shop * (0.9 + 0.2 * rand()) : 0;
      const inBlock = from < 24 ? h >= from && h < Math.min(to, 24) : false;
      const wraps = to > 24 && h < to - 24;
      if (t >= onset && dow <= workdays && (inBlock || wraps)) v += kw * (0.8 + 0.4 * rand());
      else if (t >= onset) v += baseKw * (0.9 + 0.2 * rand());
      if (coolingKw && (h >= 22 || h < 7)) v += coolingKw * heat[Math.floor((t - START) / DAY_MS)]!;
      if (blocksKw && h % 2 === 0 && h !== 6 && h !== 8) v += blocksKw * (0.9 + 0.2 * rand());
      if (wakingKw && h >= 8 && h < 22) v += wakingKw * wakingDays[Math.floor((t - START) / DAY_MS)]!;
      return v;
    });
  }
  return district;
}

describe('workshop-draw detectors: SQL agrees with the TypeScript reference', () => {
  // seeds 5-9 hold a waking day's weather against the heavy users' changes from 3 or 2 such meters,
  // so these small districts read it too (at the default 10 they read their streets' medians), and
  // 7-9 over a 14-day window; 10, 12, 15 and 17 judge the weather from 4 changes with the heavy
  // users' threshold far from the street's, so the two decide random days differently (at the
  // defaults they rarely do: with the reference reading the street's threshold for both, those four
  // fail, 1-9 pass). They rarely reach the weekday rule or the window's length, which the
  // given/expect cases sustained_draw_heavy_users_week_is_no_weather and
  // _day_heating_follows_the_heavy_users check (and _day_heating_thermostat_noise the threshold's default).
  // 20, 25, 29 and 34 hold households to 6 x their street but a working week's day between the peaks
  // to 1 x, so that day's ratio, its weather test and (34, waking days up to 20 kW) the waking day it
  // must not be decide: each fails when the reference drops the one it checks; at the defaults none does.
  // 54 and 86 hold every day to 3 kW over its quiet hours but a seven-day week's day under min_contrast
  // to 2, if its profile stands 2 kW over its quiet hours too and those keep the day's base: 54 fails
  // without that smaller excess or without the base test, 86 without the profile's excess
  it.each([[1, {}], [2, {}], [3, {}], [4, {}], [5, { weather_min_heavy_meters: 3 }], [6, { weather_min_heavy_meters: 3 }], [7, { weather_min_heavy_meters: 2, heavy_weather_days: 14 }], [8, { weather_min_heavy_meters: 2, heavy_weather_days: 14 }], [9, { weather_min_heavy_meters: 2, heavy_weather_days: 14 }], [10, { weather_min_heavy_meters: 2, weather_min_days: 4, heavy_weather_min_corr: -0.9 }], [12, { weather_min_heavy_meters: 2, weather_min_days: 4, heavy_weather_min_corr: 0.95 }], [15, { weather_min_heavy_meters: 2, weather_min_days: 4, heavy_weather_min_corr: 0.95 }], [17, { weather_min_heavy_meters: 2, weather_min_days: 4, heavy_weather_min_corr: -0.9 }], [20, { household_min_peer_ratio: 6, week_household_min_peer_ratio: 1, weather_min_days: 4 }], [25, { household_min_peer_ratio: 6, week_household_min_peer_ratio: 1, weather_min_days: 4 }], [29, { household_min_peer_ratio: 6, week_household_min_peer_ratio: 1, weather_min_days: 4 }], [34, { household_min_peer_ratio: 6, week_household_min_peer_ratio: 1, weather_min_days: 4, waking_day_max_level_kw: 20 }], [54, { min_excess_kw: 3, week_min_excess_kw: 2, steady_min_peer_ratio: 2 }], [86, { min_excess_kw: 3, week_min_excess_kw: 2, steady_min_peer_ratio: 2 }]] as const)('sustained_draw, seed %i %j', async (seed, override) => {
    await expectSustainedDrawAgrees(randomMeters(rng(seed * 7907), 30, 28), override);
  });

  // Flats drawing around the clock at 60-80 % of their level: farms (a base through the night, more
  // from 05:00 to 19:00, every day, by no weather) among homes heating by one shared cold, heat pumps
  // on a timer by that cold, heat pumps cycling at random hours, and a plant of a working week keeping
  // its base at weekends. Each seed fails when the reference drops household_continuous_min_days, the
  // weather test or the profile test, or lets the path's days through the rhythm window; 4, 7 and 12
  // when it drops the path; 7, 12 and 15 when it drops household_continuous_min_day_share
  it.each([4, 7, 12, 15])('sustained_draw on loads around the clock (farms, heat pumps, heating homes), seed %i', async (seed) => {
    await expectSustainedDrawAgrees(aroundTheClockMeters(rng(seed * 6151 + 3), 40, 35), {});
  });

  // Flats far above their street at their contract share, whatever their contrast: trades open from 09:00
  // to midnight over a base kept on through the night, some on weekdays only, at 7-21 x the street and
  // 30-90 % of their contract; loads by night (home hours: held to home_hours_capacity_frac) at 45-70 %
  // of it, 40 % of their level by day; heat pumps. Each seed fails when the reference drops
  // far_peer_ratio's path, judges such a window by its contrast, holds a night at capacity_frac, or
  // asks 6 x the street instead of 10
  it.each([1, 2, 3])('sustained_draw on flats far above their street, seed %i', async (seed) => {
    await expectSustainedDrawAgrees(farAboveStreetMeters(rng(seed * 3389 + 11), 40, 21), {});
  });

  it.each([1, 2])('daily_capacity on daily values, seed %i', async (seed) => {
    const rand = rng(seed * 104729);
    const db = await openDb(':memory:', { threads: 1 });
    try {
      const days = new Map<string, Map<number, number>>();
      const kva = new Map<string, number | null>();
      const readings: Reading[] = [];
      for (let i = 0; i < 25; i++) {
        const id = `d${i}`;
        const c = rand() < 0.1 ? null : [4, 6, 8][Math.floor(rand() * 3)]!;
        kva.set(id, c);
        const level = (c ?? 6) * 24 * (rand() < 0.5 ? 0.3 + rand() * 0.6 : 0.1 + rand() * 0.3);
        const m = new Map<number, number>();
        for (let d = 0; d < 20; d++) {
          if (rand() < 0.05) continue;
          const kwh = Math.round(level * (0.6 + 0.8 * rand()) * 1000) / 1000;
          m.set(START + d * DAY_MS, kwh);
          readings.push({ meter_id: id, ts_ms: START + (d + 1) * DAY_MS, interval_min: 1440, kwh });
        }
        days.set(id, m);
      }
      await upsertMeters(db, [...kva].map(([id, c]) => meterSchema.parse({ meter_id: id, street: 's', category: 'resident', contract_kva: c ?? '' })));
      await new ReadingStore(db).append(readings);
      const last = lastCompleteDay(Math.max(...readings.map((r) => r.ts_ms)));
      const sql = await runDetector(db, loadRegistry().get('daily_capacity')!, defaults.daily_capacity!, { lastCompleteDayMs: last });
      const ref = dailyCapacityReference(days, kva, last, defaults.daily_capacity as never);
      expect(sql.map(key).sort()).toEqual(ref.map(key).sort());
      expect(ref.length).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });

  it.each([1, 2, 3, 5, 6, 8])('working_week on daily values (workshops, households, EV-like random days), seed %i', async (seed) => {
    const rand = rng(seed * 7919 + 5);
    const db = await openDb(':memory:', { threads: 1 });
    try {
      const { days, readings, kvas } = dailyMeters('w', rand, () => {
        const kind = rand();
        // a workshop working five or six days, of a size either side of min_surplus_kwh (40), in a
        // small flat; an EV charged on random days; a heavy household; half of the street ordinary.
        // Contracts of 4-16 kVA or none, so some stand at capacity_share and some do not
        // A plant that keeps a base load on at weekends (a share of its weekday draw either side of
        // the weekend shares), small or large, tests the base-load lines.
        const base = kind < 0.25 ? 5 + rand() * 6 : 8 + rand() * 10;
        const size = (kind < 0.12 ? 10 : 25) + rand() * 40;
        const plant = 30 + rand() * 170, keeps = 0.3 + rand() * 0.45;
        return {
          base,
          kva: [4, 6, 8, 16, null][Math.floor(rand() * 5)]!,
          load: (_d, dow, kwh) => kind < 0.25 ? kwh + (dow <= (kind < 0.12 ? 5 : 6) && rand() < 0.95 ? size * (0.8 + rand() * 0.4) : 0)
            : kind < 0.4 ? kwh + (rand() < 0.7 ? 15 + rand() * 20 : 0)
            : kind < 0.45 ? kwh * 3
            : kind < 0.55 ? kwh + plant * (dow <= 5 ? 0.9 + rand() * 0.2 : keeps) : kwh,
        };
      });
      const { sql, peers, last } = await runDaily(db, 'working_week', days, readings, kvas);
      const ref = workingWeekReference(days, kvas, (d) => peers.get(d), last, defaults.working_week as never);
      expect(sql.map(key).sort()).toEqual(ref.map(key).sort());
      expect(ref.length).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });

  it.each([1, 2, 3])('batch_days on daily values (batch workshops, households, EVs, vacations, heat), seed %i', async (seed) => {
    const rand = rng(seed * 104729 + 11);
    const db = await openDb(':memory:', { threads: 1 });
    try {
      const { days, readings } = dailyMeters('b', rand, () => {
        const kind = rand();
        const base = 6 + rand() * 10;
        const onShare = 0.2 + rand() * 0.6;
        const away = Math.floor(rand() * 40);
        // batch workshops on random days; EVs charged on random days; heavy homes away for a week;
        // electric heat; a business closed at weekends (a week, not batches)
        return {
          base,
          load: (d, dow, kwh) => kind < 0.4 ? kwh + (rand() < onShare ? 40 + rand() * 150 : 0)
            : kind < 0.6 ? kwh + (rand() < 0.6 ? 20 + rand() * 30 : 0)
            : kind < 0.75 ? (d >= away && d < away + 7 ? 0.5 : kwh * 5)
            : kind < 0.85 ? kwh * (2 + 2 * Math.sin(d / 6))
            : kind < 0.92 ? (dow <= 5 ? kwh + 60 + rand() * 20 : 0.3 * kwh) : kwh,
        };
      });
      const { sql, peers, last } = await runDaily(db, 'batch_days', days, readings);
      const ref = batchDaysReference(days, (d) => peers.get(d), last, defaults.batch_days as never);
      expect(sql.map(key).sort()).toEqual(ref.map(key).sort());
      expect(ref.length).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });
});

/**
 * 40 meters × 42 daily values (4 % of days missing): each meter's usual day (its base, ±30 %) with
 * the load its kind adds (meter() draws the kind; load(day index, ISO weekday, usual kWh) the day).
 */
function dailyMeters(prefix: string, rand: () => number, meter: () => { base: number; load: (d: number, dow: number, kwh: number) => number; kva?: number | null }) {
  const days = new Map<string, Map<number, number>>();
  const kvas = new Map<string, number | null>();
  const readings: Reading[] = [];
  for (let i = 0; i < 40; i++) {
    const id = `${prefix}${i}`;
    const { base, load, kva } = meter();
    kvas.set(id, kva ?? null);
    const m = new Map<number, number>();
    for (let d = 0; d < 42; d++) {
      if (rand() < 0.04) continue;
      const day = START + d * DAY_MS;
      const dow = ((new Date(day).getUTCDay() + 6) % 7) + 1;
      const kwh = Math.round(load(d, dow, base * (0.7 + 0.6 * rand())) * 1000) / 1000;
      m.set(day, kwh);
      readings.push({ meter_id: id, ts_ms: day + DAY_MS, interval_min: 1440, kwh });
    }
    days.set(id, m);
  }
  return { days, readings, kvas };
}

/** Store daily values of one street's flats, run one daily-feed detector, and read the peer medians it judged against. */
async function runDaily(db: Awaited<ReturnType<typeof openDb>>, detector: string, days: ReadonlyMap<string, unknown>, readings: Reading[], kvas?: ReadonlyMap<string, number | null>): Promise<{ sql: Lead[]; peers: Map<number, number>; last: number }> {
  await upsertMeters(db, [...days.keys()].map((id) => meterSchema.parse({ meter_id: id, street: 's', category: 'resident', contract_kva: kvas?.get(id) ?? '' })));
  await new ReadingStore(db).append(readings);
  const last = lastCompleteDay(Math.max(...readings.map((r) => r.ts_ms)));
  const sql = await runDetector(db, loadRegistry().get(detector)!, (defaults as Record<string, Record<string, unknown>>)[detector]!, { lastCompleteDayMs: last }, defaults);
  const peerRows = (await db.con.runAndReadAll(`select epoch_ms(day) as peer_day, median(kwh_day) as kwh from peer_daily where kwh_day is not null group by all`)).getRowObjectsJS();
  return { sql, peers: new Map(peerRows.map((r) => [Number(r.peer_day), Number(r.kwh)])), last };
}

async function expectSustainedDrawAgrees({ hours, readings, meters }: HourlyDistrict, override: Record<string, unknown>): Promise<void> {
  const db = await openDb(':memory:', { threads: 1 });
  try {
    await upsertMeters(db, [...meters].map(([id, m]) => meterSchema.parse({ meter_id: id, street: m.street, category: m.category, contract_kva: m.contract_kva ?? '' })));
    await new ReadingStore(db).append(readings);
    const last = lastCompleteDay(Math.max(...readings.map((r) => r.ts_ms)));
    const params = { ...defaults.sustained_draw!, ...override };
    const sql = await runDetector(db, loadRegistry().get('sustained_draw')!, params, { lastCompleteDayMs: last });
    // the meters' own days from the store's peer_daily (refreshed by the run above); their peer levels as the reference defines them
    const ownRows = (await db.con.runAndReadAll(`select meter_id, epoch_ms(day) as day, kwh_day from peer_daily where kwh_day is not null`)).getRowObjectsJS();
    const ownDays = ownRows.map((r) => ({ meter_id: String(r.meter_id), day_ms: Number(r.day), kwh_day: Number(r.kwh_day) }));
    const own = new Map(ownDays.map((r) => [`${r.meter_id}|${r.day_ms}`, r.kwh_day]));
    const peerKwhDay = peerLevels(meters, ownDays);
    const ref = sustainedDrawReference(hours, meters, peerKwhDay, (m, d) => own.get(`${m}|${d}`), last, params as never);
    expect(sql.map(key).sort()).toEqual(ref.map(key).sort());
    expect(ref.length).toBeGreaterThan(0);
  } finally {
    db.close();
  }
}

/** One street of flats (8 kVA or none) in a winter: ordinary homes, homes heating their waking day, farms, heat pumps. */
export function aroundTheClockMeters(rand: () => number, n: number, days: number): HourlyDistrict {
  const district = new HourlyDistrict(rand, days);
  const cold = Array.from({ length: days }, () => 0.2 + 0.8 * rand());
  for (let i = 0; i < n; i++) {
    const id = `a${i}`;
    const kva = rand() < 0.2 ? null : 8;
    // in every twenty flats: 3 heating their waking day, 2 farms, a heat pump on a timer, one cycling, a plant, 12 ordinary
    const kind = (i % 20) / 20;
    // farms 0.6-1.2 kW over their nights: most are no working rhythm even in a seven-day week (week_min_excess_kw)
    const size = 1.5 + 0.7 * rand(), lift = 1.5 + 0.15 * rand();
    const own = Array.from({ length: days }, () => 0.9 + 0.2 * rand());
    district.add(id, { category: 'resident', street: 's', contract_kva: kva }, (t) => {
      const h = new Date(t).getUTCHours(), d = Math.floor((t - START) / DAY_MS);
      let v = 0.2 + (h >= 18 && h < 22 ? 0.8 : 0);
      if (kind < 0.15) v += h >= 8 && h < 22 ? 1.8 * cold[d]! * own[d]! + 0.4 : 0; // heating the waking day by the cold and its thermostat
      else if (kind < 0.25) v += size * own[d]! * (h >= 5 && h < 19 ? lift : 1); // a farm: ventilation all night, more by day, by no weather
      else if (kind < 0.3) v += (size + cold[d]!) * (h >= 6 && h < 22 ? lift : 1); // a heat pump on a timer, by the cold
      else if (kind < 0.35) v += size * (rand() < 0.35 ? lift : 1); // a heat pump cycling at random hours
      else if (kind < 0.4) v += size * (((new Date(t).getUTCDay() + 6) % 7) + 1 <= 5 && h >= 8 && h < 18 ? 2 : 1); // a plant of a working week, its base kept on at weekends
      return v;
    });
  }
  return district;
}

/** One street of flats: homes, and loads of 7-21 x the street on contracts either side of their share (far_peer_ratio). */
export function farAboveStreetMeters(rand: () => number, n: number, days: number): HourlyDistrict {
  const district = new HourlyDistrict(rand, days);
  for (let i = 0; i < n; i++) {
    const id = `f${i}`;
    // in every ten flats: a trade, a trade of a working week, a load by night, a heat pump, six homes
    const kind = i % 10;
    const base = 1.5 + 2 * rand(), level = 3 + 9 * rand();
    // the contract puts the level at 30-90 % of it (45-70 % for the night load), or none is registered
    const share = kind === 2 ? 0.45 + 0.25 * rand() : 0.3 + 0.6 * rand();
    const kva = kind === 3 ? 8 : kind > 3 ? 6 : rand() < 0.15 ? null : Math.round(level / share);
    district.add(id, { category: 'resident', street: 's', contract_kva: kva }, (t) => {
      const h = new Date(t).getUTCHours(), dow = ((new Date(t).getUTCDay() + 6) % 7) + 1;
      let v = 0.2 + (h >= 18 && h < 22 ? 1 : 0) * (0.8 + 0.4 * rand());
      if (kind === 0 || (kind === 1 && dow <= 5)) v += h >= 9 ? level * (0.9 + 0.2 * rand()) : base; // a trade, 09:00 to midnight
      else if (kind === 1) v += base; // its weekend keeps the base on
      else if (kind === 2) v += (h >= 22 || h < 8 ? 1 : 0.4) * level * (0.9 + 0.2 * rand()); // by night, 40 % of it by day
      else if (kind === 3) v += 2.4 + 0.8 * rand() + (h >= 7 && h < 23 ? 0.6 : 0); // a heat pump
      return v;
    });
  }
  return district;
}
