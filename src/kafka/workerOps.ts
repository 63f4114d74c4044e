/** What the worker shows operators: Prometheus gauges, the /healthz body, the periodic stats line. */
import type { PartitionTracker } from '../worker/partitions.js';
import type { DayClose } from '../worker/dayClose.js';
import { formatDate, localToEpochMs } from '../time.js';

export interface WorkerView {
  partitions: PartitionTracker;
  days: DayClose;
  counters: Record<string, number>;
  running: () => boolean;
  stopping: () => boolean;
  outboxPending: () => number;
}

/** The last local day the day-level detectors have judged ('' before the first close). */
export function closedThrough(days: DayClose): string {
  return Number.isFinite(days.closedThrough) ? formatDate(days.closedThrough) : '';
}

/** Live gauges (getters: read at scrape time). */
export function gauges(v: WorkerView): Record<string, Record<string, number>> {
  return {
    get watermark_seconds() { return Object.fromEntries([...v.days.watermarkOf()].map(([p, w]) => [String(p), Math.round(localToEpochMs(w) / 1000)])); },
    get consumer_lag() { return Object.fromEntries([...v.partitions.lagOf()].map(([p, l]) => [String(p), l])); },
  } as Record<string, Record<string, number>>;
}

export function health(v: WorkerView): { ok: boolean; detail: Record<string, unknown> } {
  return {
    ok: v.running() && !v.stopping(),
    detail: { running: v.running(), stopping: v.stopping(), partitions: v.partitions.owned(), batches: v.counters.batches, closed_through: closedThrough(v.days), pending_cases: v.outboxPending() },
  };
}

export function statsLine(v: WorkerView): Record<string, unknown> {
  return {
    ...v.counters,
    lag: Object.fromEntries(v.partitions.lagOf()),
    watermark: Object.fromEntries([...v.days.watermarkOf()].map(([p, w]) => [p, new Date(w).toISOString().slice(0, 16)])),
  };
}
