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
  /** Why a consumer stopped for good (kafkajs will not restart it), if one did. */
  down: () => string | undefined;
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

/** 200 only while consuming: a stopped consumer or a stop in progress is 503 with the reason. */
export function health(v: WorkerView): { ok: boolean; detail: Record<string, unknown> } {
  const down = v.down();
  const reason = down ?? (v.stopping() ? 'stopping' : !v.running() ? 'not started' : undefined);
  return {
    ok: reason === undefined,
    detail: {
      ...(reason ? { reason } : {}),
      running: v.running(), stopping: v.stopping(), restoring: v.partitions.restoring(), partitions: v.partitions.owned(), batches: v.counters.batches,
      closed_through: closedThrough(v.days), pending_cases: v.outboxPending(),
    },
  };
}

export function statsLine(v: WorkerView): Record<string, unknown> {
  return {
    ...v.counters,
    lag: Object.fromEntries(v.partitions.lagOf()),
    watermark: Object.fromEntries([...v.days.watermarkOf()].map(([p, w]) => [p, new Date(w).toISOString().slice(0, 16)])),
  };
}
