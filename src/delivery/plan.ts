/**
 * Which lists go out when, and when a failed one is retried. Pure: the delivery runner stores the
 * plan in the `deliveries` table (so a day already sent is not sent again after a restart).
 */
import { dueReportDate } from '../worker/reportSchedule.js';
import { parseDate } from '../time.js';

export type DeliveryKind = 'daily' | 'weekly';
export type Channel = 'email' | 'webhook';

export interface PlannedDelivery { day: string; street: string; kind: DeliveryKind; channel: Channel }

/**
 * The lists due at `nowLocalMs`: from `time` each day, every street's new leads of the day before;
 * on Fridays also the week's table (附件1 is due before Friday noon, seed 000). Empty before time.
 */
export function dueLists(nowLocalMs: number, time: string, streets: readonly string[], channels: readonly Channel[]): PlannedDelivery[] {
  // the same rule as the worker's daily list file; the deliveries table, not a last-sent date, keeps it once
  const due = dueReportDate(nowLocalMs, time, '');
  if (!due) return [];
  const friday = new Date(parseDate(due.writtenOn)!).getUTCDay() === 5;
  const out: PlannedDelivery[] = [];
  for (const channel of channels) for (const street of streets) {
    out.push({ day: due.listDate, street, kind: 'daily', channel });
    if (friday) out.push({ day: due.listDate, street, kind: 'weekly', channel });
  }
  return out;
}

/** Minutes before retry n (1-based): 1, 2, 4, … capped at an hour. */
export function retryDelayMin(attempt: number): number {
  return Math.min(60, 2 ** Math.max(0, attempt - 1));
}

/** The days a list covers: the day itself, or the seven days ending with it for the weekly table. */
export function listDays(kind: DeliveryKind): number {
  return kind === 'weekly' ? 7 : 1;
}
