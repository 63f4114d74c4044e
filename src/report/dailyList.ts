/** The daily list (排查明细表) for a date, a week or a street: cases read from the store, rendered by ./daily.ts. */
import type { Db } from '../store/db.js';
import { loadCases } from '../store/caseStore.js';
import { dataWatermarkMs } from '../store/readingStore.js';
import type { Case } from '../core/types.js';
import { siteContexts } from '../store/reference.js';
import { dailyRows, renderCsv, renderHtml, renderMarkdown } from './daily.js';
import { DAY_MS, formatDate, parseDate } from '../time.js';
import { PowerscreenError } from '../errors.js';

/** Default report date: the local day of the data watermark (the latest day with readings). */
export async function defaultReportDate(db: Db): Promise<string> {
  const w = await dataWatermarkMs(db);
  if (w === undefined) throw new PowerscreenError('INPUT_MALFORMED', `${db.path}: the database holds no readings yet; run backfill first or give --date`);
  return formatDate(w - 1);
}

export async function casesFirstRaised(db: Db, date: string, days: number): Promise<Case[]> {
  const end = parseDate(date);
  if (end === undefined) throw new PowerscreenError('CONFIG_INVALID', `--date: expected YYYY-MM-DD, got ${JSON.stringify(date)}`);
  const from = formatDate(end - (days - 1) * DAY_MS);
  // detected_at is the data time the evidence first met the threshold; a case belongs to that local day
  return loadCases(db, { raisedFrom: from, raisedTo: date, statuses: ['open', 'confirmed'] });
}

export interface DailyListOptions { date?: string; days?: number; format: 'csv' | 'md' | 'html'; street?: string }

export async function dailyList(db: Db, o: DailyListOptions): Promise<{ text: string; rows: number; date: string }> {
  const date = o.date ?? (await defaultReportDate(db));
  const days = o.days ?? 1;
  let cases = await casesFirstRaised(db, date, days);
  if (o.street) cases = cases.filter((c) => c.street === o.street);
  const rows = dailyRows(cases, date, await siteContexts(db));
  const title = `散乱污企业（场所）排查明细表 — 电力数据筛查 ${date}${days > 1 ? `（含前 ${days - 1} 日）` : ''}${o.street ? ` — ${o.street}` : ''}`;
  const text = o.format === 'csv' ? renderCsv(rows) : o.format === 'html' ? renderHtml(rows, title) : renderMarkdown(rows, title);
  return { text, rows: rows.length, date };
}
