/**
 * The worker's side of partition snapshots (src/store/partitionSnapshot.ts): when each owned
 * partition's state is written after a close, and loading a gained partition's latest one. Takes
 * only the store, the snapshot settings, the readings topic and a log.
 */
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import { loadPartitionSnapshot, loadPeersFromSnapshots, writePartitionSnapshot, type SnapshotManifest } from '../store/partitionSnapshot.js';
import { DAY_MS, formatDate } from '../time.js';

export interface SnapshotSettings {
  dir: string;
  every_days: number;
  raw_days: number | null;
}

export class PartitionSnapshots {
  /** The closed day of the last snapshot written or loaded, per partition. */
  private closedDays = new Map<number, number>();

  constructor(private readonly db: Db, private readonly settings: SnapshotSettings, private readonly topic: string, private readonly log: Logger) {}

  /** Load the latest snapshot of a gained partition this store holds nothing of; undefined when there is none. */
  async restore(partition: number): Promise<SnapshotManifest | undefined> {
    const t0 = performance.now();
    const m = await loadPartitionSnapshot(this.db, this.settings.dir, this.topic, partition);
    if (!m) return undefined;
    this.closedDays.set(partition, m.closed_day_ms);
    this.log.info({ partition, from_offset: m.next_offset, closed_day: formatDate(m.closed_day_ms), meters: m.meters, ms: Math.round(performance.now() - t0) }, 'partition restored from its snapshot; replaying the messages after it');
    return m;
  }

  /**
   * A new store (it has read nothing of the peers topic): take every partition's peer rows from
   * the snapshots, and read the peers topic only after them. False when some partition has none,
   * or the readings topic's partitions cannot be counted.
   */
  async peersAtStart(partitionCount: () => Promise<number>, peersTopic: string): Promise<boolean> {
    const t0 = performance.now();
    const n = await partitionCount().catch((e: Error) => {
      this.log.warn({ error: e.message }, 'readings partitions unknown: peers topic read whole');
      return undefined;
    });
    if (n === undefined) return false;
    const r = await loadPeersFromSnapshots(this.db, this.settings.dir, this.topic, n, peersTopic);
    if (!r.loaded) {
      this.log.info({ reason: r.why }, 'peers topic read whole: the snapshots do not cover every partition');
      return false;
    }
    this.log.info({ rows: r.rows, from_offsets: Object.fromEntries(r.startAt.map((o) => [o.partition, String(o.offset)])), ms: Math.round(performance.now() - t0) }, 'peer rows loaded from the partitions\' snapshots; peers topic read from their offsets');
    return true;
  }

  forget(partitions: readonly number[]): void {
    for (const p of partitions) this.closedDays.delete(p);
  }

  /** After a close: the owned partitions whose last snapshot is every_days old or more. */
  async afterClose(closedDay: number, owned: readonly number[], peers?: { topic: string; published: ReadonlyMap<number, bigint> }): Promise<void> {
    for (const p of owned) {
      const last = this.closedDays.get(p);
      if (last !== undefined && closedDay - last < this.settings.every_days * DAY_MS) continue;
      const t0 = performance.now();
      try {
        const w = await writePartitionSnapshot(this.db, this.settings.dir, this.topic, p, closedDay, this.settings.raw_days, peers);
        if (!w) continue;
        this.closedDays.set(p, closedDay);
        this.log.info({ partition: p, closed_day: formatDate(closedDay), next_offset: w.manifest.next_offset, meters: w.manifest.meters, bytes: w.bytes, ms: Math.round(performance.now() - t0) }, 'partition snapshot written');
      } catch (e) {
        // a missed snapshot only lengthens a later restore's replay: log it, go on judging
        this.log.error({ partition: p, error: (e as Error).message }, 'partition snapshot not written');
      }
    }
  }
}
