/** The CLI as a user runs it: the real binary, golden outputs over fixtures/small, one-line errors. */
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const ROOT = join(import.meta.dirname, '..', '..');
const SMALL = join(ROOT, 'fixtures', 'small');
const GOLDEN = join(import.meta.dirname, 'golden');

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'powerscreen.js'), ...args], { encoding: 'utf8', cwd: tmp.dir, env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Compare with a golden file; UPDATE_GOLDEN=1 writes it (review the diff before committing). A missing golden file fails. */
function golden(name: string, actual: string) {
  const p = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN) writeFileSync(p, actual);
  expect(existsSync(p), `golden file ${p} is missing: run with UPDATE_GOLDEN=1 and review it`).toBe(true);
  expect(actual).toBe(readFileSync(p, 'utf8'));
}

const small = (db: string) => ['backfill', '--readings', join(SMALL, 'readings.csv'), '--meters', join(SMALL, 'meters.csv'), '--sites', join(SMALL, 'sites.csv'), '--db', db];

describe('powerscreen CLI', () => {
  const db = join(tmp.dir, 'small.duckdb');

  it('backfill prints a summary that accounts for every reading', () => {
    const r = cli([...small(db), '--cases-out', join(tmp.dir, 'cases.jsonl')], { POWERSCREEN_LOG_LEVEL: 'debug' });
    expect(r.err.split('\n').filter((l) => l && !l.startsWith('{')).join('\n')).toBe('');
    expect(r.code).toBe(0);
    const n = (label: string) => Number(new RegExp(`${label}\\s+([\\d,]+)`).exec(r.out)![1]!.replace(/,/g, ''));
    expect(n('readings read')).toBe(14_403);
    expect(n('accepted')).toBe(14_400);
    expect(n('rejected')).toBe(2);
    expect(n('duplicate')).toBe(1);
    expect(r.out).toMatch(/restored_power 1/);
    // logs are JSON on stderr and never carry names or addresses
    expect(r.err).toMatch(/"msg":"file ingested"/);
    for (const secret of ['测试五金作坊', '测试路', '陈测试']) expect(r.err).not.toContain(secret);
    const cases = readFileSync(join(tmp.dir, 'cases.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(cases).toHaveLength(1);
    expect(cases[0]).toMatchObject({ detector: 'restored_power', site_case_no: 'GL2026T001', clue_source: '电力数据筛查', detected_at: '2026-10-20T09:00:00+08:00' });
    expect(statSync(join(tmp.dir, 'cases.jsonl')).mode & 0o777).toBe(0o600);
  });

  it('report daily: CSV with BOM in the 排查明细表 columns, Markdown and HTML (golden)', () => {
    const csv = cli(['report', 'daily', '--db', db, '--date', '2026-10-20', '--format', 'csv']);
    expect(csv.code).toBe(0);
    // 附件1: the title and 填报单位/填报日期 lines, then its columns (社区/网格 added after 街道)
    const lines = csv.out.split(/\r?\n/);
    expect(lines[0]).toBe('\uFEFF散乱污企业（场所）排查明细表 — 电力数据筛查 2026-10-20');
    expect(lines[1]).toMatch(/^填报单位：.+,填报日期：2026-10-20$/);
    expect(lines[2]).toBe('序号,报送日期,街道（镇）、管委会,社区/网格,案件编号,企业名称,企业详细地址,线索来源,存在问题类型,主办单位,配套办法,整治措施,整改情况,中督件（是/否）,备注,评分,用电证据');
    golden('report-daily-2026-10-20.csv', csv.out);
    golden('report-daily-2026-10-20.md', cli(['report', 'daily', '--db', db, '--date', '2026-10-20']).out);
    const html = cli(['report', 'daily', '--db', db, '--date', '2026-10-20', '--format', 'html', '--out', join(tmp.dir, 'l.html')]);
    expect(html.out).toBe(`1 case(s) for 2026-10-20 written to ${join(tmp.dir, 'l.html')}\n`);
    expect(statSync(join(tmp.dir, 'l.html')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(tmp.dir, 'l.html'), 'utf8')).toContain('反弹案件编号 GL2026T001');
    expect(cli(['report', 'daily', '--db', db, '--date', '2026-10-19']).out).toContain('本期无新线索');
    // a typo'd street or a date the data does not reach is an error, never an empty list (issue 10, item 6)
    const typo = cli(['report', 'daily', '--db', db, '--date', '2026-10-20', '--street', '鼓东']);
    expect(typo.code).toBe(1);
    expect(typo.err).toMatch(/^powerscreen: --street: unknown street "鼓东"; known streets: .*鼓东街道/);
    const late = cli(['report', 'daily', '--db', db, '--date', '2031-01-01']);
    expect(late.code).toBe(1);
    expect(late.err).toMatch(/^powerscreen: --date: 2031-01-01…2031-01-01 is outside the data \(\d{4}-\d{2}-\d{2} … \d{4}-\d{2}-\d{2}, last reading /);
  });

  it.each([
    ['a missing file', (d: string) => ['backfill', '--readings', 'nope.csv', '--db', d], /^powerscreen: nope\.csv: readings file not found\n$/],
    ['an unknown column', (d: string) => ['backfill', '--readings', join(SMALL, 'meters.csv'), '--db', d], /^powerscreen: .*meters\.csv: unknown column "account_name"/],
    ['a wrong type in the pipeline', (d: string) => ['backfill', '--readings', join(SMALL, 'readings.csv'), '--db', d, '--pipeline', join(tmp.dir, 'bad-pipeline.json')], /^powerscreen: .*bad-pipeline\.json: detectors\.step_up\.ratio: .*expected number/],
    ['a bad category in the meter registry', (d: string) => ['backfill', '--readings', join(SMALL, 'readings.csv'), '--db', d, '--meters', join(tmp.dir, 'bad-meters.csv')], /^powerscreen: .*bad-meters\.csv: row 3: category: expected resident\|commercial/],
    ['a bad report date', (d: string) => ['report', 'daily', '--db', d, '--date', '20-10-2026'], /^powerscreen: --date: expected YYYY-MM-DD/],
  ])('fails on %s with one line naming it, exit 1', (_what, args, message) => {
    writeFileSync(join(tmp.dir, 'bad-pipeline.json'), JSON.stringify({ detectors: { step_up: { ratio: 'high' } } }));
    writeFileSync(join(tmp.dir, 'bad-meters.csv'), 'meter_id,category\nm1,居民\nm2,factory\n');
    const r = cli(args(join(tmp.dir, `err-${Math.random().toString(36).slice(2)}.duckdb`)));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  it('usage errors exit 2; --help exits 0', () => {
    expect(cli(['backfill']).code).toBe(2);
    expect(cli(['--help']).code).toBe(0);
  });
});

describe('read commands and a mistyped --db (issue 11, item 8)', () => {
  it('fail with one line and create no database', () => {
    const typo = join(tmp.dir, 'no-such.duckdb');
    const r = cli(['report', 'daily', '--db', typo]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^powerscreen: .*no-such\.duckdb: no such database/);
    expect(existsSync(typo)).toBe(false);
  });
});

describe('sql-test: an analyst runs the given/expect cases against a detector folder', () => {
  const CASES = join(ROOT, 'test', 'sql', 'cases');
  const cases = ['step_up_fast_path', 'daily_capacity_continuous_process'].map((n) => join(CASES, `${n}.json`));

  it('prints one line a case and holds on the shipped SQL (golden); a shipped case may be named without its path', () => {
    const r = cli(['sql-test', cases[0]!, 'daily_capacity_continuous_process']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    golden('sql-test.txt', r.out.replaceAll(ROOT, '<root>'));
  });

  it("fails, saying what was expected and what came, on a folder whose step_up asks more of a jump", () => {
    // an analyst's variant: the fast path at nine times the own level loses the Friday-Monday workshop
    const variant = join(tmp.dir, 'variant');
    cpSync(join(ROOT, 'sql', 'detectors'), variant, { recursive: true });
    const file = join(variant, 'step_up.sql');
    writeFileSync(file, readFileSync(file, 'utf8').replace('-- param: jump_ratio double = 5 ', '-- param: jump_ratio double = 9 '));
    const r = cli(['sql-test', '--once', '--detectors-dir', variant, ...cases]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAIL  step_up              step_up_fast_path');
    expect(r.out).toContain('expected {"meter_id":"w2","episode_start_ms":"2026-10-09","detected_at_ms":"2026-10-13"}');
    expect(r.out).toContain('ok    daily_capacity       daily_capacity_continuous_process');
    expect(r.out).toContain(`2 case(s) against ${variant}: 1 held, 1 failed`);
    expect(r.err).toBe('powerscreen: 1 of 2 case(s) failed\n');
  });

  it("applies a pipeline's tuned parameters under each case's own", () => {
    const tuned = join(tmp.dir, 'tuned.json');
    writeFileSync(tuned, JSON.stringify({ name: 'tuned', detectors: { step_up: { jump_ratio: 9 } } }));
    const r = cli(['sql-test', '--once', '--pipeline', tuned, cases[0]!]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAIL  step_up              step_up_fast_path');
    // a case's own params stand over the pipeline's: the case that holds jump_ratio itself still holds
    const own = join(tmp.dir, 'own-case.json');
    const c = JSON.parse(readFileSync(cases[0]!, 'utf8'));
    writeFileSync(own, JSON.stringify({ ...c, params: { ...c.params, jump_ratio: 5 } }));
    expect(cli(['sql-test', '--once', '--pipeline', tuned, own]).code).toBe(0);
  });

  it('names the file and the field of a case it cannot read', () => {
    const bad = join(tmp.dir, 'bad-case.json');
    writeFileSync(bad, JSON.stringify({ detector: 'step_up', given: { series: [] }, expect: [] }));
    const r = cli(['sql-test', bad]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`powerscreen: ${bad}: description: Invalid input: expected string, received undefined\n`);
    expect(cli(['sql-test', '--detector', 'nothing_such', ...cases]).err).toBe('powerscreen: no case of detector nothing_such among 2 case(s)\n');
    expect(cli(['sql-test', 'no_such_case']).err).toBe('powerscreen: no_such_case: no such case file, folder or shipped case\n');
    // a misspelt parameter would otherwise test the default
    const typo = join(tmp.dir, 'typo-case.json');
    writeFileSync(typo, JSON.stringify({ ...JSON.parse(readFileSync(cases[0]!, 'utf8')), params: { jump_ratoi: 4 } }));
    expect(cli(['sql-test', '--once', typo]).err).toBe(`powerscreen: ${typo}: the case's params: detectors.step_up.jump_ratoi: unknown parameter of step_up (did you mean jump_ratio?)\n`);
  });
});
