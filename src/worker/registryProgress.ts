/**
 * How far the registry feed (meters, sites, verdicts, cases, peer rows) has read each topic
 * partition against the end it had when the worker started or was last assigned partitions. The
 * worker judges nothing before they are read: a new worker that closed a day before its meters
 * topic was read would judge meters it knows no category, street or contract of. Pure: the worker
 * reports ends, batches and fetches, and asks.
 *
 * A compacted topic can end past its last readable message (a tombstone at the end, cleaned
 * away): no batch ever reaches that end. So a partition also counts as read once the feed has
 * handed over nothing for `quietMs` while its consumer kept fetching: two fetches since the last
 * batch (kafkajs reports a fetch before handing over its batches, so the second shows the first
 * brought none).
 */
export interface RegistryOffsets {
  topic: string;
  partition: number;
  low: string;
  high: string;
}

const keyOf = (topic: string, partition: number) => `${topic}:${partition}`;

export class RegistryProgress {
  private targets = new Map<string, bigint>();
  private positions = new Map<string, bigint>();
  private inFlight = 0;
  private lastBatchEndMs = 0;
  private fetchesSinceBatch = 0;

  /**
   * Read to these ends before judging. Each partition is read from its low end (the feed reads
   * topics whole) or from `from` (the peers topic, from where the store left off).
   */
  await(nowMs: number, ends: readonly RegistryOffsets[], from: readonly { topic: string; partition: number; offset: bigint }[] = []): void {
    // quiet is counted from here: a feed that has not begun to read is not quiet
    this.lastBatchEndMs = nowMs;
    this.fetchesSinceBatch = 0;
    for (const e of ends) {
      const key = keyOf(e.topic, e.partition);
      const start = from.find((f) => f.topic === e.topic && f.partition === e.partition)?.offset ?? BigInt(e.low);
      this.targets.set(key, BigInt(e.high));
      if ((this.positions.get(key) ?? -1n) < start) this.positions.set(key, start);
    }
  }

  /** A batch was handed to the worker (it may wait on the worker's queue). */
  batchStarted(): void {
    this.inFlight++;
  }

  /** A batch is done with (applied or dead-lettered): the partition is read up to `nextOffset`. */
  read(topic: string, partition: number, nextOffset: bigint, nowMs: number): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.lastBatchEndMs = nowMs;
    this.fetchesSinceBatch = 0;
    const key = keyOf(topic, partition);
    if ((this.positions.get(key) ?? -1n) < nextOffset) this.positions.set(key, nextOffset);
  }

  /** The feed's consumer completed a fetch (with or without batches). */
  fetched(): void {
    this.fetchesSinceBatch++;
  }

  /** Messages still to read before judging. */
  behind(): number {
    let n = 0n;
    for (const [k, target] of this.targets) {
      const at = this.positions.get(k) ?? 0n;
      if (at < target) n += target - at;
    }
    return Number(n);
  }

  /**
   * When the feed has fetched and handed over nothing for `quietMs`, what is left unread cannot be
   * read (see above): those partitions count as read. Returns them, with how many offsets each skipped.
   */
  releaseIfQuiet(nowMs: number, quietMs: number): { partition: string; unreadable: number }[] {
    if (this.inFlight > 0 || this.fetchesSinceBatch < 2 || nowMs - this.lastBatchEndMs < quietMs) return [];
    const released: { partition: string; unreadable: number }[] = [];
    for (const [k, target] of this.targets) {
      const at = this.positions.get(k) ?? 0n;
      if (at >= target) continue;
      released.push({ partition: k, unreadable: Number(target - at) });
      this.positions.set(k, target);
    }
    return released;
  }
}
