/**
 * Real meters nobody here generated (../shared/data): the detectors must stay quiet on real
 * households and buildings, and catch events injected into them. The figures asserted here are
 * the ones the README states.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { openDb, type Db } from '../../src/store/db.js';
import { ReadingStore } from '../../src/store/readingStore.js';
import { upsertMeters, upsertSites } from '../../src/store/reference.js';
import { runDetector, runDetectors } from '../../src/store/detectors.js';
import { loadRegistry } from '../../src/config/detectorRegistry.js';
import { parsePipeline } from '../../src/config/pipeline.js';
import { lastCompleteDay } from '../../src/time.js';
import { meterSchema, siteSchema } from '../../src/contracts/registry.js';
import { LONDON_FILE, dailyValues, loadCambridge, loadLondon, londonAvailable, planInjections, toReadings, type HouseholdDay } from '../support/realData.js';
import type { Reading } from '../../src/contracts/reading.js';
import type { Lead } from '../../src/core/types.js';
import { DAY_MS, HOUR_MS, formatLocal, parseLocalMs } from '../../src/time.js';

const available = londonAvailable();
if (!available && process.env.CI) throw new Error(`real meter data missing: ${LONDON_FILE} (CI must run with shared/ beside the repo)`);
const detectors = parsePipeline({}).detectors;
const watermark = (rs: readonly Reading[]) => lastCompleteDay(rs.reduce((m, r) => Math.max(m, r.ts_ms), 0));

/** Every workshop detector's leads on the households (one London street of residents), and how many meters the daily-feed detectors judged. */
async function workshopLeads(days: readonly HouseholdDay[], readings: Reading[]): Promise<{ leads: Lead[]; dailyFeedMeters: number }> {
  const db = await openDb(':memory:');
  try {
    const ids = [...new Set(days.map((d) => d.household))];
    await upsertMeters(db, ids.map((id) => meterSchema.parse({ meter_id: id, street: 'london', category: 'resident' })));
    await new ReadingStore(db).append(readings);
    const { leads } = await runDetectors(db, detectors, { lastCompleteDayMs: watermark(readings) });
    const dailyFeedMeters = Number((await db.con.runAndReadAll('select count(*) from meters_with_data where not has_interval')).getRows()[0]![0]);
    return { leads: leads.filter((l) => l.family === 'workshop'), dailyFeedMeters };
  } finally {
    db.close();
  }
}

const perDetector = (leads: readonly Lead[]): string => Object.entries(leads.reduce<Record<string, number>>((m, l) => ({ ...m, [l.detector]: (m[l.detector] ?? 0) + 1 }), {})).map(([d, n]) => `${d} ${n}`).join(', ');

describe.skipIf(!available)('London households (Low Carbon London, 1,500 homes, 2011-2014, daily)', () => {
  let days: HouseholdDay[];
  beforeAll(async () => {
    days = await loadLondon();
  });

  it('no injected event: at most 0.5 workshop leads per 1,000 households a month, every detector together, the daily-feed ones judging every household', async () => {
    const { leads, dailyFeedMeters } = await workshopLeads(days, toReadings(days));
    // a day read for its last half-hour (1,472 of the households have one) does not make a meter an interval meter
    expect(dailyFeedMeters).toBe(new Set(days.map((d) => d.household)).size);
    const householdMonths = days.length / 30.44;
    const rate = (leads.length / householdMonths) * 1000;
    console.log(`london quiet: ${leads.length} leads (${perDetector(leads)}) over ${Math.round(householdMonths)} household-months = ${rate.toFixed(2)} per 1,000 household-months`);
    expect(rate).toBeLessThanOrEqual(0.5);
  });

  /** Injects 100 workshops of kW in the range into the homes; what every detector together finds, locates and how soon. */
  async function injected(kw: readonly [number, number]) {
    const injections = planInjections(days, 100, 7, kw);
    const { leads } = await workshopLeads(days, toReadings(days, injections));
    const after = (i: (typeof injections)[number]) => leads.filter((l) => l.meter_id === i.household && l.detected_at_ms >= i.onsetMs - DAY_MS);
    const found = injections.filter((i) => after(i).length);
    const located = injections.filter((i) => leads.some((l) => l.detector === 'step_up' && l.meter_id === i.household && Math.abs(l.episode_start_ms - i.onsetMs) <= 3 * DAY_MS));
    // delay: from the start of the first working day on or after the onset to the first lead
    const delaysH = found.map((i) => {
      let firstWorkday = i.onsetMs;
      while (((new Date(firstWorkday).getUTCDay() + 6) % 7) + 1 > i.workdays) firstWorkday += DAY_MS;
      return (Math.min(...after(i).map((l) => l.detected_at_ms)) - firstWorkday) / HOUR_MS;
    }).sort((a, b) => a - b);
    const medianDelayH = delaysH[Math.floor(delaysH.length / 2)]!;
    const firstBy = perDetector(found.map((i) => after(i).sort((a, b) => a.detected_at_ms - b.detected_at_ms)[0]!));
    console.log(`london injected ${kw[0]}-${kw[1]} kW: recall ${found.length}/${injections.length} (first lead: ${firstBy}), step_up change point within 3 days ${located.length}/${injections.length}, median delay ${medianDelayH} h, 90th percentile ${delaysH[Math.floor(delaysH.length * 0.9)]} h`);
    return { recall: found.length / injections.length, located: located.length / injections.length, medianDelayH };
  }

  it('100 injected workshops (weekday plateau 5-25 kW): recall ≥ 0.95, step_up locates ≥ 88 % within ±3 days, median delay ≤ 72 h', async () => {
    const r = await injected([5, 25]);
    expect(r.recall).toBeGreaterThanOrEqual(0.95);
    expect(r.located).toBeGreaterThanOrEqual(0.88);
    // daily data: step_up's fast path raises a large step within 72 h of the first working day
    expect(r.medianDelayH).toBeLessThanOrEqual(72);
  });

  it('100 smaller ones (3-5 kW, 24-50 kWh a working day): most are found, later (the limit the README states)', async () => {
    // A daily value cannot tell a 3 kW machine from a home that heats or uses more on weekdays
    // without raising real homes (README, *On real meters*): this pins what is found today.
    const r = await injected([3, 5]);
    expect(r.recall).toBeGreaterThanOrEqual(0.7);
    expect(r.medianDelayH).toBeLessThanOrEqual(168);
  });
});

describe.skipIf(!available)('Cambridge buildings (43 buildings, 2019-2021 hourly, COVID shutdown and reopening)', () => {
  let readings: Reading[];
  let db: Db;
  const CUT = parseLocalMs('2019-06-03T12:00:00')!;
  const BACK = parseLocalMs('2019-07-15T08:00:00')!;
  let cutBuildings: string[] = [];
  let darkBuildings: string[] = [];
  /** Every building in the registry as one street's meters of the category, without a contract. */
  const registerBuildings = (category: string) =>
    upsertMeters(db, [...new Set(readings.map((r) => r.meter_id))].map((id) => meterSchema.parse({ meter_id: id, street: 'cambridge', category })));

  let asRecorded: Reading[];

  beforeAll(async () => {
    readings = asRecorded = await loadCambridge();
    const ids = [...new Set(readings.map((r) => r.meter_id))].sort();
    // inject enforcement: 5 buildings disconnected on 3 June 2019 and back on 15 July; 5 stay dark
    cutBuildings = ids.slice(0, 5);
    darkBuildings = ids.slice(5, 10);
    const cut = new Set(cutBuildings), dark = new Set(darkBuildings);
    readings = readings.flatMap((r) => {
      const start = r.ts_ms - HOUR_MS;
      if (cut.has(r.meter_id) && start >= CUT && start < BACK) return [{ ...r, kwh: 0 }];
      if (dark.has(r.meter_id) && start >= CUT) return r.ts_ms > parseLocalMs('2019-12-31T00:00:00')! ? [] : [{ ...r, kwh: 0.04 }]; // standby trickle, then the meter is removed
      return [r];
    });
    db = await openDb(':memory:');
    await registerBuildings('other');
    await upsertSites(db, [...cutBuildings, ...darkBuildings].map((id, i) => siteSchema.parse({
      case_no: `CAM${i}`, meter_id: id, measure: '关停取缔', status: '已整改', power_cut_at: formatLocal(CUT),
    })));
    await new ReadingStore(db).append(readings);
  });
  afterAll(() => db?.close());

  it('stays quiet: no step-up or baseline anomaly on term starts and the reopening, workshop leads ≤ 1 per 1,000 building-months', async () => {
    const { leads } = await runDetectors(db, detectors, { lastCompleteDayMs: watermark(readings) });
    const workshop = leads.filter((l) => !['restored_power', 'resumed_production'].includes(l.detector));
    const buildingMonths = (readings.length / 24 / 30.44);
    const rate = (workshop.length / buildingMonths) * 1000;
    console.log(`cambridge quiet: ${workshop.length} workshop leads (${workshop.map((l) => l.detector).join(', ')}) over ${Math.round(buildingMonths)} building-months = ${rate.toFixed(2)} per 1,000`);
    expect(workshop.filter((l) => l.detector === 'step_up' || l.detector === 'baseline_anomaly')).toEqual([]);
    expect(rate).toBeLessThanOrEqual(1);
  });

  it('disconnected buildings that come back are raised within 3 hours; those that stay dark are not', async () => {
    const d = loadRegistry().get('restored_power')!;
    const leads = await runDetector(db, d, detectors.restored_power, { lastCompleteDayMs: 0 });
    for (const b of cutBuildings) {
      const first = leads.filter((l) => l.meter_id === b).sort((x, y) => x.detected_at_ms - y.detected_at_ms)[0];
      expect(first, b).toBeDefined();
      expect(first!.detected_at_ms - BACK, b).toBeLessThanOrEqual(3 * HOUR_MS);
      expect(first!.detected_at_ms, b).toBeGreaterThan(BACK);
    }
    expect(leads.filter((l) => darkBuildings.includes(l.meter_id))).toEqual([]);
  });

  it('registered as businesses (非居民, no contract) instead, at most 4 of the 43 buildings are raised as workshops', async () => {
    // A district registers a university or an office block as a business. Far above their campus's
    // median, 12 buildings running 108-811 kW around the clock were continuous processes until
    // sustained_draw's peer paths stopped at a low-voltage supply's 100 kW. The 4 left (31-92 kW, 3-7
    // times the campus median; offices' weeks, which shops' working weeks let through since stop 38)
    // are what the README states: a business's street is no yardstick for a building, and without a
    // contract nothing else is.
    await registerBuildings('commercial');
    try {
      const { leads } = await runDetectors(db, detectors, { lastCompleteDayMs: watermark(readings) });
      const workshop = leads.filter((l) => l.family === 'workshop');
      const buildings = [...new Set(workshop.map((l) => l.meter_id))];
      console.log(`cambridge as businesses: ${workshop.length} workshop leads (${perDetector(workshop)}) on ${buildings.length} buildings: ${buildings.join(', ')}`);
      expect(workshop.filter((l) => l.detector === 'step_up' || l.detector === 'baseline_anomaly')).toEqual([]);
      expect(buildings.length).toBeLessThanOrEqual(4);
    } finally {
      await registerBuildings('other');
    }
  });

  it('delivered as daily values and registered as businesses, at most 4 buildings are raised: an office\'s week is a business\'s', async () => {
    // Offices and labs work weekdays and rest at weekends, as a business does: on daily values
    // working_week and batch_days must not read that as a workshop. 5 buildings were raised before
    // batch_days asked for idle weekdays (its batches were weekends), 6 if working_week let a
    // business's weekends keep a base load. The 4 left draw 4.6-7.5 times the campus median with
    // weekends at a quarter of their weekdays or less: one by its working week, three by batch_days
    // in windows that held idle weekdays as well (README, On real meters).
    const daily = dailyValues(asRecorded);
    const dailyDb = await openDb(':memory:');
    try {
      await upsertMeters(dailyDb, [...new Set(daily.map((r) => r.meter_id))].map((id) => meterSchema.parse({ meter_id: id, street: 'cambridge', category: 'commercial' })));
      await new ReadingStore(dailyDb).append(daily);
      const { leads } = await runDetectors(dailyDb, detectors, { lastCompleteDayMs: watermark(daily) });
      const workshop = leads.filter((l) => l.family === 'workshop');
      const buildings = [...new Set(workshop.map((l) => l.meter_id))];
      console.log(`cambridge daily as businesses: ${daily.length} daily values, ${workshop.length} workshop leads (${perDetector(workshop)}) on ${buildings.length} buildings`);
      expect(buildings.length).toBeLessThanOrEqual(4);
    } finally {
      dailyDb.close();
    }
  });
});
