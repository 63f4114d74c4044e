/**
 * `powerscreen explain` writes a chart a person can open without network: rendered here in
 * headless Chromium (Debian's chromium) for a restored site, a workshop and a quiet meter.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeDistrict } from '../../src/fixtures/districtFiles.js';
import { DISTRICT_READING_FILES, type District } from '../../src/fixtures/district.js';
import { smallDistrict } from '../kafka/helpers.js';
import { tempDir } from '../helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!CHROMIUM && process.env.CI) throw new Error('headless Chromium missing: .ci/run installs Debian\'s chromium package');
const tmp = tempDir();
afterAll(() => tmp.cleanup());
const cli = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin', 'powerscreen.js'), ...args], { encoding: 'utf8' });
const chromium = (...args: string[]) => spawnSync(CHROMIUM!, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${join(tmp.dir, 'chrome')}`, ...args], { encoding: 'utf8', timeout: 60_000 });

let district: District;
const db = join(tmp.dir, 'explain.duckdb');
const meterOf = (cohort: string) => district.truth.find((t) => t.cohort === cohort && t.feed === 'wide')!;

describe.skipIf(!CHROMIUM)('explain, rendered in headless Chromium', () => {
  beforeAll(() => {
    district = smallDistrict();
    writeDistrict(district, join(tmp.dir, 'data'));
    const r = cli('backfill', '--readings', ...DISTRICT_READING_FILES.map((f) => join(tmp.dir, 'data', f)), '--meters', join(tmp.dir, 'data', 'meters.csv'), '--sites', join(tmp.dir, 'data', 'sites.csv'), '--db', db);
    expect(r.status, r.stderr).toBe(0);
  }, 120_000);

  it.each([
    ['cut_restored', { cases: 1, changePoint: 'up', enforcement: true }],
    ['flat_workshop', { cases: 1, changePoint: 'up', enforcement: false }],
    ['flat', { cases: 0, changePoint: null, enforcement: false }],
  ] as const)('%s: the page shows the series, the change point, enforcement and cases', (cohort, want) => {
    const t = meterOf(cohort);
    const html = join(tmp.dir, `${cohort}.html`);
    const r = cli('explain', t.meter_id, '--db', db, '--out', html);
    expect(r.status, r.stderr).toBe(0);
    const dom = chromium('--dump-dom', `file://${html}`).stdout;
    const points = /class="daily-series"[^>]*points="([^"]+)"/.exec(dom)?.[1]?.trim().split(/\s+/) ?? [];
    expect(points.length).toBeGreaterThan(50);
    expect(dom).toContain('class="recent-series"');
    expect(dom).toContain('class="baseline-band"');
    const labels = [...dom.matchAll(/class="change-point-label"[^>]*>([^<]+)</g)].map((m) => m[1]!);
    if (want.changePoint) {
      expect(labels.some((l) => l.startsWith(want.changePoint === 'up' ? '▲' : '▼'))).toBe(true);
      if (t.onset) {
        // the change point sits within 3 days of the true onset
        const json = JSON.parse(cli('explain', t.meter_id, '--db', db, '--json').stdout);
        const ups = json.change_points.filter((c: { direction: string }) => c.direction === 'up').map((c: { day: string }) => Date.parse(c.day));
        expect(Math.min(...ups.map((d: number) => Math.abs(d - Date.parse(t.onset.slice(0, 10)))))).toBeLessThanOrEqual(3 * 86_400_000);
      }
    } else expect(labels).toEqual([]);
    expect((dom.match(/class="case-marker"/g) ?? []).length).toBe(want.cases);
    expect(dom.includes('class="enforcement"')).toBe(want.enforcement);
    const png = join(tmp.dir, `${cohort}.png`);
    chromium('--window-size=1040,900', `--screenshot=${png}`, `file://${html}`);
    expect(statSync(png).size).toBeGreaterThan(20_000);
  }, 120_000);

  it('the .svg form is well-formed XML (Chromium would show a parse error page otherwise)', () => {
    const svg = join(tmp.dir, 'w.svg');
    expect(cli('explain', meterOf('flat_workshop').meter_id, '--db', db, '--out', svg).status).toBe(0);
    const dom = chromium('--dump-dom', `file://${svg}`).stdout;
    expect(dom).not.toMatch(/error on line/i);
    expect(dom).toContain('daily-series');
    expect(readFileSync(svg, 'utf8')).not.toMatch(/https?:\/\/(?!www\.w3\.org)/); // nothing fetched at view time
  }, 60_000);
});
