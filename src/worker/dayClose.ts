/**
 * When a worker judges days: a pure state machine (no Kafka, no DuckDB), fed with what the
 * worker observed and asked what to do next. The worker carries out its answers.
 *
 * Day-level detection happens in two steps across the workers of a group:
 *  - prepare: once this worker's slowest partition's watermark passes a day's end plus the allowed
 *    lateness (or the feed has gone idle), its meters' peer rows are computed and published, then
 *    a marker per owned partition ("prepared through day D");
 *  - judge: once every partition's marker (any worker's) has passed a day, the day-level detectors
 *    run through it, so peer medians cover all meters, as one worker holding all would.
 * Late readings for a prepared day re-prepare from their day and re-judge; changed peer rows of
 * another worker for a judged day re-judge.
 */
import { DAY_MS, lastCompleteDay } from '../time.js';

export interface PrepareStep {
  /** Prepare through this local day (midnight, local ms). */
  day: number;
  /**
   * Recompute every meter's peer rows from this day on; undefined = all days (gained meters). The
   * meters whose readings came late are recomputed from their day by the store's marks.
   */
  sinceDayMs: number | undefined;
}

export class DayClose {
  private watermarks = new Map<number, number>();
  private lastClosedDay = -Infinity;
  private lastPreparedDay = -Infinity;
  /** Readings arrived for a day already prepared: the next close re-prepares (their meters, from their days: the store's marks) and re-judges. */
  private lateFrom: number | undefined;
  /** Another worker's peer rows changed for a day already judged: the next close re-judges. */
  private peersChangedSinceClose = false;
  /** Partitions were gained: publish markers for them at the next prepare even if the day has not moved. */
  private mustPrepare = false;
  /** A partition was gained without state: its meters' peer rows are computed for every day. */
  private fullPrepare = false;
  /** A partition was loaded from a snapshot: peer rows from the day after its close on. */
  private restoredSince: number | undefined;
  /** Readings partitions' prepared-through days, as read back from the peers topic (all workers'). */
  private peerMarks = new Map<number, number>();
  /** Readings partitions that held no data at the last assignment: they hold a day back only once they have data or a marker. */
  private emptyPartitions = new Set<number>();
  private partitionCount = 0;

  /** State the store kept across a restart. */
  restore(s: { watermarks?: ReadonlyMap<number, number>; lastClosedDay?: number; lastPreparedDay?: number }): void {
    for (const [p, w] of s.watermarks ?? []) this.watermarks.set(p, w);
    if (s.lastClosedDay !== undefined) this.lastClosedDay = s.lastClosedDay;
    if (s.lastPreparedDay !== undefined) this.lastPreparedDay = s.lastPreparedDay;
  }

  /** A rebalance: the topic's partition count, which partitions are empty, whether any was gained. */
  assigned(a: { partitionCount: number; emptyPartitions: Iterable<number>; gained: boolean }): void {
    this.partitionCount = a.partitionCount;
    this.emptyPartitions = new Set(a.emptyPartitions);
    if (a.gained) this.mustPrepare = this.fullPrepare = true;
  }

  /**
   * A gained partition was loaded from a snapshot written after closing `closedDayMs`: its meters'
   * peer rows are in the store through that day, so the next prepare computes them from the day
   * after (with markers for it), not for every day as a replayed partition needs.
   */
  restoredFromSnapshot(closedDayMs: number): void {
    this.mustPrepare = true;
    if (!Number.isFinite(this.lastPreparedDay)) this.lastPreparedDay = closedDayMs;
    this.restoredSince = Math.min(this.restoredSince ?? Infinity, closedDayMs + DAY_MS);
  }

  lost(partitions: readonly number[]): void {
    for (const p of partitions) this.watermarks.delete(p);
  }

  /** A batch came in for a partition: it is not empty any more. */
  sawData(partition: number): void {
    this.emptyPartitions.delete(partition);
  }

  /** Readings stored for a partition (their interval ends, local ms). Returns the partition's watermark. */
  stored(partition: number, tsMs: readonly number[]): number | undefined {
    let wm = this.watermarks.get(partition) ?? -Infinity;
    let earliest = Infinity;
    for (const t of tsMs) {
      if (t > wm) wm = t;
      if (t < earliest) earliest = t;
    }
    if (Number.isFinite(wm)) this.watermarks.set(partition, wm);
    // a reading for a day already prepared (peer rows published) or judged: its day's peer rows on are computed again
    if (earliest <= Math.max(this.lastClosedDay, this.lastPreparedDay) + DAY_MS) {
      this.lateFrom = Math.min(this.lateFrom ?? Infinity, Math.floor((earliest - 1) / DAY_MS) * DAY_MS);
    }
    return Number.isFinite(wm) ? wm : undefined;
  }

  /** Peer rows from other workers changed these days. */
  peerRowsChanged(days: readonly number[]): void {
    if (days.some((d) => d <= this.lastClosedDay)) this.peersChangedSinceClose = true;
  }

  /** Partition markers read back from the peers topic (a marker only ever moves forward). */
  marks(marks: readonly { partition: number; day: number }[]): void {
    for (const k of marks) if (k.day > (this.peerMarks.get(k.partition) ?? -Infinity)) this.peerMarks.set(k.partition, k.day);
  }

  get reJudgeWanted(): boolean {
    return this.peersChangedSinceClose;
  }

  /** What to prepare now, if anything. `idle`: the feed went quiet, so no lateness is waited for. */
  nextPrepare(idle: boolean, allowedLatenessMs: number): PrepareStep | undefined {
    if (!this.watermarks.size) return undefined;
    const wm = Math.min(...this.watermarks.values());
    const day = Math.max(lastCompleteDay(wm - (idle ? 0 : allowedLatenessMs)), this.lastPreparedDay);
    if (day <= this.lastPreparedDay && this.lateFrom === undefined && !this.mustPrepare) return undefined;
    // only the days since the last prepare, unless meters were gained without state (late readings'
    // meters and days are the store's marks, not a day for every meter)
    const full = this.fullPrepare || !Number.isFinite(this.lastPreparedDay);
    return { day, sinceDayMs: full ? undefined : Math.min(this.lastPreparedDay + DAY_MS, this.restoredSince ?? Infinity) };
  }

  /** The peer rows and markers of a prepare step were published. */
  prepared(day: number): void {
    if (this.lateFrom !== undefined) this.peersChangedSinceClose = true;
    this.lateFrom = undefined;
    this.mustPrepare = this.fullPrepare = false;
    this.restoredSince = undefined;
    this.lastPreparedDay = day;
  }

  /** The day to judge through now, if any. */
  nextJudge(): number | undefined {
    let judge = Infinity;
    for (let p = 0; p < this.partitionCount; p++) {
      const mark = this.peerMarks.get(p);
      // a partition that has never held data and has no marker yet does not hold the day back
      if (mark !== undefined || !this.emptyPartitions.has(p)) judge = Math.min(judge, mark ?? -Infinity);
    }
    if (!Number.isFinite(judge)) return undefined;
    // peer rows are ready only through what this worker prepared itself
    judge = Math.min(judge, this.lastPreparedDay);
    if (judge <= this.lastClosedDay && !this.peersChangedSinceClose) return undefined;
    return Math.max(judge, this.lastClosedDay);
  }

  /** The day-level detectors ran through `day`. */
  judged(day: number): void {
    this.peersChangedSinceClose = false;
    this.lastClosedDay = day;
  }

  get closedThrough(): number {
    return this.lastClosedDay;
  }

  get preparedThrough(): number {
    return this.lastPreparedDay;
  }

  /** Per partition, the latest interval end stored (local ms). */
  watermarkOf(): ReadonlyMap<number, number> {
    return this.watermarks;
  }
}
