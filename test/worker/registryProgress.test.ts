/** The registry topics' read positions against their ends, and letting go of an end nothing can reach. */
import { describe, it, expect } from 'vitest';
import { RegistryProgress } from '../../src/worker/registryProgress.js';

const end = (topic: string, low: number, high: number, partition = 0) => ({ topic, partition, low: String(low), high: String(high) });

describe('RegistryProgress', () => {
  it('counts what is left to read, from the low end or from where the store left off', () => {
    const r = new RegistryProgress();
    r.await(0, [end('meters', 10, 50), end('peers', 0, 1000), end('cases', 5, 5)], [{ topic: 'peers', partition: 0, offset: 990n }]);
    expect(r.behind()).toBe(40 + 10);
    r.batchStarted();
    r.read('meters', 0, 30n, 1);
    expect(r.behind()).toBe(20 + 10);
    // a batch re-delivered from before never moves a position back
    r.read('meters', 0, 20n, 2);
    expect(r.behind()).toBe(30);
  });

  it('a later end (an assignment) is waited for again, from where the feed stands', () => {
    const r = new RegistryProgress();
    r.await(0, [end('cases', 0, 7)]);
    r.read('cases', 0, 7n, 1);
    expect(r.behind()).toBe(0);
    r.await(2, [end('cases', 0, 9)]);
    expect(r.behind()).toBe(2);
  });

  it('lets go of an end nothing reaches once the feed keeps fetching and hands over nothing', () => {
    const r = new RegistryProgress();
    r.await(0, [end('meters', 0, 12)]);
    r.batchStarted();
    r.read('meters', 0, 10n, 1_000); // offsets 10 and 11 were a tombstone and what it deleted, compacted away
    expect(r.releaseIfQuiet(60_000, 30_000)).toEqual([]); // no fetch since the batch: the broker may be down
    r.fetched();
    expect(r.releaseIfQuiet(60_000, 30_000)).toEqual([]); // one fetch may still be handing its batches over
    r.fetched();
    expect(r.releaseIfQuiet(20_000, 30_000)).toEqual([]); // not quiet long enough
    r.batchStarted();
    expect(r.releaseIfQuiet(60_000, 30_000)).toEqual([]); // a batch is waiting for the worker
    r.read('sites', 0, 1n, 2_000);
    r.fetched();
    r.fetched();
    expect(r.releaseIfQuiet(40_000, 30_000)).toEqual([{ partition: 'meters:0', unreadable: 2 }]);
    expect(r.behind()).toBe(0);
  });
});
