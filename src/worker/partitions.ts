/**
 * Which readings partitions a worker owns, where each one stands, and whether the worker is still
 * catching up after an assignment. Pure (no Kafka, no DuckDB): the worker feeds it what the store
 * and the broker say and does what it answers.
 *
 * Exactly-once rests on three rules kept here:
 *  - on (re)assignment each partition is sought to the offset DuckDB holds; one DuckDB knows
 *    nothing of (a new worker, a lost file) is replayed from the earliest offset the topic retains;
 *  - a batch fetched before that seek took effect is dropped (kafkajs fetches it again); no seek is
 *    made where the consumer fetches from that offset anyway (the group committed it), as a seek
 *    that lands after the first fetch makes kafkajs fetch the same batch twice;
 *  - messages below the stored offset are already in DuckDB and are skipped.
 * Nothing is judged while a replay, or the registry topics (meters, sites, verdicts, the cases
 * other workers raised, peer rows), are not read to where they stood: a new worker that judged
 * before its meters topic was read would judge meters it knows no category or contract of.
 */
import { RegistryProgress, type RegistryOffsets } from './registryProgress.js';

export interface TopicOffsets {
  partition: number;
  low: string;
  high: string;
}


export interface Seek {
  partition: number;
  offset: bigint;
  /** DuckDB held nothing for it: replayed from the earliest retained offset. */
  replay: boolean;
  /** The consumer would fetch from elsewhere: the worker must seek. */
  needed: boolean;
}

export class PartitionTracker {
  /** Next offset to store, per owned partition. */
  private offsets = new Map<number, bigint>();
  /** Partitions whose seek has not yet taken effect. */
  private pendingSeek = new Map<number, bigint>();
  private lags = new Map<number, number>();
  private replayTargets = new Map<number, bigint>();
  /** How far the registry topics are read against where they ended. */
  readonly registry = new RegistryProgress();
  private wasRestoring = false;

  /** The offsets DuckDB holds, at start. */
  restore(stored: ReadonlyMap<number, { next_offset: bigint }>): void {
    for (const [p, o] of stored) this.offsets.set(p, o.next_offset);
  }

  owned(): number[] {
    return [...this.offsets.keys()];
  }

  owns(partition: number): boolean {
    return this.offsets.has(partition);
  }

  /** Partitions held (here or in the store) that the new assignment no longer gives this worker. */
  lostOn(assigned: readonly number[], storedPartitions: Iterable<number>): number[] {
    return [...new Set([...storedPartitions, ...this.offsets.keys()])].filter((p) => !assigned.includes(p));
  }

  /** Whether the assignment gives this worker a partition it did not hold. */
  gains(assigned: readonly number[]): boolean {
    return assigned.some((p) => !this.offsets.has(p));
  }

  forget(partitions: readonly number[]): void {
    for (const p of partitions) {
      this.offsets.delete(p);
      this.pendingSeek.delete(p);
      this.lags.delete(p);
      this.replayTargets.delete(p);
    }
  }

  /**
   * The registry topics must be read to these ends before anything is judged (see RegistryProgress).
   */
  awaitRegistry(nowMs: number, ends: readonly RegistryOffsets[], from: readonly { topic: string; partition: number; offset: bigint }[] = []): void {
    this.registry.await(nowMs, ends, from);
    this.wasRestoring ||= this.restoring();
  }

  /**
   * Where to seek each assigned partition, given what DuckDB stores and what the topics hold now.
   * What the registry topics hold now (the cases raised so far above all) must be read before
   * anything is judged again.
   */
  plan(assigned: readonly number[], stored: ReadonlyMap<number, { next_offset: bigint }>, readings: readonly TopicOffsets[], registry: readonly RegistryOffsets[], nowMs = Date.now(),
    committed: ReadonlyMap<number, bigint> = new Map()): Seek[] {
    this.awaitRegistry(nowMs, registry);
    const seeks: Seek[] = [];
    for (const p of assigned) {
      const r = readings.find((x) => x.partition === p);
      const low = BigInt(r?.low ?? '0'), high = BigInt(r?.high ?? '0');
      const have = stored.get(p)?.next_offset;
      // never below what the topic still retains
      const from = have === undefined || have < low ? low : have;
      // where the consumer fetches from unsought: the group's offset, or (none, or out of the
      // topic's range) the earliest retained one, as the readings topic is subscribed from the beginning
      const c = committed.get(p);
      const position = c !== undefined && c >= low && c <= high ? c : low;
      this.offsets.set(p, from);
      this.replayTargets.set(p, high);
      if (from !== position) this.pendingSeek.set(p, from);
      else this.pendingSeek.delete(p);
      seeks.push({ partition: p, offset: from, replay: have === undefined, needed: from !== position });
    }
    this.wasRestoring = this.restoring();
    return seeks;
  }

  /**
   * A fetched batch: 'skip' when the partition is not ours (fetched before a rebalance took it) or
   * the batch was fetched before our seek took effect; otherwise the messages not yet stored.
   */
  admit<M extends { offset: string }>(partition: number, firstOffset: string, messages: readonly M[]): M[] | 'skip' {
    if (!this.offsets.has(partition)) return 'skip';
    const want = this.pendingSeek.get(partition);
    if (want !== undefined) {
      if (BigInt(firstOffset) !== want) return 'skip';
      this.pendingSeek.delete(partition);
    }
    const next = this.offsets.get(partition)!;
    return messages.filter((m) => BigInt(m.offset) >= next);
  }

  /** How far behind the partition's end the last fetched batch was. */
  fetched(partition: number, lag: number): void {
    this.lags.set(partition, lag);
  }

  stored(partition: number, nextOffset: bigint): void {
    this.offsets.set(partition, nextOffset);
  }

  /** Still catching up after a start or an assignment (a replay, or the registry topics). */
  restoring(): boolean {
    for (const [p, target] of this.replayTargets) if ((this.offsets.get(p) ?? 0n) < target) return true;
    return this.registry.behind() > 0;
  }

  /** True once, when a catch-up that was under way has just finished. */
  justCaughtUp(): boolean {
    if (!this.wasRestoring || this.restoring()) return false;
    this.wasRestoring = false;
    return true;
  }

  lagOf(): ReadonlyMap<number, number> {
    return this.lags;
  }
}
