/**
 * Raw records → validated readings → store. Shared by file backfill and the Kafka worker:
 * the worker hands in decoded message payloads, backfill hands in file rows.
 */
import { validateReading, type Reading, type RegisterReading } from '../contracts/reading.js';
import { RegisterDeriver } from '../core/register.js';
import type { ReadingStore } from '../store/readingStore.js';
import type { Reject, RejectSink } from '../sinks/rejects.js';
import type { RawBatch } from '../io/readers.js';

export interface IngestCounts {
  read: number;
  accepted: number;
  rejected: number;
  duplicate: number;
  /** Of accepted: register values that only set a meter's base (first value seen). */
  register_base: number;
  meters: Set<string>;
}

export function emptyCounts(): IngestCounts {
  return { read: 0, accepted: 0, rejected: 0, duplicate: 0, register_base: 0, meters: new Set() };
}

export class Ingestor {
  readonly counts = emptyCounts();
  private deriver: RegisterDeriver | undefined;

  constructor(
    private readonly store: ReadingStore,
    private readonly rejects: RejectSink,
    private readonly defaultIntervalMin: number,
  ) {}

  private async ensureDeriver(): Promise<RegisterDeriver> {
    this.deriver ??= new RegisterDeriver(await this.store.loadRegisterState());
    return this.deriver;
  }

  /** Validate and store one batch of raw records from `source`. */
  async ingest(batch: RawBatch, source: string): Promise<void> {
    const readings: Reading[] = [];
    const registers: RegisterReading[] = [];
    const registerRows = new Map<RegisterReading, number>();
    const rejects: Reject[] = batch.broken.map((b) => ({ source, row: b.row, reason: b.reason, record: b.raw }));
    for (let i = 0; i < batch.records.length; i++) {
      const v = validateReading(batch.records[i], { defaultIntervalMin: this.defaultIntervalMin });
      if (!v.ok) rejects.push({ source, row: batch.rows[i]!, reason: v.reason, record: batch.records[i] });
      else if (v.kind === 'interval') readings.push(v.reading);
      else {
        registers.push(v.reading);
        registerRows.set(v.reading, batch.rows[i]!);
      }
    }
    if (registers.length) {
      const deriver = await this.ensureDeriver();
      for (const d of deriver.derive(registers)) {
        if (d.ok === true) readings.push(d.reading);
        else if (d.ok === 'base') this.counts.register_base++;
        else rejects.push({ source, row: registerRows.get(d.record) ?? 0, reason: d.reason, record: d.record });
      }
    }
    const r = await this.store.append(readings);
    if (registers.length && this.deriver) await this.store.saveRegisterState(this.deriver.state);
    this.rejects.write(rejects);
    for (const x of readings) this.counts.meters.add(x.meter_id);
    this.counts.read += batch.records.length + batch.broken.length;
    this.counts.accepted += r.accepted;
    this.counts.duplicate += r.duplicate;
    this.counts.rejected += rejects.length;
  }

  /** accepted counts register base values too, so read = accepted + rejected + duplicate. */
  totals(): Omit<IngestCounts, 'meters'> & { meters: number } {
    const c = this.counts;
    return { read: c.read, accepted: c.accepted + c.register_base, rejected: c.rejected, duplicate: c.duplicate, register_base: c.register_base, meters: c.meters.size };
  }
}
