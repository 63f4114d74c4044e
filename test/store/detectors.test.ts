/**
 * src/store/detectors.ts: the per-run catalog of meters with data (meters_with_data), which the
 * shared macros read instead of scanning the whole daily rollup once per detector; and late inputs
 * sending back exactly the meters they touch (migration 011).
 */
import { describe, it, expect } from 'vitest';
import { openDb } from '../../src/store/db.js';
import { ReadingStore } from '../../src/store/readingStore.js';
import { upsertMeters } from '../../src/store/reference.js';
import { runDetectors, type DetectorRun } from '../../src/store/detectors.js';
import { loadRegistry } from '../../src/config/detectorRegistry.js';
import { materiallyEqual } from '../../src/core/cases.js';
import { parsePipeline } from '../../src/config/pipeline.js';
import { meterSchema } from '../../src/contracts/registry.js';
import { DAY_MS, lastCompleteDay, parseDate } from '../../src/time.js';
import type { Reading } from '../../src/contracts/reading.js';
import { storedFlagRows } from '../../src/store/judgeState.js';

const START = parseDate('2026-10-05')!;
/** Daily values: `kwh` a day for `days` days. */
const daily = (meter: string, days: number, kwh: number): Reading[] =>
  Array.from({ length: days }, (_, d) => ({ meter_id: meter, ts_ms: START + (d + 1) * DAY_MS, interval_min: 1440, kwh }));
/** Hourly values: `kw` every hour for `days` days. */
const hourly = (meter: string, days: number, kw: number): Reading[] =>
  Array.from({ length: days * 24 }, (_, h) => ({ meter_id: meter, ts_ms: START + (h + 1) * 3600_000, interval_min: 60, kwh: kw }));

describe('meters_with_data', () => {
  it('is filled at every run: a meter first seen after a run is judged by the next, and it tells interval meters from daily feeds', async () => {
    const db = await openDb(':memory:', { threads: 1 });
    try {
      const settings = parsePipeline({}).detectors;
      await upsertMeters(db, ['a', 'b', 'h'].map((id) => meterSchema.parse({ meter_id: id, category: 'resident', contract_kva: 4 })));
      const store = new ReadingStore(db);
      await store.append([...daily('a', 10, 8), ...hourly('h', 10, 3.5)]);
      // h holds 3.5 kW around the clock on 4 kVA: a continuous process, raised whatever its feed
      const first = await runDetectors(db, settings, { lastCompleteDayMs: lastCompleteDay(START + 10 * DAY_MS) }, ['daily_capacity']);
      expect(first.leads.map((l) => l.meter_id)).toEqual(['h']);
      // b draws 80 kWh a day on 4 kVA (83 % of its contract around the clock), as daily values;
      // b's first day was read for its last half-hour only: a daily feed still
      await store.append([{ meter_id: 'b', ts_ms: START, interval_min: 30, kwh: 1.5 }, ...daily('b', 10, 80)]);
      const second = await runDetectors(db, settings, { lastCompleteDayMs: lastCompleteDay(START + 10 * DAY_MS) }, ['daily_capacity']);
      expect(second.leads.map((l) => l.meter_id).sort()).toEqual(['b', 'h']);
      expect((await db.con.runAndReadAll(`select meter_id, has_interval from meters_with_data order by 1`)).getRows()).toEqual([['a', false], ['b', false], ['h', true]]);
    } finally {
      db.close();
    }
  });
});

/** Hourly values of `meter` for days fromDay..toDay-1: a household's evening, and `workKw` more on weekdays 8:00-18:00. */
function hours(meter: string, fromDay: number, toDay: number, workKw: number, skipDay?: number): Reading[] {
  const out: Reading[] = [];
  for (let t = START + fromDay * DAY_MS; t < START + toDay * DAY_MS; t += 3600_000) {
    if (skipDay !== undefined && t >= START + skipDay * DAY_MS && t < START + (skipDay + 1) * DAY_MS) continue;
    const h = new Date(t).getUTCHours(), dow = new Date(t).getUTCDay();
    const kw = (h >= 18 && h < 22 ? 1.2 : 0.3) + (meter.length % 3) * 0.05 + (dow >= 1 && dow <= 5 && h >= 8 && h < 18 ? workKw : 0);
    out.push({ meter_id: meter, ts_ms: t + 3600_000, interval_min: 60, kwh: kw });
  }
  return out;
}

const leadKeys = (run: DetectorRun) => run.leads.map((l) => ({ ...l, summary_zh: '' })).sort((a, b) => `${a.detector}${a.meter_id}${a.episode_start_ms}`.localeCompare(`${b.detector}${b.meter_id}${b.episode_start_ms}`));

describe('late inputs', () => {
  /**
   * Meters named street letter + number, all homes on 8 kVA; those numbered 0 run a workshop from
   * day 10; a1's day 24 (a Thursday) arrives late. The close after it judges `peerGroupOfA1` again
   * for the detectors that read peers (a1 alone for the others), and its leads and kept flags are
   * a full judgement's.
   */
  async function lateDayOfA1(meters: string[], peerGroupOfA1: (meter: string) => boolean): Promise<void> {
    const db = await openDb(':memory:', { threads: 2 });
    const register = (d: typeof db) => upsertMeters(d, meters.map((id) => meterSchema.parse({ meter_id: id, street: id[0], category: 'resident', contract_kva: 8 })));
    try {
      const settings = parsePipeline({}).detectors;
      const registry = loadRegistry();
      const day = registry.detectors.filter((d) => d.runs === 'day').map((d) => d.name);
      await register(db);
      const store = new ReadingStore(db);
      const work = (m: string) => (m.endsWith('0') ? 6 : 0);
      await store.append(meters.flatMap((m) => [...hours(m, 0, 10, 0), ...hours(m, 10, 29, work(m), m === 'a1' ? 24 : undefined)]));
      const first = await runDetectors(db, settings, { lastCompleteDayMs: START + 28 * DAY_MS, incremental: true }, day);
      await first.commit();
      // day 29 lands for everyone, and a1's day 24, drawing like a workshop
      await store.append([...meters.flatMap((m) => hours(m, 29, 30, work(m))), ...hours('a1', 24, 25, 6)]);
      const next = await runDetectors(db, settings, { lastCompleteDayMs: START + 29 * DAY_MS, incremental: true }, day);
      await next.commit();
      const peerReaders = new Set(registry.peerReaders());
      for (const d of day) {
        // a1 alone; or every meter whose peer medians a1's changed peer rows are part of
        expect(next.rejudgedMeters[d], d).toBe(peerReaders.has(d) ? meters.filter(peerGroupOfA1).length : 1);
        expect(next.judgedFrom[d], d).toBe(START + 24 * DAY_MS);
      }
      const full = await runDetectors(db, settings, { lastCompleteDayMs: START + 29 * DAY_MS }, day);
      expect(full.leads.length).toBeGreaterThan(0);
      // the close returns the episodes reaching the days it judged, and every episode of a meter it
      // judged again, as a full judgement has them
      const judgedAgain = (l: (typeof full.leads)[number]) => (peerReaders.has(l.detector) ? peerGroupOfA1(l.meter_id) : l.meter_id === 'a1');
      const judgedDays = full.leads.filter((l) => l.window_end_ms > START + 24 * DAY_MS || judgedAgain(l));
      expect(judgedDays.length).toBeGreaterThan(0);
      expect(full.leads.some((l) => l.window_end_ms <= START + 24 * DAY_MS && judgedAgain(l))).toBe(true);
      expect(materiallyEqual(leadKeys(next), leadKeys({ ...full, leads: judgedDays }))).toBe(true);
      // and keeps the flags a store judging everything at once keeps
      const fresh = await openDb(':memory:', { threads: 2 });
      try {
        await register(fresh);
        await new ReadingStore(fresh).append((await db.con.runAndReadAll(`select meter_id, epoch_ms(ts) t, interval_min, kwh from readings`)).getRowObjectsJS()
          .map((r) => ({ meter_id: String(r.meter_id), ts_ms: Number(r.t), interval_min: Number(r.interval_min), kwh: Number(r.kwh) })));
        await (await runDetectors(fresh, settings, { lastCompleteDayMs: START + 29 * DAY_MS, incremental: true }, day)).commit();
        let a1Flags = 0;
        for (const d of day) {
          expect(await storedFlagRows(db, d), d).toEqual(await storedFlagRows(fresh, d));
          a1Flags += Number((await db.con.runAndReadAll(`select count(*) from detector_flags_${d} where meter_id = 'a1' and day >= date '2026-10-29'`)).getRows()[0]![0]);
        }
        // a1's late workshop day was flagged by the re-judge
        expect(a1Flags).toBeGreaterThan(0);
      } finally {
        fresh.close();
      }
      // nothing is left marked
      expect((await db.con.runAndReadAll(`select (select count(*) from detector_dirty_meters) + (select count(*) from detector_dirty_groups)`)).getRows()[0]![0]).toBe(0n);
    } finally {
      db.close();
    }
  }

  it('a late day of one meter judges that meter again, and its peer group for the detectors that read peers; the leads are a full judgement\'s', async () => {
    // two streets of six homes: a1's street is its peer group
    await lateDayOfA1(['a', 'b'].flatMap((s) => Array.from({ length: 6 }, (_, i) => `${s}${i}`)), (m) => m.startsWith('a'));
  });

  it('a street too small to be a peer group is compared with the district: a late day anywhere in the category judges its meters again', async () => {
    // street c has two homes (c0 a workshop), fewer than min_street_peers(): they are compared with
    // every home of the district, a1's late day among them
    await lateDayOfA1([...Array.from({ length: 6 }, (_, i) => `a${i}`), 'c0', 'c1'], (m) => m.startsWith('a') || m.startsWith('c'));
  });
});
