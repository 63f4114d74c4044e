/**
 * The day-close state machine on the sequences the crash, scale-out and late-data tests drive
 * through a broker: no Kafka, no DuckDB.
 */
import { describe, it, expect } from 'vitest';
import { DayClose } from '../../src/worker/dayClose.js';
import { DAY_MS, HOUR_MS, MINUTE_MS, parseDate } from '../../src/time.js';

const D = (s: string) => parseDate(s)!;
const LATE = 120 * MINUTE_MS;
/** One worker owning every partition of an n-partition topic, none of them empty. */
function worker(n = 1): DayClose {
  const d = new DayClose();
  d.assigned({ partitionCount: n, emptyPartitions: [], gained: true });
  return d;
}
/** Run one close as the worker does: prepare if due (and echo its own markers back), then judge. */
function close(d: DayClose, partitions: number[], idle = false): { prepared?: number; since?: number; judged?: number } {
  const out: { prepared?: number; since?: number; judged?: number } = {};
  const step = d.nextPrepare(idle, LATE);
  if (step) {
    d.prepared(step.day);
    d.marks(partitions.map((p) => ({ partition: p, day: step.day })));
    out.prepared = step.day;
    out.since = step.sinceDayMs;
  }
  const j = d.nextJudge();
  if (j !== undefined) {
    d.judged(j);
    out.judged = j;
  }
  return out;
}

describe('DayClose', () => {
  it('prepares and judges a day only once the watermark passes its end plus the allowed lateness', () => {
    const d = worker();
    d.stored(0, [D('2026-10-02') + 23 * HOUR_MS]);
    expect(close(d, [0])).toEqual({ prepared: D('2026-10-01'), since: undefined, judged: D('2026-10-01') });
    // 01:59 of the next day: 10-02 is not yet past its lateness
    d.stored(0, [D('2026-10-03') + 119 * MINUTE_MS]);
    expect(close(d, [0])).toEqual({});
    d.stored(0, [D('2026-10-03') + 2 * HOUR_MS]);
    // the second prepare is incremental: only days since the last one
    expect(close(d, [0])).toEqual({ prepared: D('2026-10-02'), since: D('2026-10-02'), judged: D('2026-10-02') });
  });

  it('an idle feed closes the last complete day without waiting for lateness', () => {
    const d = worker();
    d.stored(0, [D('2026-10-03') + 30 * MINUTE_MS]);
    expect(close(d, [0]).judged).toBe(D('2026-10-01'));
    expect(close(d, [0], true).judged).toBe(D('2026-10-02'));
  });

  it('a late reading for a prepared day re-prepares and re-judges the same day', () => {
    const d = worker();
    d.stored(0, [D('2026-10-05') + 3 * HOUR_MS]);
    expect(close(d, [0]).judged).toBe(D('2026-10-04'));
    expect(close(d, [0])).toEqual({});
    d.stored(0, [D('2026-10-03') + 12 * HOUR_MS, D('2026-10-04')]); // late, for judged days (the second ends 10-03)
    // every meter from the day after the last prepare (none: no new day); the late meters from 10-03 by the store's marks
    expect(close(d, [0])).toEqual({ prepared: D('2026-10-04'), since: D('2026-10-05'), judged: D('2026-10-04') });
    expect(close(d, [0])).toEqual({});
  });

  it('judges only when every partition\'s marker (any worker\'s) has passed the day', () => {
    const d = worker(3);
    d.stored(0, [D('2026-10-05') + 3 * HOUR_MS]);
    // this worker owns partition 0 only: partitions 1 and 2 have no marker yet
    expect(close(d, [0])).toEqual({ prepared: D('2026-10-04'), since: undefined });
    d.marks([{ partition: 1, day: D('2026-10-04') }]);
    expect(d.nextJudge()).toBeUndefined();
    d.marks([{ partition: 2, day: D('2026-10-03') }]);
    expect(d.nextJudge()).toBe(D('2026-10-03'));
    d.judged(D('2026-10-03'));
    // a marker never moves back
    d.marks([{ partition: 2, day: D('2026-10-01') }]);
    expect(d.nextJudge()).toBeUndefined();
    d.marks([{ partition: 2, day: D('2026-10-04') }]);
    expect(d.nextJudge()).toBe(D('2026-10-04'));
  });

  it('an empty partition holds no day back until it gets data or a marker', () => {
    const d = new DayClose();
    d.assigned({ partitionCount: 2, emptyPartitions: [1], gained: true });
    d.stored(0, [D('2026-10-05') + 3 * HOUR_MS]);
    expect(close(d, [0]).judged).toBe(D('2026-10-04'));
    // partition 1 starts to receive data (another worker owns it): it now holds later days back
    d.sawData(1);
    d.stored(0, [D('2026-10-06') + 3 * HOUR_MS]);
    expect(close(d, [0])).toEqual({ prepared: D('2026-10-05'), since: D('2026-10-05') });
    d.marks([{ partition: 1, day: D('2026-10-05') }]);
    expect(d.nextJudge()).toBe(D('2026-10-05'));
  });

  it('another worker\'s changed peer rows for a judged day re-judge it; for a later day they do not', () => {
    const d = worker();
    d.stored(0, [D('2026-10-05') + 3 * HOUR_MS]);
    close(d, [0]);
    d.peerRowsChanged([D('2026-10-10')]);
    expect(d.nextJudge()).toBeUndefined();
    d.peerRowsChanged([D('2026-10-02')]);
    expect(d.reJudgeWanted).toBe(true);
    expect(d.nextJudge()).toBe(D('2026-10-04'));
  });

  it('a gained partition forces a full prepare with markers even when the day has not moved', () => {
    const d = worker();
    d.stored(0, [D('2026-10-05') + 3 * HOUR_MS]);
    close(d, [0]);
    d.assigned({ partitionCount: 1, emptyPartitions: [], gained: true });
    expect(d.nextPrepare(false, LATE)).toEqual({ day: D('2026-10-04'), sinceDayMs: undefined });
  });

  it('a partition loaded from a snapshot prepares from the day after the snapshot\'s close, with markers, not every day', () => {
    // a new worker: nothing prepared yet; the snapshot was written after closing 10-01
    const d = new DayClose();
    d.restoredFromSnapshot(D('2026-10-01'));
    d.assigned({ partitionCount: 1, emptyPartitions: [], gained: false });
    d.stored(0, [D('2026-10-05') + 3 * HOUR_MS]);
    expect(d.nextPrepare(false, LATE)).toEqual({ day: D('2026-10-04'), sinceDayMs: D('2026-10-02') });
    // a worker that has prepared through 10-04 gains a partition whose snapshot closed 09-30
    const e = worker();
    e.stored(0, [D('2026-10-05') + 3 * HOUR_MS]);
    close(e, [0]);
    e.restoredFromSnapshot(D('2026-09-30'));
    expect(e.nextPrepare(false, LATE)).toEqual({ day: D('2026-10-04'), sinceDayMs: D('2026-10-01') });
    // and another gained without one: every day again
    e.assigned({ partitionCount: 2, emptyPartitions: [], gained: true });
    expect(e.nextPrepare(false, LATE)).toEqual({ day: D('2026-10-04'), sinceDayMs: undefined });
  });

  it('state restored after a restart (a SIGKILL) resumes where the store left it: nothing judged twice', () => {
    const d = new DayClose();
    d.restore({ watermarks: new Map([[0, D('2026-10-05') + 3 * HOUR_MS]]), lastClosedDay: D('2026-10-04'), lastPreparedDay: D('2026-10-04') });
    d.assigned({ partitionCount: 1, emptyPartitions: [], gained: false });
    d.marks([{ partition: 0, day: D('2026-10-04') }]);
    expect(close(d, [0])).toEqual({});
    d.stored(0, [D('2026-10-06') + 3 * HOUR_MS]);
    expect(close(d, [0])).toEqual({ prepared: D('2026-10-05'), since: D('2026-10-05'), judged: D('2026-10-05') });
  });

  it('a lost partition no longer holds the watermark back', () => {
    const d = worker(2);
    d.stored(0, [D('2026-10-05') + 3 * HOUR_MS]);
    d.stored(1, [D('2026-10-02') + 3 * HOUR_MS]);
    expect(d.nextPrepare(false, LATE)!.day).toBe(D('2026-10-01'));
    d.lost([1]);
    expect(d.nextPrepare(false, LATE)!.day).toBe(D('2026-10-04'));
    expect(DAY_MS).toBe(86_400_000);
  });
});
