/** When the worker writes the daily list: once a local day, at report_time, for the day before. Pure. */
import { DAY_MS, MINUTE_MS, formatDate, parseDate } from '../time.js';

/**
 * The list date due now (yesterday, local), or undefined when not yet due today or already
 * written today (`lastWrittenOn` is the local date it was last written on).
 */
export function dueReportDate(nowLocalMs: number, reportTime: string, lastWrittenOn: string): { writtenOn: string; listDate: string } | undefined {
  const [hh, mm] = reportTime.split(':').map(Number);
  const today = formatDate(nowLocalMs);
  if (today === lastWrittenOn || nowLocalMs < parseDate(today)! + (hh! * 60 + mm!) * MINUTE_MS) return undefined;
  return { writtenOn: today, listDate: formatDate(parseDate(today)! - DAY_MS) };
}
