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
 *     so an episode begun months ago keeps its start, and its latest flagged day (the evidence
 *     the profile detectors report) is read from the kept rows too.
 * A detector opts in by using $judge_from_day; steps after day_episodes must read only episode
 * columns or unrestricted tables and macros (never a CTE restricted by $judge_from_day).
 *
 * A file may keep an earlier step instead (`-- keep: <cte>`, one row per meter and day): when a
 * trailing window over days sits between the expensive per-day step and the flags (a confirm
 * window of 7 days), keeping the per-day rows means a close computes one new day of that step, not
 * the whole window again. Statement 2 then reads the kept rows in place of that CTE's body, so the
 * steps between it and day_episodes must read only it and unrestricted relations.
 * Pure: text in, text out.
 */

export interface IncrementalPlan {
  /** The CTE whose rows are kept per judged day: the `-- keep:` header, else the one passed to day_episodes. */
  keptCte: string;
  /** Statement 1: the kept CTE's rows from $judge_from_day on. */
  flagsSql: string;
  /** Statement 2: the whole file, the kept CTE reading the relation named FLAGS_RELATION. */
  episodesSql: string;
}

/** The name statement 2 reads the kept flags under (a temp view the runner creates). */
export const FLAGS_RELATION = 'judged_flags';

const EPISODES_CALL = /day_episodes\(\s*(\w+)\s*,/g;

/** Each character of SQL code with its offset: comments and the insides of strings and quoted names are skipped. */
function* codeChars(sql: string, from = 0): Generator<[number, string]> {
  for (let i = from; i < sql.length; i++) {
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
    } else yield [i, c];
  }
}

/**
 * Offsets of the keyword `select` at parenthesis depth 0, outside comments, strings and quoted
 * names: in `with a as (…), b as (…) select …` the last one is the main query.
 */
export function topLevelSelects(sql: string): number[] {
  const found: number[] = [];
  let depth = 0;
  for (const [i, c] of codeChars(sql)) {
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && /[sS]/.test(c) && /^select\b/i.test(sql.slice(i, i + 7)) && !/\w/.test(sql[i - 1] ?? ' ')) found.push(i);
  }
  return found;
}

/**
 * The offsets of a CTE's body in `with … name as (body), …`: from after its opening parenthesis to
 * its closing one. Undefined when absent.
 */
export function cteBody(sql: string, name: string): { start: number; end: number } | undefined {
  const m = new RegExp(`(?:\\bwith|,)\\s*${name}\\s+as\\s*\\(`, 'i').exec(sql);
  if (!m) return undefined;
  const start = m.index + m[0].length;
  let depth = 1;
  for (const [i, c] of codeChars(sql, start)) {
    if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return { start, end: i };
  }
  return undefined;
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
  // statement 2 reads the kept rows under that name: a step of the same name would hide them
  if (cteBody(body, FLAGS_RELATION)) throw new Error(`names a step ${FLAGS_RELATION}, the name the runner gives the kept flags: rename the step`);
  const keep = /^--\s*keep:\s*(\w+)\s*$/m.exec(sql)?.[1];
  const keptCte = keep ?? flagsCte;
  let episodesSql: string;
  if (keptCte === flagsCte) episodesSql = body.replace(EPISODES_CALL, `day_episodes(${FLAGS_RELATION},`);
  else {
    const at = cteBody(body, keptCte);
    if (!at || at.end > main) throw new Error(`"-- keep: ${keptCte}" names no step of the query`);
    if (at.start > cteBody(body, flagsCte)!.start) throw new Error(`"-- keep: ${keptCte}" must come before ${flagsCte}, the step passed to day_episodes`);
    episodesSql = `${body.slice(0, at.start)}\n  select * from ${FLAGS_RELATION}\n${body.slice(at.end)}`;
  }
  return {
    keptCte,
    flagsSql: `${body.slice(0, main)}select * from ${keptCte} where day >= $judge_from_day`,
    episodesSql,
  };
}
