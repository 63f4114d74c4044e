/**
 * Property tests: on random series the detector SQL and the TypeScript reference implementations
 * (src/core/reference) find the same episodes. Seeds are fixed so a failure reproduces.
 */
import { describe, it, expect } from 'vitest';
import { openDb, type Db } from '../../src/store/db.js';
import { ReadingStore } from '../../src/store/readingStore.js';
import { upsertMeters, upsertSites } from '../../src/store/reference.js';
import { runDetector } from '../../src/store/detectors.js';
import { loadRegistry } from '../../src/config/detectorRegistry.js';
import { parsePipeline } from '../../src/config/pipeline.js';
import { lastCompleteDay } from '../../src/time.js';
import { rng } from '../../src/fixtures/district.js';
import { meterSchema, siteSchema } from '../../src/contracts/registry.js';
import { restoredPowerReference, resumedProductionReference } from '../support/reference/sitePower.js';
import { stepUpReference } from '../support/reference/stepUp.js';
import type { RefEpisode } from '../support/reference/common.js';
import type { Reading } from '../../src/contracts/reading.js';
import type { Lead } from '../../src/core/types.js';
import { DAY_MS, formatLocal, parseDate } from '../../src/time.js';

const defaults = parsePipeline({}).detectors;
const START = parseDate('2026-09-01')!;
const key = (e: { meter_id: string; episode_start_ms: number; detected_at_ms: number; window_end_ms: number }) =>
  `${e.meter_id} start=${formatLocal(e.episode_start_ms)} detected=${formatLocal(e.detected_at_ms)} end=${formatLocal(e.window_end_ms)}`;

async function sqlLeads(db: Db, detector: string, readings: Reading[]): Promise<Lead[]> {
  await new ReadingStore(db).append(readings);
  const w = Math.max(...readings.map((r) => r.ts_ms));
  const d = loadRegistry().get(detector)!;
  return runDetector(db, d, (defaults as Record<string, Record<string, unknown>>)[detector]!, { lastCompleteDayMs: lastCompleteDay(w) });
}

/** A random site history: production, a cut or halt, then dark/standby with random bursts. */
function randomSiteSeries(rand: () => number, meter: string, days: number, intervalMin: number, eventMs: number, standbyKw: number): Reading[] {
  const out: Reading[] = [];
  const prodKw = 5 + rand() * 30;
  const bursts: [number, number, number][] = [];
  for (let i = 0; i < 1 + Math.floor(rand() * 4); i++) {
    const s = eventMs + Math.floor(rand() * (days * DAY_MS - (eventMs - START)));
    bursts.push([s, s + Math.floor((0.2 + rand() * 30) * 3600_000), rand() * prodKw * 1.2]);
  }
  for (let t = START + intervalMin * 60_000; t <= START + days * DAY_MS; t += intervalMin * 60_000) {
    if (rand() < 0.02) continue; // missing interval
    const h = new Date(t - 60_000).getUTCHours();
    let kw: number;
    if (t <= eventMs) kw = h >= 8 && h < 18 ? prodKw * (0.8 + 0.4 * rand()) : 1;
    else {
      kw = standbyKw * (0.5 + rand());
      for (const [a, b, k] of bursts) if (t > a && t <= b) kw += k * (0.7 + 0.6 * rand());
    }
    out.push({ meter_id: meter, ts_ms: t, interval_min: intervalMin, kwh: Math.round(kw * (intervalMin / 60) * 1e4) / 1e4 });
  }
  return out;
}

describe('SQL agrees with the TypeScript reference on random series', () => {
  it.each([1, 2, 3, 4, 5, 6])('restored_power and resumed_production, seed %i', async (seed) => {
    const rand = rng(seed * 7919);
    const db = await openDb(':memory:', { threads: 1 });
    try {
      const readings: Reading[] = [];
      const sites = [];
      const expected: RefEpisode[] = [];
      const expectedResumed: RefEpisode[] = [];
      for (let i = 0; i < 6; i++) {
        const meter = `s${i}`;
        const interval = [15, 15, 60, 1440][i % 4]!;
        const eventMs = START + Math.floor((10 + rand() * 15) * DAY_MS) + Math.floor(rand() * 24) * 3600_000;
        const cut = i % 2 === 0;
        const series = randomSiteSeries(rand, meter, 45, interval, eventMs, cut ? rand() * 0.1 : 0.5 + rand() * 2);
        readings.push(...series);
        sites.push(siteSchema.parse({ case_no: `C${i}`, meter_id: meter, status: '整改中', power_cut_at: cut ? formatLocal(eventMs) : '', halt_ordered_at: cut ? '' : formatLocal(eventMs) }));
        if (cut) expected.push(...restoredPowerReference(meter, series, eventMs, defaults.restored_power as never));
        else expectedResumed.push(...resumedProductionReference(meter, series, eventMs, defaults.resumed_production as never));
      }
      await upsertSites(db, sites);
      const got = await sqlLeads(db, 'restored_power', readings);
      expect(got.map(key).sort()).toEqual(expected.map(key).sort());
      const d = loadRegistry().get('resumed_production')!;
      const got2 = await runDetector(db, d, defaults.resumed_production, { lastCompleteDayMs: 0 });
      expect(got2.map(key).sort()).toEqual(expectedResumed.map(key).sort());
      expect(expected.length + expectedResumed.length).toBeGreaterThan(0); // the generator does produce episodes
    } finally {
      db.close();
    }
  });

  it.each([1, 2, 3, 4, 5])('step_up, seed %i', async (seed) => {
    const rand = rng(seed * 104729);
    const db = await openDb(':memory:', { threads: 1 });
    try {
      // odd seeds run past a year: the highest earlier week is looked for over the whole long-run window
      const days = seed % 2 ? 420 : 90;
      const readings: Reading[] = [];
      const series = new Map<string, Map<number, number>>();
      const meters = [];
      for (let i = 0; i < 12; i++) {
        const meter = `f${String(i).padStart(2, '0')}`;
        meters.push(meterSchema.parse({ meter_id: meter, street: 's', category: 'resident' }));
        const m = new Map<number, number>();
        let level = 4 + rand() * 10;
        for (let d = 0; d < days; d++) {
          // random regime changes: steps up or down, vacations, holiday dips
          if (rand() < 0.03) level = level * (rand() < 0.5 ? 0.2 + rand() : 2 + rand() * 8);
          const v = rand() < 0.05 ? 0.5 : Math.max(0, level * (0.7 + 0.6 * rand()));
          if (rand() < 0.03) continue; // a missing day
          const dayMs = START + d * DAY_MS;
          m.set(dayMs, Math.round(v * 1000) / 1000);
          readings.push({ meter_id: meter, ts_ms: dayMs + DAY_MS, interval_min: 1440, kwh: Math.round(v * 1000) / 1000 });
        }
        series.set(meter, m);
      }
      await upsertMeters(db, meters);
      const got = await sqlLeads(db, 'step_up', readings);
      const last = lastCompleteDay(Math.max(...readings.map((r) => r.ts_ms)));
      const expected = stepUpReference(series, last, defaults.step_up as never);
      expect(expected.length).toBeGreaterThan(0); // random regimes do produce steps
      expect(got.map(key).sort()).toEqual(expected.map(key).sort());
    } finally {
      db.close();
    }
  });
});

/** Random hourly series: household rhythm, some meters gaining a plateau (workshop) or a burst of extra load. */
function randomHourly(rand: () => number, meters: number, days: number) {
  const readings: Reading[] = [];
  const hours: import('../support/reference/hourly.js').RefHour[] = [];
  for (let i = 0; i < meters; i++) {
    const meter = `h${String(i).padStart(2, '0')}`;
    const scale = 0.5 + rand() * 1.5;
    const change = START + Math.floor((20 + rand() * 30) * DAY_MS / DAY_MS) * DAY_MS;
    const kind = rand();
    const plateauKw = 3 + rand() * 10;
    for (let t = START; t < START + days * DAY_MS; t += 3600_000) {
      const h = new Date(t).getUTCHours();
      const dow = ((new Date(t).getUTCDay() + 6) % 7) + 1;
      let kw = (h < 6 ? 0.15 : h < 9 ? 0.5 : h < 17 ? 0.3 : h < 23 ? 1.2 : 0.2) * scale * (0.6 + 0.8 * rand());
      if (t >= change && kind < 0.4 && dow <= 5 && h >= 8 && h < 18) kw += plateauKw * (0.9 + 0.2 * rand());
      if (t >= change && kind >= 0.4 && kind < 0.6 && h >= 10 && h < 20) kw += plateauKw * rand();
      // new occupants' kind of change: more drawn in the evening peak only
      if (t >= change && kind >= 0.6 && kind < 0.75 && h >= 17 && h < 23) kw += plateauKw * (0.9 + 0.2 * rand());
      // empty flats (0.03 kW) taken by a family that cools at night in summer, or by a night shift
      const empty = kind >= 0.75 && kind < 0.9;
      if (empty && t < change) kw = 0.03;
      if (empty && t >= change && kind < 0.83 && (h >= 22 || h < 7)) kw += plateauKw * 0.5 * (0.9 + 0.2 * rand());
      if (empty && t >= change && kind < 0.83 && h >= 17 && h < 22) kw += plateauKw * (0.9 + 0.2 * rand());
      if (empty && t >= change && kind >= 0.83 && (h >= 22 || h < 6)) kw += plateauKw * (0.9 + 0.2 * rand());
      kw = Math.round(kw * 1000) / 1000;
      readings.push({ meter_id: meter, ts_ms: t + 3600_000, interval_min: 60, kwh: kw });
      hours.push({ meter_id: meter, hour_ms: t, kw });
    }
  }
  return { readings, hours };
}

describe('hourly detectors: SQL agrees with the TypeScript reference', () => {
  it('baseline_anomaly with a street too small to be a peer group: its meters compared with the district pool', async () => {
    const db = await openDb(':memory:', { threads: 1 });
    try {
      const { readings, hours } = randomHourly(rng(4 * 15485863), 14, 70);
      // ten meters in one street, four in another: fewer than MIN_STREET_PEERS, so those four are
      // compared with the district's pool (all fourteen)
      const registered = new Map([...new Set(readings.map((r) => r.meter_id))].map((id, i) => [id, { street: i < 10 ? 's' : 't', category: 'resident' }]));
      await upsertMeters(db, [...registered].map(([id, m]) => meterSchema.parse({ meter_id: id, street: m.street, category: m.category, contract_kva: 10 })));
      await new ReadingStore(db).append(readings);
      const last = lastCompleteDay(Math.max(...readings.map((r) => r.ts_ms)));
      const { baselineAnomalyReference } = await import('../support/reference/hourly.js');
      const expected = baselineAnomalyReference(hours, last, defaults.baseline_anomaly as never, registered);
      const found = await runDetector(db, loadRegistry().get('baseline_anomaly')!, defaults.baseline_anomaly as Record<string, unknown>, { lastCompleteDayMs: last });
      expect(found.map(key).sort()).toEqual(expected.map(key).sort());
      // the small street's meters are among those raised: the pool's level is what they are judged by
      expect(expected.some((e) => registered.get(e.meter_id)!.street === 't')).toBe(true);
    } finally {
      db.close();
    }
  });

  it.each([1, 2, 3])('baseline_anomaly and industrial_profile, seed %i', async (seed) => {
    const rand = rng(seed * 15485863);
    const db = await openDb(':memory:', { threads: 1 });
    try {
      const { readings, hours } = randomHourly(rand, 14, 70);
      const kva = new Map<string, number | null>();
      const meters = [...new Set(readings.map((r) => r.meter_id))].map((id, i) => {
        kva.set(id, i % 3 === 0 ? null : 10 + i);
        return meterSchema.parse({ meter_id: id, street: 's', category: 'resident', contract_kva: i % 3 === 0 ? '' : 10 + i });
      });
      await upsertMeters(db, meters);
      await new ReadingStore(db).append(readings);
      const last = lastCompleteDay(Math.max(...readings.map((r) => r.ts_ms)));
      const run = (name: string) => runDetector(db, loadRegistry().get(name)!, (defaults as Record<string, Record<string, unknown>>)[name]!, { lastCompleteDayMs: last });
      const { baselineAnomalyReference, industrialProfileReference } = await import('../support/reference/hourly.js');
      const expectedBa = baselineAnomalyReference(hours, last, defaults.baseline_anomaly as never);
      expect((await run('baseline_anomaly')).map(key).sort()).toEqual(expectedBa.map(key).sort());
      const expectedIp = industrialProfileReference(hours, kva, last, defaults.industrial_profile as never);
      expect((await run('industrial_profile')).map(key).sort()).toEqual(expectedIp.map(key).sort());
      expect(expectedBa.length).toBeGreaterThan(0);
      expect(expectedIp.length).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });
});
