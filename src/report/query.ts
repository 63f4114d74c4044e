/** Cases for the daily list, read from the store. */
import type { Db } from '../store/db.js';
import { loadCases } from '../store/caseStore.js';
import { dataWatermarkMs } from '../store/readingStore.js';
import type { Case } from '../core/types.js';
import type { SiteContext } from './daily.js';
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

export async function siteContexts(db: Db): Promise<Map<string, SiteContext>> {
  const m = new Map<string, SiteContext>();
  for (const r of (await db.con.runAndReadAll(`select case_no, measure, status from sites`)).getRowObjectsJS()) {
    m.set(String(r.case_no), { measure: String(r.measure ?? ''), status: String(r.status ?? '') });
  }
  return m;
}
