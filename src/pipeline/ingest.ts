/**
 * Raw records → validated readings → store. Shared by file backfill and the Kafka worker:
 * the worker hands in decoded message payloads, backfill hands in file rows.
 */
import { validateReading, type Reading, type RegisterReading } from '../contracts/reading.js';
import { RegisterDeriver, type RegisterState } from '../core/register.js';
import type { OffsetMark, ReadingStore, StagedQuery } from '../store/readingStore.js';
import type { Reject, RejectSink } from '../sinks/rejects.js';
import type { RawBatch } from '../io/readers.js';
import { formatDate, formatLocal, HOUR_MS } from '../time.js';
import { classifyBeforeHorizon, loadRetention } from '../store/retention.js';

export interface IngestCounts {
  read: number;
  accepted: number;
  rejected: number;
  duplicate: number;
  /** Of accepted: register values that only set a meter's base (first value seen). */
  register_base: number;
  meters: Set<string>;
}

export interface Prepared {
  readings: Reading[];
  rejects: Reject[];
  read: number;
  registerBase: number;
  /** Register state after this batch, of the meters it touched: stored with the readings. */
  registerState: Map<string, RegisterState>;
  /** Records already accounted for: register values stored readings cover, readings of a day the rollup holds complete from before the raw horizon. */
  duplicates: number;
  /** The file row or message each reading came from, beside it (-1: unknown). */
  rows: number[];
}

/** Readings and, beside each, the row it came from. */
interface Kept { readings: Reading[]; rows: number[] }

function keepWhere(readings: readonly Reading[], rows: readonly number[], keep: (r: Reading, row: number) => boolean): Kept {
  const out: Kept = { readings: [], rows: [] };
  for (let i = 0; i < readings.length; i++) {
    if (!keep(readings[i]!, rows[i]!)) continue;
    out.readings.push(readings[i]!);
    out.rows.push(rows[i]!);
  }
  return out;
}

export function emptyCounts(): IngestCounts {
  return { read: 0, accepted: 0, rejected: 0, duplicate: 0, register_base: 0, meters: new Set() };
}

/**
 * A reading beyond what the meter's contract can deliver, this many times over, cannot be right:
 * a daily total read as 15 minutes (42 kWh in 15 min on a 4 kVA meter is 168 kW, 42×), a unit
 * error. Generous on purpose: workshops do draw beyond their contract (2–3× is seen), and a real
 * reading must never be refused, so only a physically absurd one is.
 */
export const CONTRACT_MARGIN = 10;

export class Ingestor {
  readonly counts = emptyCounts();
  private deriver: RegisterDeriver | undefined;
  private contracts: Map<string, number> | undefined;

  constructor(
    private readonly store: ReadingStore,
    /** The interval of records that carry none (backfill sets it per file from the file's cadence). */
    public defaultIntervalMin: number,
    /**
     * countMeters: count the distinct meters read (a backfill's summary). A worker, which never
     * reports it, says no: a set insert per reading was 7 % of an Arrow batch's store step.
     */
    private readonly opts: { countMeters: boolean } = { countMeters: true },
  ) {}

  /** The meter registry changed: contract capacities are read again at the next batch. */
  referenceChanged(): void {
    this.contracts = undefined;
  }

  /** Forget the register state held in memory (the worker dropped some meters' state). */
  resetRegisterState(): void {
    this.deriver = undefined;
  }

  private async ensureDeriver(): Promise<RegisterDeriver> {
    this.deriver ??= new RegisterDeriver(await this.store.loadRegisterState());
    return this.deriver;
  }

  /**
   * Validate a batch and derive register values, without storing anything yet. The worker sends
   * the rejects to its DLQ between prepare and commit, so a crash re-sends rather than loses them.
   */
  async prepare(batch: RawBatch, source: string, valid: readonly Reading[] = [], opts: { notAfterMs?: number } = {}): Promise<Prepared> {
    // `valid`: readings a decoder already checked against the same rules (Arrow columns)
    const readings: Reading[] = [...valid];
    // where each reading came from (file row or message offset), for a reject that names it: an
    // array beside the readings, as a map keyed by reading cost a third of a JSON batch's prepare
    const rows: number[] = new Array<number>(valid.length).fill(-1);
    const registers: RegisterReading[] = [];
    const registerRows = new Map<RegisterReading, number>();
    const rejects: Reject[] = batch.broken.map((b) => ({ source, row: b.row, reason: b.reason, record: b.raw }));
    let registerBase = 0;
    for (let i = 0; i < batch.records.length; i++) {
      const v = validateReading(batch.records[i], { defaultIntervalMin: this.defaultIntervalMin });
      if (!v.ok) rejects.push({ source, row: batch.rows[i]!, reason: v.reason, record: batch.records[i] });
      else if (v.kind === 'interval') {
        readings.push(v.reading);
        rows.push(batch.rows[i]!);
      }
      else {
        registers.push(v.reading);
        registerRows.set(v.reading, batch.rows[i]!);
      }
    }
    // derived on a draft of the register state: it advances only once the batch is stored (commit),
    // so a failed store leaves it as it was and a retry derives the same energy again
    let draft: RegisterDeriver | undefined;
    let registerDuplicates = 0;
    if (registers.length) {
      const deriver = await this.ensureDeriver();
      draft = new RegisterDeriver(new Map(registers.map((r) => [r.meter_id, deriver.state.get(r.meter_id)!] as const).filter(([, s]) => s !== undefined)));
      const stale: RegisterReading[] = [];
      for (const d of draft.derive(registers)) {
        if (d.ok === true) {
          readings.push(d.reading);
          rows.push(registerRows.get(d.record) ?? -1);
        }
        else if (d.ok === 'base') registerBase++;
        else if (d.stale) stale.push(d.record);
        else rejects.push({ source, row: registerRows.get(d.record) ?? 0, reason: d.reason, record: d.record });
      }
      // a value at or before the meter's last one: a duplicate when stored readings already cover
      // its time (the same file or topic read again), otherwise its interval is unknown
      if (stale.length) {
        const covered = await this.store.registerTimesCovered(stale.map((r) => ({ meter_id: r.meter_id, ts_ms: r.ts_ms })));
        for (const r of stale) {
          if (covered.has(`${r.meter_id}|${r.ts_ms}`)) registerDuplicates++;
          else rejects.push({ source, row: registerRows.get(r) ?? 0, reason: `reading_kwh: register value older than the last one derived for this meter, at a time no stored reading covers; its interval is unknown`, record: r });
        }
      }
    }
    const registerState = new Map<string, RegisterState>();
    if (draft) for (const r of registers) registerState.set(r.meter_id, draft.state.get(r.meter_id)!);
    this.contracts ??= await this.store.contractCapacities();
    // a streaming worker knows what "now" is: a reading from beyond it (a meter or head-end clock
    // gone wrong, a year typed wrong) would move the watermark and close days that have not happened
    const notAfter = opts.notAfterMs;
    const timely = notAfter === undefined ? { readings, rows } : keepWhere(readings, rows, (r, row) => {
      if (r.ts_ms <= notAfter) return true;
      rejects.push({
        source, row, record: r,
        reason: `ts: ${formatLocal(r.ts_ms)} is ${((r.ts_ms - notAfter) / HOUR_MS).toFixed(1)} h beyond the worker's clock and its allowed skew (a meter or head-end clock gone wrong?)`,
      });
      return false;
    });
    const plausible = this.contracts.size ? keepWhere(timely.readings, timely.rows, (r, row) => {
      const kva = this.contracts!.get(r.meter_id);
      if (kva === undefined || r.kwh <= CONTRACT_MARGIN * kva * (r.interval_min / 60)) return true;
      const kw = (r.kwh * 60) / r.interval_min;
      rejects.push({
        source, row, record: r,
        reason: `kwh: ${r.kwh} kWh in ${r.interval_min} min is ${Math.round(kw)} kW on a ${kva} kVA contract, beyond what the meter can deliver (a daily value without interval_min: 1440? a unit error?)`,
      });
      return false;
    }) : timely;
    const kept = await this.beforeRawHorizon(plausible, rejects, source);
    return { readings: kept.readings, rows: kept.rows, rejects, read: valid.length + batch.records.length + batch.broken.length, registerBase, registerState, duplicates: registerDuplicates + kept.duplicates };
  }

  /**
   * Readings from before the raw horizon (store.raw_days): their raw neighbours are deleted, so
   * the store cannot de-duplicate them. New history is stored; a reading of a day the rollup holds
   * complete is a duplicate; any other is rejected, as adding it might count it twice.
   */
  private async beforeRawHorizon({ readings, rows }: Kept, rejects: Reject[], source: string): Promise<Kept & { duplicates: number }> {
    const h = await loadRetention(this.store.db);
    const from = h.rawFromMs;
    if (from === undefined || !readings.some((r) => r.ts_ms <= from)) return { readings, rows, duplicates: 0 };
    const old = readings.filter((r) => r.ts_ms <= from);
    const verdicts = await classifyBeforeHorizon(this.store.db, old, h);
    const verdictOf = new Map(old.map((r, i) => [r, verdicts[i]!]));
    let duplicates = 0;
    const kept = keepWhere(readings, rows, (r, row) => {
      const v = verdictOf.get(r) ?? 'new';
      if (v === 'new') return true;
      if (v === 'duplicate') duplicates++;
      else {
        rejects.push({
          source, row, record: r,
          reason: v === 'expired'
            ? `ts: ${formatLocal(r.ts_ms)} is before the daily horizon ${formatDate(h.dailyFromMs!)} (store.daily_days); nothing is kept that old`
            : `ts: ${formatLocal(r.ts_ms)} is before the raw horizon ${formatDate(from)} (store.raw_days), in an hour the rollups hold with a gap: whether it is the missing reading or a repeat cannot be told, so it is not added`,
        });
      }
      return false;
    });
    return { ...kept, duplicates };
  }

  /**
   * Store a prepared batch (with the Kafka offsets it covers, in the same transaction). `also`:
   * readings a file's SQL checks already staged in DuckDB (store/nativeFile.ts); the prepared ones
   * are the rows those checks declined, so each keeps its file row and the first in the file wins.
   */
  async commit(p: Prepared, offsets: readonly OffsetMark[] = [], also?: StagedQuery): Promise<void> {
    // register state in the same transaction as the readings derived from it: a crash between the
    // two would otherwise re-derive the next readings from a stale base
    const seqOf = also ? (i: number) => p.rows[i]! : undefined;
    const r = await this.store.append(p.readings, offsets, p.registerState, { seqOf, also });
    for (const [meter, state] of p.registerState) this.deriver?.state.set(meter, state);
    if (this.opts.countMeters) {
      for (const x of p.readings) this.counts.meters.add(x.meter_id);
      for (const m of also?.meters ?? []) this.counts.meters.add(m);
    }
    this.counts.read += p.read + (also?.rows ?? 0);
    this.counts.accepted += r.accepted;
    this.counts.register_base += p.registerBase;
    this.counts.duplicate += r.duplicate + p.duplicates;
    this.counts.rejected += p.rejects.length;
  }

  /**
   * Validate and store one batch of raw records from `source` (file backfill); rejects go to `sink`.
   * `also`: the readings of the same file that DuckDB already checked (see commit).
   */
  async ingest(batch: RawBatch, source: string, sink: RejectSink, also?: StagedQuery): Promise<Reading[]> {
    const p = await this.prepare(batch, source);
    // rejects are written first: a crash before the store commit re-sends them, never loses them
    sink.write(p.rejects);
    await this.commit(p, [], also);
    return p.readings;
  }

  /**
   * accepted counts register base values too, so read = accepted + rejected + duplicate; meters:
   * the distinct meters read, where counted (0 for a worker's ingestor).
   */
  totals(): Omit<IngestCounts, 'meters'> & { meters: number } {
    const c = this.counts;
    return { read: c.read, accepted: c.accepted + c.register_base, rejected: c.rejected, duplicate: c.duplicate, register_base: c.register_base, meters: c.meters.size };
  }
}
