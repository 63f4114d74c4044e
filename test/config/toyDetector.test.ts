/**
 * A new detector is one SQL file, its given/expect cases and its reference implementation: this
 * test adds one (night_work, a toy) to a copy of the detectors folder and checks that everything
 * else follows from its header with no TypeScript change — pipeline validation and JSON Schema,
 * the given/expect runner, the screening core (case family, 存在问题类型, sentence), and that the
 * SQL agrees with its reference implementation.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRegistry } from '../../src/config/detectorRegistry.js';
import { parsePipeline, pipelineJsonSchema } from '../../src/config/pipeline.js';
import { openDb } from '../../src/store/db.js';
import { ReadingStore } from '../../src/store/readingStore.js';
import { upsertMeters } from '../../src/store/reference.js';
import { screen } from '../../src/pipeline/screen.js';
import { meterSchema } from '../../src/contracts/registry.js';
import { DETECTOR_DIR } from '../../src/paths.js';
import { DAY_MS, HOUR_MS, formatLocal, parseDate } from '../../src/time.js';
import { seriesReadings, sqlCaseSchema } from '../../src/core/sqlCase.js';
import { runSqlCase } from '../../src/store/sqlCaseRunner.js';
import { islands } from '../support/reference/common.js';
import type { Reading } from '../../src/contracts/reading.js';
import { tempDir } from '../helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const dir = join(tmp.dir, 'detectors');
cpSync(DETECTOR_DIR, dir, { recursive: true });
writeFileSync(join(dir, 'night_work.sql'), `-- detector: night_work
-- family: workshop
-- problem_type: 疑似散乱污生产（夜间生产）
-- runs: day
-- title: 夜间持续用电（toy detector added by a test）
-- summary_zh: {episode_start:date}起夜间持续约 {evidence.night_kw:1} kW
-- grain: one row per meter and episode; decided per complete local day (causal)
-- param: categories varchar[] = ['resident'] [-] (resident|commercial|industrial|other) meter categories screened
-- param: min_night_kw double = 2 [kW] (0..) average draw 00:00-06:00 of a working night
-- param: min_nights integer = 3 [d] (1..7) working nights among the last 7 days
-- param: episode_gap_days integer = 7 [d] (1..) quiet days that end an episode
-- output: meter_id varchar, site_case_no varchar, episode_start timestamp, detected_at timestamp,
--   window_start timestamp, window_end timestamp, score double, baseline_kwh_day double,
--   level_kwh_day double, reference_kwh_day double, evidence json
with nights as (
  select h.meter_id, h.day, date_diff('day', date '2000-01-01', h.day) as day_no, avg(h.kw) as night_kw
  from hourly_levels(45) h
  semi join screened_meters($categories) using (meter_id)
  where h.hod < 6 and h.day <= $last_complete_day
  group by all
),
working as (
  select *, count(*) filter (where night_kw >= $min_night_kw) over w as working_nights
  from nights
  window w as (partition by meter_id order by day_no range between 6 preceding and current row)
),
flagged as (
  select *, day_no as episode_clock from working where working_nights >= $min_nights and night_kw >= $min_night_kw
),
episodes as (
  select meter_id, episode_no, min(day) as first_day, max(day) as last_day, arg_min(night_kw, day) as night_kw
  from number_episodes(flagged, $episode_gap_days)
  group by all
)
select meter_id, cast(null as varchar) as site_case_no,
       cast(first_day as timestamp) as episode_start, cast(first_day + 1 as timestamp) as detected_at,
       cast(first_day as timestamp) as window_start, cast(last_day + 1 as timestamp) as window_end,
       0.8 as score, cast(null as double) as baseline_kwh_day, night_kw * 24 as level_kwh_day,
       cast(null as double) as reference_kwh_day, to_json({night_kw: night_kw}) as evidence
from episodes
`);

/** The toy's reference implementation: the same rule, written plainly. */
function nightWorkReference(readings: readonly Reading[], lastDayMs: number, p: { min_night_kw: number; min_nights: number; episode_gap_days: number }) {
  const nights = new Map<string, Map<number, number[]>>();
  for (const r of readings) {
    const start = r.ts_ms - r.interval_min * 60_000;
    const day = Math.floor(start / DAY_MS) * DAY_MS;
    if ((start - day) / HOUR_MS >= 6 || day > lastDayMs) continue;
    const m = nights.get(r.meter_id) ?? nights.set(r.meter_id, new Map()).get(r.meter_id)!;
    (m.get(day) ?? m.set(day, []).get(day)!).push((r.kwh * 60) / r.interval_min);
  }
  const out: { meter_id: string; episode_start: string }[] = [];
  for (const [meter, byDay] of nights) {
    const kw = new Map([...byDay].map(([d, v]) => [d, v.reduce((a, b) => a + b, 0) / v.length]));
    const flagged = [...kw.keys()].sort((a, b) => a - b).filter((d) => kw.get(d)! >= p.min_night_kw && [...kw].filter(([x, v]) => x > d - 7 * DAY_MS && x <= d && v >= p.min_night_kw).length >= p.min_nights);
    for (const ep of islands(flagged, (d) => d, p.episode_gap_days * DAY_MS)) out.push({ meter_id: meter, episode_start: formatLocal(ep[0]!) });
  }
  return out;
}

const toyCase = sqlCaseSchema.parse({
  description: 'a flat that runs machines every night from 00:00 to 06:00 (10 kW), from day 15',
  detector: 'night_work',
  given: {
    meters: [{ meter_id: 'night', category: 'resident', contract_kva: 8 }, { meter_id: 'home', category: 'resident', contract_kva: 8 }],
    series: [
      { meter_id: 'night', start: '2026-10-01', segments: [{ days: 14, kw: 0.3 }, { days: 10, kw: 0.3, bands: [[0, 6, 10]] }] },
      { meter_id: 'home', start: '2026-10-01', segments: [{ days: 24, kw: 0.3, bands: [[18, 23, 2]] }] },
    ],
  },
  expect: [{ meter_id: 'night', episode_start_ms: '2026-10-17', 'evidence.night_kw_min': 9 }],
});

describe('a toy detector added from a test', () => {
  const registry = loadRegistry(dir);

  it('is in the registry with what its header says, and its parameters are validated from it', () => {
    expect(registry.get('night_work')).toMatchObject({ family: 'workshop', runs: 'day', peers: false, problemType: '疑似散乱污生产（夜间生产）' });
    const p = parsePipeline({ detectors_dir: dir, detectors: { night_work: { min_nights: 4 } } });
    expect(p.detectors.night_work).toEqual({ enabled: true, categories: ['resident'], min_night_kw: 2, min_nights: 4, episode_gap_days: 7 });
    expect(() => parsePipeline({ detectors_dir: dir, detectors: { night_work: { min_night: 4 } } }, 'p.json')).toThrow('detectors.night_work.min_night: unknown parameter of night_work (did you mean min_nights?)');
    expect(() => parsePipeline({ detectors_dir: dir, detectors: { night_work: { min_nights: 9 } } }, 'p.json')).toThrow(/detectors\.night_work\.min_nights: /);
    expect(JSON.stringify(pipelineJsonSchema(registry))).toContain('working nights among the last 7 days');
    // the built-in folder knows nothing of it
    expect(() => parsePipeline({ detectors: { night_work: {} } }, 'p.json')).toThrow(/unknown detector/);
  });

  it('passes its given/expect case through the same runner the analysts\' cases use', async () => {
    expect(await runSqlCase(toyCase, registry)).toEqual([]);
    // and the runner can fail: a wrong expectation is reported
    expect(await runSqlCase({ ...toyCase, expect: [] }, registry)).toHaveLength(1);
  });

  it('agrees with its reference implementation', async () => {
    const readings = toyCase.given.series.flatMap(seriesReadings);
    const last = parseDate('2026-10-24')!;
    const ref = nightWorkReference(readings, last, { min_night_kw: 2, min_nights: 3, episode_gap_days: 7 });
    expect(ref).toEqual([{ meter_id: 'night', episode_start: '2026-10-17T00:00:00+08:00' }]);
  });

  it('raises cases through the screening core: family, 存在问题类型 and the sentence from its header', async () => {
    const pipeline = parsePipeline({ detectors_dir: dir });
    const db = await openDb(':memory:', { threads: 1 });
    try {
      await upsertMeters(db, toyCase.given.meters.map((m) => meterSchema.parse({ street: 's', ...m })));
      await new ReadingStore(db).append(toyCase.given.series.flatMap(seriesReadings));
      const r = await screen(db, pipeline, []);
      const toy = r.newCases.filter((c) => c.detector === 'night_work');
      expect(toy).toHaveLength(1);
      expect(toy[0]).toMatchObject({ meter_id: 'night', family: 'workshop', problem_type: '疑似散乱污生产（夜间生产）', summary_zh: '10月17日起夜间持续约 10.0 kW', episode_start: '2026-10-17T00:00:00+08:00' });
    } finally {
      db.close();
    }
  });
});
