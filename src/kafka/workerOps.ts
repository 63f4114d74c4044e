/** What the worker shows operators: Prometheus gauges, the /healthz body, the periodic stats line. */
import type { PartitionTracker } from '../worker/partitions.js';
import type { DayClose } from '../worker/dayClose.js';
import { DAY_MS, formatDate, lastCompleteDay, localToEpochMs } from '../time.js';

export interface WorkerView {
  partitions: PartitionTracker;
  days: DayClose;
  counters: Record<string, number>;
  running: () => boolean;
  stopping: () => boolean;
  outboxPending: () => number;
  /** Why a consumer stopped for good (kafkajs will not restart it), if one did. */
  down: () => string | undefined;
  /** Wall-clock ms of the last fetch or heartbeat the broker answered. */
  lastBrokerContactMs: () => number;
  /** Wall-clock ms of the last day close, if any. */
  lastCloseAtMs: () => number | undefined;
  /** Wall-clock ms since which a gained partition has been restoring, if one is. */
  restoringSinceMs: () => number | undefined;
  limits: { brokerSilenceS: number; maxRestoreMin: number; latenessMs: number };
  now?: () => number;
}

/**
 * The days a caught-up worker has not judged though it should have: the last complete day of the
 * slowest partition's watermark (after the lateness) less the last closed day. 0 while catching up
 * (a replay judges as it goes) or before any data.
 */
export function closeBacklogDays(v: Pick<WorkerView, 'days' | 'partitions' | 'limits'>): number {
  const wms = [...v.days.watermarkOf().values()];
  if (!wms.length || [...v.partitions.lagOf().values()].some((l) => l > 0)) return 0;
  const due = lastCompleteDay(Math.min(...wms) - v.limits.latenessMs);
  const closed = v.days.closedThrough;
  if (!Number.isFinite(closed)) return 0;
  return Math.max(0, Math.round((due - closed) / DAY_MS));
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
    // alert on these: a close that stopped happening, a restore that does not end, a silent broker
    get seconds_since_last_close() { const t = v.lastCloseAtMs(); return t === undefined ? {} : { '': Math.round(((v.now ?? Date.now)() - t) / 1000) }; },
    get close_backlog_days() { return { '': closeBacklogDays(v) }; },
    get restoring() { return { '': v.partitions.restoring() ? 1 : 0 }; },
    get restore_lag() { return { '': v.partitions.restoring() ? [...v.partitions.lagOf().values()].reduce((a, b) => a + b, 0) : 0 }; },
    // registry messages (meters, sites, verdicts, cases, peer rows) still to read before judging
    get registry_lag() { return { '': v.partitions.registry.behind() }; },
    get seconds_since_broker_contact() { return { '': Math.round(((v.now ?? Date.now)() - v.lastBrokerContactMs()) / 1000) }; },
  } as Record<string, Record<string, number>>;
}

/** 200 only while consuming: a stopped consumer or a stop in progress is 503 with the reason. */
export function health(v: WorkerView): { ok: boolean; detail: Record<string, unknown> } {
  const now = (v.now ?? Date.now)();
  const silentS = Math.round((now - v.lastBrokerContactMs()) / 1000);
  const restoringMin = v.restoringSinceMs() === undefined ? 0 : (now - v.restoringSinceMs()!) / 60_000;
  const backlog = closeBacklogDays(v);
  const reason = v.down()
    ?? (v.stopping() ? 'stopping' : !v.running() ? 'not started' : undefined)
    ?? (silentS >= v.limits.brokerSilenceS ? `no answer from the Kafka broker for ${silentS} s` : undefined)
    ?? (restoringMin >= v.limits.maxRestoreMin ? `restoring a gained partition for ${Math.round(restoringMin)} min (limit ${v.limits.maxRestoreMin})` : undefined)
    ?? (backlog >= 2 ? `day close behind: ${backlog} days of caught-up data not judged (closed through ${closedThrough(v.days)})` : undefined);
  return {
    ok: reason === undefined,
    detail: {
      ...(reason ? { reason } : {}),
      running: v.running(), stopping: v.stopping(), restoring: v.partitions.restoring(), registry_behind: v.partitions.registry.behind(), partitions: v.partitions.owned(), batches: v.counters.batches,
      closed_through: closedThrough(v.days), pending_cases: v.outboxPending(), seconds_since_broker_contact: silentS,
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
