/** The feedback loop from the CLI: dismiss a case, re-run quietly, escalate, export labels. */
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const ROOT = join(import.meta.dirname, '..', '..');
const SMALL = join(ROOT, 'fixtures', 'small');
const cli = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin', 'powerscreen.js'), ...args], { encoding: 'utf8', cwd: tmp.dir });
const db = join(tmp.dir, 'fb.duckdb');
const backfill = (readings: string, out: string) => cli('backfill', '--readings', readings, '--meters', join(SMALL, 'meters.csv'), '--sites', join(SMALL, 'sites.csv'), '--db', db, '--cases-out', out);
const cases = (f: string) => readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

describe('powerscreen feedback', () => {
  it('a dismissed lead stays quiet on re-run; an escalated one comes back as a new case', () => {
    expect(backfill(join(SMALL, 'readings.csv'), join(tmp.dir, 'c1.jsonl')).status).toBe(0);
    const [c] = cases(join(tmp.dir, 'c1.jsonl'));
    expect(c.status).toBe('open');
    const fb = cli('feedback', c.case_id, 'dismissed', '--note', '现场为仓库照明，无生产', '--db', db);
    expect(fb.stdout).toBe(`${c.case_id}: open → dismissed (the same episode stays quiet unless its level escalates)\n`);
    expect(fb.status).toBe(0);
    // the same data again: nothing new, the case stays dismissed and off the daily list
    const again = backfill(join(SMALL, 'readings.csv'), join(tmp.dir, 'c2.jsonl'));
    expect(again.stdout).toMatch(/this run: 0 new, 0 updated/);
    expect(cases(join(tmp.dir, 'c2.jsonl')).map((x) => [x.case_id, x.status])).toEqual([[c.case_id, 'dismissed']]);
    expect(cli('report', 'daily', '--db', db, '--date', '2026-10-20').stdout).toContain('本期无新线索');
    // three more days at 40 kW: the level escalates past 1.5 × what was dismissed
    const lines = ['meter_id,ts,kwh'];
    for (let i = 1; i <= 3 * 96; i++) {
      const end = Date.UTC(2026, 9, 21) + i * 900_000;
      const h = new Date(end - 60_000).getUTCHours();
      lines.push(`3501020000901,${new Date(end).toISOString().slice(0, 19)}+08:00,${h >= 8 && h < 18 ? 10 : 0}`);
    }
    writeFileSync(join(tmp.dir, 'more.csv'), lines.join('\n') + '\n');
    const esc = backfill(join(tmp.dir, 'more.csv'), join(tmp.dir, 'c3.jsonl'));
    expect(esc.stdout).toMatch(/this run: 1 new, 0 updated/);
    const after = cases(join(tmp.dir, 'c3.jsonl'));
    const raised = after.find((x) => x.case_id !== c.case_id)!;
    expect(raised).toMatchObject({ status: 'open', detector: 'restored_power', site_case_no: 'GL2026T001' });
    expect(raised.evidence.restored_power.escalates_dismissed_case).toBe(c.case_id);
    // verified cases become labels for eval: confirmed ones as events, dismissed ones as known negatives
    expect(cli('feedback', raised.case_id, 'confirmed', '--db', db).status).toBe(0);
    expect(cli('labels-from-feedback', '--db', db, '--out', join(tmp.dir, 'labels.csv')).stdout).toBe(`2 label(s) written to ${join(tmp.dir, 'labels.csv')} (1 confirmed, 1 dismissed: eval counts precision over these verified cases)\n`);
    const labels = readFileSync(join(tmp.dir, 'labels.csv'), 'utf8').split('\r\n');
    expect(labels[0]).toBe('meter_id,kind,onset,verdict');
    expect(labels).toContain(`3501020000901,restored,${raised.episode_start},confirmed`);
    expect(labels).toContain(`3501020000901,restored,${c.episode_start},dismissed`);
    // eval on the stored database with those labels (no reading files), which stays as it was
    const ev = cli('eval', '--db', db, '--labels', join(tmp.dir, 'labels.csv'), '--json');
    expect(ev.stderr).toBe('');
    const [res] = JSON.parse(ev.stdout);
    expect(res.site).toMatchObject({ labels: 1, found: 1 });
    expect(res.overall.verified_precision).not.toBeNull();
    expect(cases(join(tmp.dir, 'c3.jsonl')).length).toBe(after.length);
    expect(cli('labels-from-feedback', '--db', db, '--out', join(tmp.dir, 'labels2.csv')).stdout).toMatch(/^2 label\(s\)/);
  }, 120_000);

  it('an unknown case or verdict is one clear line', () => {
    expect(cli('feedback', 'PS-nope', 'dismissed', '--db', db).stderr).toMatch(/^powerscreen: case_id: no case PS-nope in /);
    expect(cli('feedback', 'PS-nope', 'maybe', '--db', db).stderr).toMatch(/^powerscreen: verdict: expected confirmed, dismissed or duplicate, got "maybe"/);
  });
});
