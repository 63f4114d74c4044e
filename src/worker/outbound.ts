/**
 * What a worker sends the street offices, and when: the daily list at report_time and the
 * e-mail/webhook deliveries once a minute. One worker of a group sends (partition 0's owner: every
 * worker holds every case). It takes only what it needs: the clocks, whether it owns partition 0,
 * when readings last arrived, and the two senders; the worker's timer calls tick().
 */
import { dueReportDate } from './reportSchedule.js';

/** How often the deliveries are tried. */
export const DELIVERY_EVERY_MS = 60_000;

export interface OutboundContext {
  /** Local "HH:MM" the daily list is written at, for the day before. */
  reportTime: string;
  /** Local wall clock (epoch ms shifted to local time) the list's schedule reads. */
  nowLocal: () => number;
  /** Wall clock the retries and the delivery interval read. */
  now: () => number;
  ownsPartition0: () => boolean;
  /** Wall-clock ms when the last accepted reading arrived. */
  lastReadingAt: () => number;
  /** Writes the list of a local date; rejects while the store does not reach that day. */
  writeList: (date: string) => Promise<unknown>;
  /** Sends what is due (absent when no e-mail or webhook is configured). */
  deliver?: () => Promise<void>;
  log: { warn: (obj: object, msg: string) => void };
}

export class Outbound {
  private writtenOn = '';
  private failedFor = '';
  private triedAt = Number.NEGATIVE_INFINITY;
  private deliveredAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly ctx: OutboundContext) {}

  async tick(): Promise<void> {
    const { ctx } = this;
    if (!ctx.ownsPartition0()) return;
    const due = dueReportDate(ctx.nowLocal(), ctx.reportTime, this.writtenOn);
    // a store that does not reach the list's day yet (a restart catching up, a feed behind) cannot
    // write it: tried again as readings arrive, so the street offices get that day's list late, not never
    if (due && (this.failedFor !== due.listDate || ctx.lastReadingAt() > this.triedAt)) {
      this.triedAt = ctx.now();
      await ctx.writeList(due.listDate).then(() => {
        this.writtenOn = due.writtenOn;
      }, (e: unknown) => {
        if (this.failedFor !== due.listDate) ctx.log.warn({ date: due.listDate, error: String(e) }, 'daily list not written yet: tried again as readings arrive');
        this.failedFor = due.listDate;
      });
    }
    if (ctx.deliver && ctx.now() - this.deliveredAt >= DELIVERY_EVERY_MS) {
      this.deliveredAt = ctx.now();
      await ctx.deliver();
    }
  }
}
