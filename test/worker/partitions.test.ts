/** Seeks, replay and catch-up after a rebalance: the rules exactly-once rests on, without a broker. */
import { describe, it, expect } from 'vitest';
import { PartitionTracker } from '../../src/worker/partitions.js';

const msgs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ({ offset: String(from + i) }));
const topic = (p: number, low: number, high: number) => ({ partition: p, low: String(low), high: String(high) });

describe('PartitionTracker', () => {
  it('seeks to the stored offset, or replays from the earliest retained one when the store knows nothing', () => {
    const t = new PartitionTracker();
    const stored = new Map([[0, { next_offset: 40n }], [2, { next_offset: 3n }]]);
    const seeks = t.plan([0, 1, 2], stored, [topic(0, 0, 100), topic(1, 10, 50), topic(2, 5, 9)], []);
    expect(seeks).toEqual([
      { partition: 0, offset: 40n, replay: false, needed: true },
      // the group committed nothing: the consumer starts at the earliest offset anyway
      { partition: 1, offset: 10n, replay: true, needed: false },
      // what the store holds fell out of retention: never seek below the topic's start
      { partition: 2, offset: 5n, replay: false, needed: false },
    ]);
  });

  it('seeks only where the consumer would fetch from elsewhere than the store stands (a seek landing after the first fetch fetches it twice)', () => {
    const t = new PartitionTracker();
    const stored = new Map([[0, { next_offset: 40n }], [1, { next_offset: 30n }], [2, { next_offset: 20n }]]);
    // 0: the group committed where the store stands (an ordinary restart); 1: the store is ahead (a
    // crash between the store's commit and the group's); 2: the group's offset is beyond the topic (recreated)
    const committed = new Map([[0, 40n], [1, 25n], [2, 500n]]);
    const seeks = t.plan([0, 1, 2], stored, [topic(0, 0, 100), topic(1, 0, 100), topic(2, 0, 100)], [], 0, committed);
    expect(seeks.map((s) => [s.partition, s.offset, s.needed])).toEqual([[0, 40n, false], [1, 30n, true], [2, 20n, true]]);
    // unsought, the first batch starts where the store stands and is taken whole
    expect(t.admit(0, '40', msgs(40, 49))).toHaveLength(10);
    // sought: one fetched from the group's offset before the seek is dropped
    expect(t.admit(1, '25', msgs(25, 34))).toBe('skip');
    expect(t.admit(1, '30', msgs(30, 34))).toHaveLength(5);
  });

  it('drops a batch fetched before the seek took effect, then skips what the store already holds', () => {
    const t = new PartitionTracker();
    t.plan([0], new Map([[0, { next_offset: 40n }]]), [topic(0, 0, 100)], []);
    expect(t.admit(0, '0', msgs(0, 49))).toBe('skip');
    expect(t.admit(0, '40', msgs(40, 49))).toHaveLength(10);
    t.stored(0, 50n);
    // a redelivered batch (after a crash between store and Kafka commit) is skipped message by message
    expect((t.admit(0, '45', msgs(45, 54)) as { offset: string }[]).map((m) => m.offset)).toEqual(['50', '51', '52', '53', '54']);
    expect(t.admit(3, '0', msgs(0, 1))).toBe('skip');
  });

  it('is restoring until the replay and the registry topics are caught up, and says so once', () => {
    const t = new PartitionTracker();
    t.plan([0], new Map(), [topic(0, 0, 100)], [{ topic: 'cases', partition: 0, low: '0', high: '7' }, { topic: 'meters', partition: 0, low: '3', high: '3' }], 0);
    expect(t.restoring()).toBe(true);
    t.admit(0, '0', msgs(0, 99));
    t.stored(0, 100n);
    expect(t.justCaughtUp()).toBe(false); // cases not read yet; the meters topic (low = high) has nothing to read
    t.registry.read('cases', 0, 7n, 1);
    expect(t.restoring()).toBe(false);
    expect(t.justCaughtUp()).toBe(true);
    expect(t.justCaughtUp()).toBe(false);
  });

  it('at start, with no partition yet, waits for the registry topics alone', () => {
    const t = new PartitionTracker();
    t.awaitRegistry(0, [{ topic: 'meters', partition: 0, low: '0', high: '100000' }, { topic: 'peers', partition: 0, low: '0', high: '900' }],
      // the peers topic is read from where the store's snapshot left off
      [{ topic: 'peers', partition: 0, offset: 800n }]);
    expect(t.registry.behind()).toBe(100_100);
    t.registry.read('meters', 0, 100_000n, 1);
    expect(t.restoring()).toBe(true);
    t.registry.read('peers', 0, 900n, 2);
    expect(t.justCaughtUp()).toBe(true);
  });

  it('knows which partitions a rebalance took away and which it gave', () => {
    const t = new PartitionTracker();
    t.restore(new Map([[0, { next_offset: 1n }], [1, { next_offset: 1n }]]));
    expect(t.lostOn([1, 2], [0, 1, 5])).toEqual([0, 5]);
    expect(t.gains([1, 2])).toBe(true);
    expect(t.gains([1])).toBe(false);
    t.forget([0]);
    expect(t.owned()).toEqual([1]);
  });
});
