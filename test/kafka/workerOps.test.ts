/** /healthz tells the truth (issue 11, health): a dead consumer, a silent broker, a restore that does not end, a day close left behind. */
import { describe, it, expect } from 'vitest';
import { gauges, health, type WorkerView } from '../../src/kafka/workerOps.js';
import { PartitionTracker } from '../../src/worker/partitions.js';
import { DayClose } from '../../src/worker/dayClose.js';
import { HOUR_MS, MINUTE_MS, parseDate } from '../../src/time.js';

const NOW = 1_800_000_000_000;
interface O { running?: boolean; stopping?: boolean; down?: string; silentS?: number; restoringMin?: number; days?: DayClose; closedAgoS?: number }
const view = (o: O): WorkerView => ({
  partitions: new PartitionTracker(), days: o.days ?? new DayClose(), counters: { batches: 3 },
  running: () => o.running ?? true, stopping: () => o.stopping ?? false, outboxPending: () => 2, down: () => o.down,
  lastBrokerContactMs: () => NOW - (o.silentS ?? 1) * 1000,
  lastCloseAtMs: () => (o.closedAgoS === undefined ? undefined : NOW - o.closedAgoS * 1000),
  restoringSinceMs: () => (o.restoringMin === undefined ? undefined : NOW - o.restoringMin * MINUTE_MS),
  limits: { brokerSilenceS: 60, maxRestoreMin: 60, latenessMs: 120 * MINUTE_MS },
  now: () => NOW,
});

/** A worker that has stored data through `through` and judged days through `closed`. */
function daysAt(through: string, closed: string): DayClose {
  const d = new DayClose();
  d.assigned({ partitionCount: 1, emptyPartitions: [], gained: true });
  d.stored(0, [parseDate(through)! + 12 * HOUR_MS]);
  d.judged(parseDate(closed)!);
  return d;
}

describe('health', () => {
  it('is ok only while consuming', () => {
    expect(health(view({}))).toMatchObject({ ok: true, detail: { pending_cases: 2, restoring: false } });
    expect(health(view({ down: 'registry consumer crashed: A string was expected' }))).toMatchObject({ ok: false, detail: { reason: 'registry consumer crashed: A string was expected' } });
    expect(health(view({ stopping: true }))).toMatchObject({ ok: false, detail: { reason: 'stopping' } });
    expect(health(view({ running: false }))).toMatchObject({ ok: false, detail: { reason: 'not started' } });
  });

  it('fails when the broker has not answered for the configured time', () => {
    expect(health(view({ silentS: 59 })).ok).toBe(true);
    expect(health(view({ silentS: 75 }))).toMatchObject({ ok: false, detail: { reason: 'no answer from the Kafka broker for 75 s', seconds_since_broker_contact: 75 } });
  });

  it('fails when a restore does not end', () => {
    expect(health(view({ restoringMin: 30 })).ok).toBe(true);
    expect(health(view({ restoringMin: 61 })).detail.reason).toBe('restoring a gained partition for 61 min (limit 60)');
  });

  it('fails when a caught-up worker has left days unjudged', () => {
    expect(health(view({ days: daysAt('2026-10-10', '2026-10-09') })).ok).toBe(true);
    expect(health(view({ days: daysAt('2026-10-10', '2026-10-08') })).ok).toBe(true);
    expect(health(view({ days: daysAt('2026-10-10', '2026-10-06') })).detail.reason).toBe('day close behind: 3 days of caught-up data not judged (closed through 2026-10-06)');
  });

  it('metrics: time since the last close, restore progress, broker silence, close backlog', () => {
    const g = gauges(view({ closedAgoS: 90, silentS: 4, days: daysAt('2026-10-10', '2026-10-06') }));
    expect(g.seconds_since_last_close).toEqual({ '': 90 });
    expect(g.seconds_since_broker_contact).toEqual({ '': 4 });
    expect(g.close_backlog_days).toEqual({ '': 3 });
    expect(g.restoring).toEqual({ '': 0 });
    expect(g.restore_lag).toEqual({ '': 0 });
  });
});
