/**
 * The batch path end to end on the bundled synthetic district: stable case ids across re-runs and
 * across a run split in two halves, nothing lost, owner-only files, the README's accuracy figures.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb } from '../../src/store/db.js';
import { backfill } from '../../src/pipeline/backfill.js';
import { loadPipeline } from '../../src/config/pipeline.js';
import { JsonlRejectSink } from '../../src/sinks/rejects.js';
import { SnapshotCaseSink } from '../../src/sinks/caseSink.js';
import { loadCases } from '../../src/store/caseStore.js';
import { loadDistrict, writeDistrict } from '../../src/fixtures/districtFiles.js';
import { DEMO_PIPELINE } from '../../src/paths.js';
import { DISTRICT_READING_FILES, type District } from '../../src/fixtures/district.js';
import { scoreFamily, type Label } from '../../src/core/eval.js';
import { parseLocalMs } from '../../src/time.js';
import { tempDir } from '../helpers.js';

const pipeline = loadPipeline(DEMO_PIPELINE);
let district: District;
let tmp: ReturnType<typeof tempDir>;
let data: string;

async function run(dbPath: string, files: string[], tag: string) {
  const db = await openDb(dbPath, { threads: 2 });
  try {
    const summary = await backfill({
      readings: files, meters: join(data, 'meters.csv'), sites: join(data, 'sites.csv'), db, pipeline,
      rejects: new JsonlRejectSink(join(tmp.dir, `rejects-${tag}.jsonl`)),
      sinks: [new SnapshotCaseSink(join(tmp.dir, `cases-${tag}.jsonl`), await loadCases(db))],
    });
    const stored = Number((await db.con.runAndReadAll(`select count(*) n from readings`)).getRowObjectsJS()[0]!.n);
    return { summary, cases: await loadCases(db), stored };
  } finally {
    db.close();
  }
}

/** Split every reading file at a local time: rows before go to part 1, the rest to part 2. */
function splitAt(cut: string): [string[], string[]] {
  const cutMs = parseLocalMs(cut)!;
  const parts: [string[], string[]] = [[], []];
  for (const f of DISTRICT_READING_FILES) {
    const lines = readFileSync(join(data, f), 'utf8').split(/\r?\n/).filter((l) => l.length);
    const isCsv = f.endsWith('.csv');
    const header = isCsv ? [lines.shift()!] : [];
    const a: string[] = [], b: string[] = [];
    for (const l of lines) {
      let t: number | undefined;
      if (f === 'readings-wide.csv') t = parseLocalMs(l.split(',')[1] + 'T00:00:01');
      else if (isCsv) t = parseLocalMs(l.split(',')[1]!);
      else {
        try { t = parseLocalMs(String(JSON.parse(l).ts)); } catch { t = undefined; }
      }
      (t !== undefined && t < cutMs ? a : b).push(l);
    }
    for (const [i, rows] of [a, b].entries()) {
      const p = join(tmp.dir, `half${i + 1}-${f}`);
      writeFileSync(p, [...header, ...rows].join('\n') + '\n');
      parts[i as 0 | 1].push(p);
    }
  }
  return parts;
}

describe('backfill on the bundled district', () => {
  let first: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    tmp = tempDir();
    data = join(tmp.dir, 'data');
    district = loadDistrict();
    writeDistrict(district, data);
    first = await run(join(tmp.dir, 'a.duckdb'), DISTRICT_READING_FILES.map((f) => join(data, f)), 'a');
  });
  afterAll(() => tmp.cleanup());

  it('loses nothing: read = accepted + rejected + duplicate, every reject written with its reason', () => {
    const s = first.summary;
    expect(s.read).toBe(s.accepted + s.rejected + s.duplicate);
    expect(s.read).toBe(district.stats.points + district.stats.duplicates + district.stats.invalid);
    expect(s.duplicate).toBe(district.stats.duplicates);
    expect(first.stored).toBe(s.accepted - s.register_base);
    const rejects = readFileSync(join(tmp.dir, 'rejects-a.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rejects.length).toBe(s.rejected);
    expect(rejects.filter((r) => r.source.endsWith('readings-late.jsonl')).length).toBe(district.stats.invalid);
    for (const r of rejects) expect(r.reason).toMatch(/^[a-z_]+: |^record: /);
    // the generator replaces two register meters mid-period and rolls one over at 100000:
    // the replacements leave one unknown interval each, the roll-over is consumption
    const registerRejects = rejects.filter((r) => r.source.endsWith('readings-register.csv'));
    expect(registerRejects.length).toBe(2);
    for (const r of registerRejects) expect(r.reason).toMatch(/meter replaced or reset/);
  });

  it('meets the README figures against the ground truth', () => {
    const labels: Label[] = district.truth.filter((t) => t.kind).map((t) => ({ meter_id: t.meter_id, kind: t.kind as Label['kind'], onset_ms: parseLocalMs(t.onset)! }));
    const site = scoreFamily(first.cases, labels, 'site');
    const work = scoreFamily(first.cases, labels, 'workshop');
    expect(site.recall).toBeGreaterThanOrEqual(0.95);
    expect(site.median_delay_h!).toBeLessThanOrEqual(6);
    expect(work.recall).toBeGreaterThanOrEqual(0.85);
    expect(work.precision).toBeGreaterThanOrEqual(0.85);
    const cohortOf = new Map(district.truth.map((t) => [t.meter_id, t.cohort]));
    const on = (...cohorts: string[]) => first.cases.filter((c) => cohorts.includes(cohortOf.get(c.meter_id)!));
    expect(on('cut_dark', 'cut_trickle').length).toBeLessThanOrEqual(1);
    // (flat_heavy: a big family's heavy days are no seven-day plant's, sustained_draw's base test)
    expect(on('flat_vacation', 'flat_heavy', 'shop_holiday', 'industrial', 'industrial_ramp', 'halt_standby', 'accepted_resumed')).toEqual([]);
  });

  it('re-running the same data adds no case and changes no id', async () => {
    const again = await run(join(tmp.dir, 'a.duckdb'), DISTRICT_READING_FILES.map((f) => join(data, f)), 'a2');
    expect(again.summary.new_cases).toBe(0);
    expect(again.summary.updated_cases).toBe(0);
    expect(again.summary.accepted - again.summary.register_base).toBe(0);
    expect(again.cases.map((c) => c.case_id)).toEqual(first.cases.map((c) => c.case_id));
  });

  it('the same data in two halves gives the same case ids', async () => {
    const [h1, h2] = splitAt('2026-11-05T13:37:00');
    const dbPath = join(tmp.dir, 'halves.duckdb');
    const one = await run(dbPath, h1, 'h1');
    expect(one.cases.length).toBeGreaterThan(0);
    const two = await run(dbPath, h2, 'h2');
    const ids = (cs: typeof first.cases) => cs.map((c) => `${c.case_id} ${c.detected_at}`).sort();
    expect(ids(two.cases)).toEqual(ids(first.cases));
    expect(one.stored).toBeLessThan(first.stored);
    expect(two.stored).toBe(first.stored);
  });

  it('case and reject files are readable by their owner only', () => {
    for (const f of ['cases-a.jsonl', 'rejects-a.jsonl']) expect(statSync(join(tmp.dir, f)).mode & 0o777).toBe(0o600);
    for (const f of ['meters.csv', 'sites.csv']) expect(statSync(join(data, f)).mode & 0o777).toBe(0o600);
  });

  it('every case carries the brief fields, and a restored-power case its site case number', () => {
    expect(first.cases.length).toBeGreaterThan(10);
    for (const c of first.cases) {
      expect(c.clue_source).toBe('电力数据筛查');
      expect(c.score).toBeGreaterThan(0);
      expect(c.score).toBeLessThanOrEqual(1);
      expect(c.summary_zh.length).toBeGreaterThan(10);
      expect(c.account_name).not.toBe('');
      expect(c.street).not.toBe('');
      if (c.detector === 'restored_power') expect(c.site_case_no).toMatch(/^GL2026/);
    }
  });
});

describe('backfill of a file that does not say its interval (issue 11, item 7)', () => {
  it('daily totals are stored as days, not as quarter hours; sparse 15-minute readings stay 15-minute', async () => {
    const dir = tempDir();
    try {
      const daily = join(dir.dir, 'daily.csv');
      writeFileSync(daily, ['meter_id,ts,kwh', ...Array.from({ length: 30 }, (_, i) => [`m1,2026-10-${String(i + 1).padStart(2, '0')}T00:00:00+08:00,42`, `m2,2026-10-${String(i + 1).padStart(2, '0')}T00:00:00+08:00,8`]).flat()].join('\n') + '\n');
      const db = await openDb(join(dir.dir, 'd.duckdb'));
      const s = await backfill({ readings: [daily], db, pipeline, rejects: new JsonlRejectSink(join(dir.dir, 'r.jsonl')), sinks: [] });
      expect(s.notes).toEqual([expect.stringContaining('read as daily totals (1440 min), not 15-minute values')]);
      const r = (await db.con.runAndReadAll(`select min(interval_min) lo, max(interval_min) hi, count(*) n from readings`)).getRowObjectsJS()[0]!;
      expect(r).toEqual({ lo: 1440, hi: 1440, n: 60n });
      // sparse 15-minute readings (a file of late corrections) stay 15-minute readings
      const sparse = join(dir.dir, 'sparse.csv');
      writeFileSync(sparse, ['meter_id,ts,kwh', ...Array.from({ length: 30 }, (_, i) => `m3,${new Date(Date.UTC(2026, 10, 1) + i * 4 * 3600_000 + 15 * 60_000).toISOString().slice(0, 19)}+08:00,3`)].join('\n') + '\n');
      const s2 = await backfill({ readings: [sparse], db, pipeline, rejects: new JsonlRejectSink(join(dir.dir, 'r2.jsonl')), sinks: [] });
      expect(s2.notes).toEqual([]);
      expect((await db.con.runAndReadAll(`select distinct interval_min from readings where meter_id = 'm3'`)).getRowObjectsJS()).toEqual([{ interval_min: 15 }]);
      db.close();
    } finally {
      dir.cleanup();
    }
  });
});
