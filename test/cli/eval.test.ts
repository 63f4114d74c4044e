/** `powerscreen eval` on the small district: the figures, and --compare against a deliberately worse pipeline. */
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeDistrict } from '../../src/fixtures/districtFiles.js';
import { DISTRICT_READING_FILES } from '../../src/fixtures/district.js';
import { smallDistrict } from '../kafka/helpers.js';
import { tempDir } from '../helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const ROOT = join(import.meta.dirname, '..', '..');

describe('powerscreen eval', () => {
  it('reports per family and overall, and --compare shows what a worse parameter set costs', () => {
    writeDistrict(smallDistrict(), tmp.dir);
    const args = ['eval', '--readings', ...DISTRICT_READING_FILES.map((f) => join(tmp.dir, f)), '--meters', join(tmp.dir, 'meters.csv'), '--sites', join(tmp.dir, 'sites.csv'), '--labels', join(tmp.dir, 'labels.csv')];
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'powerscreen.js'), ...args, '--pipeline', join(ROOT, 'pipelines', 'demo.json'), '--compare', join(ROOT, 'pipelines', 'loose.json'), '--json'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [demo, loose] = JSON.parse(r.stdout);
    expect(demo.site.recall).toBeGreaterThanOrEqual(0.95);
    expect(demo.workshop.recall).toBeGreaterThanOrEqual(0.85);
    expect(demo.overall.precision).toBeGreaterThanOrEqual(0.85);
    expect(demo.daily.k).toBe(20);
    expect(demo.overall.median_delay_h).toBeGreaterThan(0);
    // every found label named, with the detector that raised it first and its delay
    expect(demo.overall.found_labels).toHaveLength(demo.overall.found);
    expect(demo.overall.found_labels.every((l: { detector: string; delay_h: number }) => l.detector && l.delay_h >= -24)).toBe(true);
    // the loose set raises false cases the demo set does not
    expect(loose.overall.cases).toBeGreaterThan(demo.overall.cases);
    expect(loose.overall.precision).toBeLessThan(demo.overall.precision);
    expect(loose.overall.false_cases.length).toBeGreaterThan(0);
    const text = spawnSync(process.execPath, [join(ROOT, 'bin', 'powerscreen.js'), ...args, '--compare', join(ROOT, 'pipelines', 'loose.json')], { encoding: 'utf8' });
    expect(text.stdout).toMatch(/restored\/resumed\s+\d+\s+\d+\s+\d+/);
    expect(text.stdout).toMatch(/slowest found labels \(5 of \d+\):\n {4}\S+ +(workshop|restored) +onset \S+ +raised \S+ +[\d.]+ h after +[a-z_]+ +PS-/);
    expect(text.stdout).toMatch(/pipelines\/loose\.json vs \(defaults\): overall recall [+-][\d.]+ pt, precision -[\d.]+ pt/);
  }, 120_000);

  it('a bad labels file names the row and field', () => {
    const bad = join(tmp.dir, 'bad-labels.csv');
    writeFileSync(bad, 'meter_id,kind,onset\nm1,workshop,2026-10-01\nm2,burglary,2026-10-01\n');
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'powerscreen.js'), 'eval', '--readings', join(tmp.dir, 'readings-daily.csv'), '--labels', bad], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad-labels\.csv: row 3: kind: expected restored or workshop, got "burglary"/);
  });
});
