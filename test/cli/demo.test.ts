/**
 * `powerscreen demo` on another spec and with every meter on a daily feed: what an analyst runs to
 * tune the daily-feed detectors on the shape library without writing TypeScript.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const ROOT = join(import.meta.dirname, '..', '..');
const demo = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin', 'powerscreen.js'), 'demo', ...args], { encoding: 'utf8' });
const csvRows = (file: string) => readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));

describe('powerscreen demo --spec --daily-feeds', () => {
  it('generates the spec given, delivers every interval meter as daily values, backfills and scores them', () => {
    const out = join(tmp.dir, 'daily');
    const r = demo('--spec', join(ROOT, 'fixtures', 'district-small.json'), '--daily-feeds', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/against the generator's ground truth \(\d+ labelled events\)/);
    const data = join(out, 'data');
    // the 15-minute files are empty: their readings were summed per day into the daily file
    expect(readFileSync(join(data, 'readings-wide.csv'), 'utf8').trim().split('\n')).toHaveLength(1);
    expect(readFileSync(join(data, 'readings-late.jsonl'), 'utf8')).toBe('');
    const daily = csvRows(join(data, 'readings-daily.csv'));
    expect(new Set(daily.map((c) => c[3]))).toEqual(new Set(['1440']));
    const registerMeters = new Set(csvRows(join(data, 'readings-register.csv')).map((c) => c[0]));
    const dailyMeters = new Set(daily.map((c) => c[0]));
    const meters = csvRows(join(data, 'meters.csv')).map((c) => c[0]!);
    // every meter with readings is now read daily (register-read ones keep their register)
    expect(meters.filter((m) => !dailyMeters.has(m) && !registerMeters.has(m))).toEqual([]);
    // a value a day for each of them (a day missing readings is left out, as a daily export would)
    const days = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'district-small.json'), 'utf8')).days as number;
    const expected = (meters.length - registerMeters.size) * days;
    expect(daily.length).toBeLessThanOrEqual(expected);
    expect(daily.length).toBeGreaterThan(0.9 * expected);
    // and the backfill read them all
    const read = Number(/readings read\s+([\d,]+)/.exec(r.stdout)![1]!.replace(/,/g, ''));
    expect(read).toBeGreaterThanOrEqual(daily.length + csvRows(join(data, 'readings-register.csv')).length);
  }, 120_000);

  it('names the spec file and the field when the spec is wrong', () => {
    const missing = demo('--spec', join(tmp.dir, 'nope.json'), '--out', join(tmp.dir, 'x'));
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('nope.json');
    const spec = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'district-small.json'), 'utf8'));
    writeFileSync(join(tmp.dir, 'short.json'), JSON.stringify({ ...spec, days: 10 }));
    const short = demo('--spec', join(tmp.dir, 'short.json'), '--out', join(tmp.dir, 'y'));
    expect(short.status).not.toBe(0);
    expect(short.stderr).toMatch(/short\.json: days: .*40/);
  });
});
