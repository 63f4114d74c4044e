import { describe, it, expect } from 'vitest';
import { FLAGS_RELATION, cteBody, planIncremental, topLevelSelects } from '../../src/core/incremental.js';
import { judgeFromMs } from '../../src/store/judgeState.js';
import { loadRegistry } from '../../src/config/detectorRegistry.js';
import { DAY_MS } from '../../src/time.js';

const SQL = `-- detector: x
-- a comment with select in it ('select')
with a as (select 1 as day),
b as (
  select * from a where 'it''s (select' <> ')' -- select
),
flagged as (select *, day as episode_clock from b where day >= $judge_from_day)
select * from day_episodes(flagged, $gap)`;

describe('incremental plan of a detector file', () => {
  it('finds the main select past comments, strings and nested queries', () => {
    const body = SQL.split('\n').filter((l) => !l.startsWith('--')).join('\n');
    const tops = topLevelSelects(body);
    expect(tops).toHaveLength(1);
    expect(body.slice(tops[0]!)).toMatch(/^select \* from day_episodes/);
  });

  it('splits into the flags statement and the episodes statement', () => {
    const p = planIncremental(SQL)!;
    expect(p.keptCte).toBe('flagged');
    expect(p.flagsSql).toMatch(/\),\s*flagged as \(.*\)\s*select \* from flagged where day >= \$judge_from_day$/s);
    expect(p.flagsSql).not.toContain('day_episodes');
    expect(p.episodesSql).toContain(`day_episodes(${FLAGS_RELATION}, $gap)`);
  });

  it('keeps an earlier step when the header says so: statement 2 reads the kept rows in its place', () => {
    const sql = `-- keep: per_day
with per_day as (select meter_id, day, count(*) as n from x where day >= $judge_from_day - 1 group by all),
windowed as (select *, sum(n) over (partition by meter_id order by day rows 6 preceding) as n7 from per_day),
flagged as (select *, day as episode_clock from windowed where n7 > 3)
select * from day_episodes(flagged, 7)`;
    const p = planIncremental(sql)!;
    expect(p.keptCte).toBe('per_day');
    expect(p.flagsSql).toMatch(/select \* from per_day where day >= \$judge_from_day$/);
    expect(p.episodesSql).toMatch(/^with per_day as \(\s*select \* from judged_flags\s*\),\s*windowed as/);
    expect(p.episodesSql).not.toContain('from x');
    expect(p.episodesSql).toContain('day_episodes(flagged, 7)');
    expect(() => planIncremental(sql.replace('-- keep: per_day', '-- keep: nothing'))).toThrow(/keep: nothing" names no step/);
    const late = sql.replace('-- keep: per_day', '-- keep: flagged').replace('flagged as (select *, day as episode_clock from windowed where n7 > 3)', 'flagged as (select *, day as episode_clock from windowed where n7 > 3), later as (select 1)').replace('-- keep: flagged', '-- keep: later');
    expect(() => planIncremental(late)).toThrow(/must come before flagged/);
  });

  it('finds a step\'s body past nested parentheses, strings and comments', () => {
    const sql = "with a as (select '(' as x, (1 + 2) as y -- )\n), b as (select 1)";
    const at = cteBody(sql, 'a')!;
    expect(sql.slice(at.start, at.end)).toBe("select '(' as x, (1 + 2) as y -- )\n");
    expect(sql.slice(cteBody(sql, 'b')!.start, cteBody(sql, 'b')!.end)).toBe('select 1');
    expect(cteBody(sql, 'c')).toBeUndefined();
  });

  it('a file without $judge_from_day runs whole; one that uses it must call day_episodes once', () => {
    expect(planIncremental('with a as (select 1) select * from day_episodes(a, 7)')).toBeUndefined();
    expect(() => planIncremental('with a as (select $judge_from_day as day) select * from a')).toThrow(/day_episodes exactly once/);
  });

  it('a step may not take the name the kept flags are read under', () => {
    expect(() => planIncremental(SQL.replace(/\bb\b/g, FLAGS_RELATION))).toThrow(/names a step judged_flags/);
  });

  it('every day detector of the registry judges incrementally; site detectors do not', () => {
    for (const d of loadRegistry().detectors) expect(Boolean(d.incremental), d.name).toBe(d.runs === 'day');
  });
});

describe('the first day a run judges', () => {
  const t = 100 * DAY_MS;
  it('everything when the flags were made by other SQL or parameters, or never', () => {
    expect(judgeFromMs(undefined, 'f', t)).toBe(0);
    expect(judgeFromMs({ fingerprint: 'g', judgedThroughMs: t - DAY_MS, dirtyFromMs: undefined }, 'f', t)).toBe(0);
  });
  it('the day after the last judged one, or the earliest day whose inputs changed', () => {
    expect(judgeFromMs({ fingerprint: 'f', judgedThroughMs: t - DAY_MS, dirtyFromMs: undefined }, 'f', t)).toBe(t);
    expect(judgeFromMs({ fingerprint: 'f', judgedThroughMs: t - DAY_MS, dirtyFromMs: t - 5 * DAY_MS }, 'f', t)).toBe(t - 5 * DAY_MS);
    // a run through an earlier day than judged drops the later flags
    expect(judgeFromMs({ fingerprint: 'f', judgedThroughMs: t + 3 * DAY_MS, dirtyFromMs: undefined }, 'f', t)).toBe(t + DAY_MS);
  });
});
