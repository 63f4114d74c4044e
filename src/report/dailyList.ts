/**
 * The suspect list (排查明细表) for a day, a week or a date range, per street, with filters: cases
 * read from the store with their latest verdicts, checked against what the data covers (a typo'd
 * street or a date the data does not reach is an error, not an empty list), rendered by ./daily.ts.
 */
import type { Db } from '../store/db.js';
import { loadCases } from '../store/caseStore.js';
import { latestVerdicts } from '../store/feedback.js';
import { coverage, knownStreets, type Coverage } from '../store/districtStats.js';
import { siteContexts } from '../store/reference.js';
import { dailyRows, renderCsv, renderHtml, renderMarkdown, type DailyRow, type ListMeta } from './daily.js';
import { DAY_MS, formatDate, parseDate } from '../time.js';
import { PowerscreenError } from '../errors.js';

export interface ListQuery {
  /** Last day of the list (default: the latest day with readings). */
  date?: string;
  /** Days ending at `date` (7 = the weekly list); ignored when `from` is given. */
  days?: number;
  from?: string;
  street?: string;
  families?: readonly string[];
  statuses?: readonly string[];
  minScore?: number;
}

export interface SuspectList {
  rows: DailyRow[];
  meta: ListMeta;
  from: string;
  to: string;
  coverage: Coverage;
}

function day(text: string, field: string): number {
  const ms = parseDate(text);
  if (ms === undefined) throw new PowerscreenError('CONFIG_INVALID', `${field}: expected YYYY-MM-DD, got ${JSON.stringify(text)}`);
  return ms;
}

export async function suspectList(db: Db, q: ListQuery, unit = ''): Promise<SuspectList> {
  // the banner's counts are the street's; the data's range is the district's either way
  const cov = await coverage(db, q.street);
  if (!cov.data_day) throw new PowerscreenError('INPUT_MALFORMED', `${db.path}: the database holds no readings yet; run backfill first or start the worker`);
  const to = q.date ?? cov.data_day;
  const toMs = day(to, '--date');
  const fromMs = q.from !== undefined ? day(q.from, '--from') : toMs - ((q.days ?? 1) - 1) * DAY_MS;
  if (fromMs > toMs) throw new PowerscreenError('CONFIG_INVALID', `--from: ${q.from} is after ${to}`);
  // a list for days the data does not reach would read 本期无新线索: a broken feed would look like a quiet district
  if (fromMs > parseDate(cov.data_day)! || toMs < parseDate(cov.first_day ?? cov.data_day)!) {
    throw new PowerscreenError('INPUT_NOT_FOUND', `--date: ${formatDate(fromMs)}…${to} is outside the data (${cov.first_day} … ${cov.data_day}, last reading ${cov.data_through})`);
  }
  if (q.street !== undefined) {
    const streets = await knownStreets(db);
    if (!streets.includes(q.street)) throw new PowerscreenError('CONFIG_INVALID', `--street: unknown street ${JSON.stringify(q.street)}; known streets: ${streets.join('、') || '(none registered)'}`);
  }
  const from = formatDate(fromMs);
  const cases = await loadCases(db, { raisedFrom: from, raisedTo: to, street: q.street, families: q.families, statuses: q.statuses, minScore: q.minScore });
  const verdicts = await latestVerdicts(db, cases.map((c) => c.case_id));
  const rows = dailyRows(cases, await siteContexts(db), verdicts);
  const span = from === to ? to : `${from} 至 ${to}`;
  const meta: ListMeta = {
    title: `散乱污企业（场所）排查明细表 — 电力数据筛查 ${span}${q.street ? ` — ${q.street}` : ''}`,
    unit: q.street ?? (unit || '区整治办'),
    date: to,
  };
  return { rows, meta, from, to, coverage: cov };
}

export interface DailyListOptions extends ListQuery { format: 'csv' | 'md' | 'html' }

export async function dailyList(db: Db, o: DailyListOptions, unit = ''): Promise<{ text: string; rows: number; date: string }> {
  // the files street offices receive leave out verified-empty and duplicate cases unless asked
  const l = await suspectList(db, { ...o, statuses: o.statuses ?? ['open', 'confirmed'] }, unit);
  const text = o.format === 'csv' ? renderCsv(l.rows, l.meta) : o.format === 'html' ? renderHtml(l.rows, l.meta) : renderMarkdown(l.rows, l.meta);
  return { text, rows: l.rows.length, date: l.to };
}
