/**
 * The shape library district (fixtures/district-shapes.json): workshops of every shape and size,
 * half already running when the data starts, some on daily feeds, among the hard negatives (heat
 * pumps, EV charging, heavy households, home offices, long-hours shops). The figures asserted are
 * the ones the README states; a per-shape table is printed.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { loadDistrict, writeDistrict } from '../../src/fixtures/districtFiles.js';
import { DISTRICT_READING_FILES, type District } from '../../src/fixtures/district.js';
import { openDb, type Db } from '../../src/store/db.js';
import { backfill } from '../../src/pipeline/backfill.js';
import { loadPipeline } from '../../src/config/pipeline.js';
import { MemoryRejectSink } from '../../src/sinks/rejects.js';
import { loadCases } from '../../src/store/caseStore.js';
import { scoreFamily, type Label } from '../../src/core/eval.js';
import type { Case } from '../../src/core/types.js';
import { DEMO_PIPELINE } from '../../src/paths.js';
import { parseLocalMs } from '../../src/time.js';
import { tempDir } from '../helpers.js';
import { toDailyFeeds } from '../../src/fixtures/dailyFeeds.js';

/** The cohorts no workshop case may name: the hard negatives and ordinary homes. */
const HARD_NEGATIVE_COHORTS: readonly string[] = ['home_office', 'ev_charging', 'heat_pump', 'shop_long', 'air_conditioning', 'day_heating', 'flat_heavy', 'flat_new_occupant', 'flat_vacation', 'flat'];
const tmp = tempDir();
let district: District;
let db: Db;
let cases: Case[];
const labelsOf = (feed: (f: string) => boolean): Label[] =>
  district.truth.filter((t) => t.kind === 'workshop' && feed(t.feed)).map((t) => ({ meter_id: t.meter_id, kind: 'workshop', onset_ms: parseLocalMs(t.onset)! }));

/** The site family's score against a district's restored sites. */
const siteRebounds = (d: District, cs: Case[]) =>
  scoreFamily(cs, d.truth.filter((t) => t.kind === 'restored').map((t) => ({ meter_id: t.meter_id, kind: 'restored', onset_ms: parseLocalMs(t.onset)! })), 'site');

/** Backfill a written district into an in-memory store with the demo pipeline; the cases it raised. */
async function backfillDir(dir: string): Promise<{ db: Db; cases: Case[] }> {
  const store = await openDb(':memory:', { threads: 2 });
  await backfill({
    readings: DISTRICT_READING_FILES.map((f) => join(dir, f)), meters: join(dir, 'meters.csv'), sites: join(dir, 'sites.csv'),
    db: store, pipeline: loadPipeline(DEMO_PIPELINE), rejects: new MemoryRejectSink(), sinks: [],
  });
  return { db: store, cases: await loadCases(store) };
}

beforeAll(async () => {
  district = loadDistrict(join(import.meta.dirname, '..', '..', 'fixtures', 'district-shapes.json'));
  writeDistrict(district, tmp.dir);
  ({ db, cases } = await backfillDir(tmp.dir));
}, 300_000);
afterAll(() => {
  db?.close();
  tmp.cleanup();
});

describe('shape library district (workshops of every shape, existing and new, among hard negatives)', () => {
  it('15-minute feeds: workshop recall ≥ 0.95 at precision ≥ 0.9, median delay ≤ 48 h, existing workshops included', () => {
    const hourlyMeters = new Set(district.truth.filter((t) => t.feed !== 'daily').map((t) => t.meter_id));
    const labels = labelsOf((f) => f !== 'daily');
    const s = scoreFamily(cases.filter((c) => hourlyMeters.has(c.meter_id)), labels, 'workshop');
    const existing = district.truth.filter((t) => t.cohort === 'workshop_existing' && t.feed !== 'daily');
    const existingFound = existing.filter((t) => cases.some((c) => c.meter_id === t.meter_id && c.family === 'workshop')).length;
    // per shape, for the README and the issue notes
    const rows = new Map<string, [number, number]>();
    for (const t of district.truth.filter((x) => x.kind === 'workshop')) {
      const k = `${t.cohort.replace('workshop_', '')}/${t.shape}${t.feed === 'daily' ? '/daily' : ''}`;
      const r = rows.get(k) ?? [0, 0];
      r[1]++;
      if (cases.some((c) => c.meter_id === t.meter_id && c.family === 'workshop')) r[0]++;
      rows.set(k, r);
    }
    console.log([...rows].sort().map(([k, [f, n]]) => `${k.padEnd(26)} ${f}/${n}`).join('\n'));
    console.log(`shapes 15-min: recall ${s.found}/${s.labels}, precision ${s.true_cases}/${s.cases}, median delay ${s.median_delay_h} h, worst ${s.worst_delay_h} h; existing workshops found ${existingFound}/${existing.length}`);
    expectIssueTargets(s);
    expect(existingFound / existing.length).toBeGreaterThanOrEqual(0.9);
  });

  it('daily feeds: large-for-contract workshops within 72 h, working-week ones once three weekends show it, batch ones once two weeks do (night-only ones are not: see README)', () => {
    const labels = labelsOf((f) => f === 'daily');
    const s = scoreFamily(cases, labels, 'workshop');
    console.log(`shapes daily: recall ${s.found}/${s.labels}, median delay ${s.median_delay_h} h, worst ${s.worst_delay_h} h`);
    // the smallest existing day-shift flat (27 kWh a weekday above its weekends) is below working_week's
    // min_surplus_kwh: real London households that use more on weekdays draw as much (README)
    expect(s.found).toBeGreaterThanOrEqual(6);
    expect(s.median_delay_h!).toBeLessThanOrEqual(72);
    // working_week needs its 21-day window: three weekends
    expect(s.worst_delay_h!).toBeLessThanOrEqual(22 * 24);
  });

  it('every workshop case on 15-minute feeds tells the street office what was drawn, against what, and when to visit', () => {
    const hourlyMeters = new Set(district.truth.filter((t) => t.feed !== 'daily').map((t) => t.meter_id));
    const workshopCases = cases.filter((c) => c.family === 'workshop' && hourlyMeters.has(c.meter_id));
    const lacking = (re: RegExp) => workshopCases.filter((c) => !re.test(c.summary_zh)).map((c) => `${c.detector}: ${c.summary_zh}`);
    expect(workshopCases.length).toBeGreaterThan(80);
    expect(lacking(/用电时段 (\d{2}:\d{2}–\d{2}:\d{2}|全天)/)).toEqual([]);
    expect(lacking(/(同街道|全区)同类(户|用户)/)).toEqual([]);
    expect(lacking(/合同容量 \d+ kVA/)).toEqual([]);
  });

  it('no workshop case on the hard negatives, and every site rebound still raised', () => {
    const negatives = district.truth.filter((t) => HARD_NEGATIVE_COHORTS.includes(t.cohort));
    const flagged = negatives.filter((t) => cases.some((c) => c.meter_id === t.meter_id));
    expect(flagged.map((t) => `${t.meter_id} ${t.cohort}`)).toEqual([]);
    const site = siteRebounds(district, cases);
    expect(site.recall).toBe(1);
    expect(site.precision).toBe(1);
  });
});

describe('the same district with every meter on a daily feed (what a daily value can show)', () => {
  const dailyDir = tempDir();
  let dailyDb: Db;
  let dailyCases: Case[];
  beforeAll(async () => {
    writeDistrict(district, dailyDir.dir);
    await toDailyFeeds(dailyDir.dir);
    ({ db: dailyDb, cases: dailyCases } = await backfillDir(dailyDir.dir));
  }, 300_000);
  afterAll(() => {
    dailyDb?.close();
    dailyDir.cleanup();
  });

  it('new workshops within 72 h (median) at recall ≥ 0.8; existing ones as the README states; no hard negative raised', () => {
    const labels = (cohort: string): Label[] => district.truth.filter((t) => t.cohort === cohort).map((t) => ({ meter_id: t.meter_id, kind: 'workshop', onset_ms: parseLocalMs(t.onset)! }));
    const fresh = scoreFamily(dailyCases, labels('workshop_new'), 'workshop');
    const existing = scoreFamily(dailyCases, labels('workshop_existing'), 'workshop');
    const all = scoreFamily(dailyCases, [...labels('workshop_new'), ...labels('workshop_existing')], 'workshop');
    console.log(`shapes all-daily: new ${fresh.found}/${fresh.labels} median delay ${fresh.median_delay_h} h; existing ${existing.found}/${existing.labels} median delay ${existing.median_delay_h} h; precision ${all.true_cases}/${all.cases}`);
    // the new ones missed are 2-3 kW flats (18-29 kWh a weekday above their weekends): under
    // step_up's three times their own level, and under working_week's min_surplus_kwh, which real
    // London households reach (README, On real meters)
    expect(fresh.recall).toBeGreaterThanOrEqual(0.8);
    expect(fresh.median_delay_h!).toBeLessThanOrEqual(72);
    // a daily total shows an existing workshop only by its size, its week or its batches: see README
    expect(existing.recall).toBeGreaterThanOrEqual(0.7);
    expect(all.precision).toBe(1);
  });
});

/** Another draw of the library (a fixtures/ spec), backfilled once for the describe block it is called in. */
function drawnAgain(spec: string): { district: District; db: Db; cases: Case[] } {
  const dir = tempDir();
  const state = {} as { district: District; db: Db; cases: Case[] };
  beforeAll(async () => {
    state.district = loadDistrict(join(import.meta.dirname, '..', '..', 'fixtures', spec));
    writeDistrict(state.district, dir.dir);
    Object.assign(state, await backfillDir(dir.dir));
  }, 300_000);
  afterAll(() => {
    state.db?.close();
    dir.cleanup();
  });
  return state;
}

/** Workshop recall, precision and delay on the 15-minute feeds of a draw; the hard negatives it raised. */
function hourlyWorkshops({ district: d, cases: cs }: { district: District; cases: Case[] }, label: string) {
  const hourly = d.truth.filter((t) => t.kind === 'workshop' && t.feed !== 'daily');
  const hourlyMeters = new Set(d.truth.filter((t) => t.feed !== 'daily').map((t) => t.meter_id));
  const s = scoreFamily(cs.filter((c) => hourlyMeters.has(c.meter_id)), hourly.map((t) => ({ meter_id: t.meter_id, kind: 'workshop', onset_ms: parseLocalMs(t.onset)! })), 'workshop');
  const raised = d.truth.filter((t) => HARD_NEGATIVE_COHORTS.includes(t.cohort) && cs.some((c) => c.meter_id === t.meter_id)).map((t) => `${t.meter_id} ${t.cohort}`);
  console.log(`${label}: recall ${s.found}/${s.labels}, precision ${s.true_cases}/${s.cases}, median delay ${s.median_delay_h} h, worst ${s.worst_delay_h} h; hard negatives raised: ${raised.join(', ') || 'none'}`);
  return { ...s, raised };
}

/** Issue 12's targets on 15-minute feeds: recall ≥ 0.95 at precision ≥ 0.9, median delay ≤ 48 h. */
function expectIssueTargets(s: { recall: number; precision: number; median_delay_h: number | null }): void {
  expect(s.recall).toBeGreaterThanOrEqual(0.95);
  expect(s.precision).toBeGreaterThanOrEqual(0.9);
  expect(s.median_delay_h!).toBeLessThanOrEqual(48);
}

describe('the shape library drawn again: another seed, a winter start, the Spring Festival off (fixtures/district-shapes-winter.json)', () => {
  const winter = drawnAgain('district-shapes-winter.json');

  it('15-minute feeds: workshop recall ≥ 0.95 at precision ≥ 0.9, median delay ≤ 48 h; no hard negative raised', () => {
    const s = hourlyWorkshops(winter, 'shapes winter 15-min');
    expectIssueTargets(s);
    expect(s.raised).toEqual([]);
  });
});

describe('the shape library in a winter without central heating: homes heating their evenings by the cold, and 30 heating their whole waking day (fixtures/district-shapes-winter-heating.json)', () => {
  const heating = drawnAgain('district-shapes-winter-heating.json');

  it('15-minute feeds: workshop recall ≥ 0.95 at precision ≥ 0.9, median delay ≤ 48 h; at most one of the 30 homes heating by day raised, no other hard negative', () => {
    const s = hourlyWorkshops(heating, 'shapes winter heating 15-min');
    expectIssueTargets(s);
    // a heater whose changes follow its street's only loosely over the trailing weeks (one of 30 on
    // this draw; 16 were raised before days through the evening read the weather)
    expect(s.raised.filter((r) => r.endsWith(' day_heating')).length).toBeLessThanOrEqual(1);
    expect(s.raised.filter((r) => !r.endsWith(' day_heating'))).toEqual([]);
  });
});

describe('the shape library with a real feed\'s gaps: 8 % of community-days lost whole, 5 % of other points (fixtures/district-shapes-outages.json)', () => {
  const gaps = drawnAgain('district-shapes-outages.json');

  // The library loses 0.4 % of its points one by one; a real collection system loses whole days of a
  // concentrator's meters, which takes days from every window and from a street's peers at once.
  it('15-minute feeds: workshop recall ≥ 0.95 at precision ≥ 0.9, median delay ≤ 48 h; no hard negative raised; every site rebound raised', () => {
    const s = hourlyWorkshops(gaps, 'shapes with outages 15-min');
    expectIssueTargets(s);
    expect(s.raised).toEqual([]);
    const site = siteRebounds(gaps.district, gaps.cases);
    expect([site.recall, site.precision]).toEqual([1, 1]);
  });
});

describe('the shape library in summer: homes cooling at night, families cooling the whole flat (fixtures/district-shapes-summer.json)', () => {
  const summer = drawnAgain('district-shapes-summer.json');

  it('15-minute feeds: workshop recall ≥ 0.95 at precision ≥ 0.9, median delay ≤ 48 h; no hard negative raised (families cooling the flat, homes cooling a bedroom, heavy households and EV chargers that cool, new occupants)', () => {
    const s = hourlyWorkshops(summer, 'shapes summer 15-min');
    expectIssueTargets(s);
    expect(s.raised).toEqual([]);
  });
});
