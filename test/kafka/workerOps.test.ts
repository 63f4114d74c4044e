/** /healthz tells the truth: a consumer that crashed for good is a 503 with the reason (issue 11, health). */
import { describe, it, expect } from 'vitest';
import { health } from '../../src/kafka/workerOps.js';
import { PartitionTracker } from '../../src/worker/partitions.js';
import { DayClose } from '../../src/worker/dayClose.js';

const view = (o: { running?: boolean; stopping?: boolean; down?: string }) => ({
  partitions: new PartitionTracker(), days: new DayClose(), counters: { batches: 3 },
  running: () => o.running ?? true, stopping: () => o.stopping ?? false, outboxPending: () => 2, down: () => o.down,
});

describe('health', () => {
  it('is ok only while consuming', () => {
    expect(health(view({}))).toMatchObject({ ok: true, detail: { pending_cases: 2, restoring: false } });
    expect(health(view({ down: 'registry consumer crashed: A string was expected' }))).toMatchObject({ ok: false, detail: { reason: 'registry consumer crashed: A string was expected' } });
    expect(health(view({ stopping: true }))).toMatchObject({ ok: false, detail: { reason: 'stopping' } });
    expect(health(view({ running: false }))).toMatchObject({ ok: false, detail: { reason: 'not started' } });
  });
});
