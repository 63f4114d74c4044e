/**
 * Incremental judging of a day-grain detector: how its one SQL file is run as two statements.
 *
 * Every day detector decides each complete day from that day's past only (causal), and hands its
 * flagged days to `day_episodes(<flagged>, gap)`. So the flagged days of a day, once judged, never
 * change unless that day's inputs change (late readings, peer rows, registry). The runner keeps them:
 *  1. flags: the file's CTEs up to <flagged>, then `select * from <flagged> where day >= $judge_from_day`;
 *     the file restricts its inputs to what the windows of those days need ($judge_from_day less
 *     its lookback), so a close costs the days since the last close, not the whole history;
 *  2. episodes: the whole file with `day_episodes(<flagged>, …)` reading the stored flags instead,
 *     so an episode begun months ago keeps its start and its first day's evidence.
 * A detector opts in by using $judge_from_day; steps after day_episodes must read only episode
 * columns or unrestricted tables and macros (never a CTE restricted by $judge_from_day).
 * Pure: text in, text out.
 */

export interface IncrementalPlan {
  /** The CTE the file passes to day_episodes. */
  flagsCte: string;
  /** Statement 1: the flagged days from $judge_from_day on. */
  flagsSql: string;
  /** Statement 2: the whole file, its day_episodes reading the relation named `flagsRelation`. */
  episodesSql: string;
}

/** The name statement 2 reads the kept flags under (a temp view the runner creates). */
export const FLAGS_RELATION = 'judged_flags';

const EPISODES_CALL = /day_episodes\(\s*(\w+)\s*,/g;

/**
 * Offsets of the keyword `select` at parenthesis depth 0, outside comments, strings and quoted
 * names: in `with a as (…), b as (…) select …` the last one is the main query.
 */
export function topLevelSelects(sql: string): number[] {
  const found: number[] = [];
  let depth = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      // a doubled quote inside is the quote itself
      while (j < sql.length && !(sql[j] === c && sql[j + 1] !== c)) j += sql[j] === c ? 2 : 1;
      i = j;
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && /[sS]/.test(c) && /^select\b/i.test(sql.slice(i, i + 7)) && !/\w/.test(sql[i - 1] ?? ' ')) found.push(i);
  }
  return found;
}

/** The two statements of an incremental detector, or undefined when the file does not opt in. */
export function planIncremental(sql: string): IncrementalPlan | undefined {
  const body = sql.split('\n').filter((l) => !l.trimStart().startsWith('--')).join('\n');
  if (!/\$judge_from_day\b/.test(body)) return undefined;
  const calls = [...body.matchAll(EPISODES_CALL)];
  if (calls.length !== 1) throw new Error(`uses $judge_from_day, so it must pass its flagged days to day_episodes exactly once (found ${calls.length})`);
  const flagsCte = calls[0]![1]!;
  const selects = topLevelSelects(body);
  if (!/^\s*with\b/i.test(body) || !selects.length) throw new Error('uses $judge_from_day, so it must be one `with … select …` query');
  const main = selects[selects.length - 1]!;
  return {
    flagsCte,
    flagsSql: `${body.slice(0, main)}select * from ${flagsCte} where day >= $judge_from_day`,
    episodesSql: body.replace(EPISODES_CALL, `day_episodes(${FLAGS_RELATION},`),
  };
}
