/**
 * A fetched batch of the readings topic → raw records for the ingestor, and dead letters for what
 * cannot be decoded or validated (decodeReadings and rejectsToDeadLetters are pure); storeBatch
 * runs the whole step against the narrow parts it needs.
 */
import type { RawBatch } from '../io/readers.js';
import type { Reading } from '../contracts/reading.js';
import type { Reject } from '../sinks/rejects.js';
import type { Ingestor, Prepared } from '../pipeline/ingest.js';
import { decodeMessage } from './decode.js';
import type { DeadLetter } from './publisher.js';

export interface ReadingMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, unknown>;
}

export interface DecodedReadings {
  raw: RawBatch;
  /** Readings a decoder already validated (Arrow columns). */
  valid: Reading[];
  dead: DeadLetter[];
  /** The messages decoded, and beside each the records it held (a one-record message is dead-lettered with its own bytes). */
  decoded: ReadingMessage[];
  recordCounts: number[];
}

export function decodeReadings(messages: readonly ReadingMessage[], topic: string, partition: number, maxMessageBytes: number, defaultIntervalMin: number): DecodedReadings {
  const raw: RawBatch = { records: [], rows: [], broken: [] };
  const valid: Reading[] = [];
  const dead: DeadLetter[] = [];
  // arrays, not maps by offset: only a batch with rejects looks a message up again, and a map
  // entry per message cost more than decoding the message (a 137k-message batch of single readings)
  const decoded: ReadingMessage[] = [];
  const recordCounts: number[] = [];
  for (const m of messages) {
    const d = decodeMessage(m.value, (m.headers ?? {}) as Record<string, unknown>, maxMessageBytes, defaultIntervalMin);
    if (!d.ok) {
      dead.push({ topic, partition, offset: m.offset, key: m.key, value: m.value, reason: d.reason, headers: m.headers });
      continue;
    }
    const offset = Number(m.offset);
    for (const rec of d.records) {
      raw.records.push(rec);
      raw.rows.push(offset);
    }
    decoded.push(m);
    recordCounts.push(d.records.length);
    if (d.readings) for (const r of d.readings) valid.push(r);
  }
  return { raw, valid, dead, decoded, recordCounts };
}

/** A bulk message with more rejected elements than this goes to the DLQ once, whole, not element by element. */
export const BULK_DEAD_LETTER_ELEMENTS = 1000;

/**
 * Rejected records as dead letters: a single-reading message with its original bytes, an element
 * of a bulk message as its JSON - unless most of a big message is bad (a feed sending garbage):
 * then the message goes once, whole, with the first reason and the count, rather than as 100k
 * letters that would flood the DLQ and exceed what one produce request may carry.
 */
export function rejectsToDeadLetters(rejects: readonly Reject[], d: DecodedReadings, topic: string, partition: number): DeadLetter[] {
  const perOffset = new Map<number, Reject[]>();
  for (const r of rejects) (perOffset.get(r.row) ?? perOffset.set(r.row, []).get(r.row)!).push(r);
  const out: DeadLetter[] = [];
  if (!perOffset.size) return out;
  const indexOf = new Map(d.decoded.map((m, i) => [Number(m.offset), i]));
  for (const [row, rs] of perOffset) {
    const i = indexOf.get(row);
    const m = i === undefined ? undefined : d.decoded[i];
    const records = i === undefined ? 0 : d.recordCounts[i]!;
    if (m && rs.length > BULK_DEAD_LETTER_ELEMENTS) {
      out.push({
        topic, partition, offset: String(row), key: m.key, value: m.value,
        reason: `${rs[0]!.reason} (and ${rs.length - 1} more: ${rs.length} of the message's ${records} elements rejected; the whole message is here)`,
        headers: { ...(m.headers ?? {}), 'x-rejected-elements': String(rs.length) },
      });
      continue;
    }
    const single = m !== undefined && records === 1;
    for (const r of rs) {
      out.push({
        topic, partition, offset: String(r.row), key: m?.key ?? null,
        value: single ? m.value : Buffer.from(JSON.stringify(r.record)),
        reason: r.reason,
        headers: single ? m.headers : {},
      });
    }
  }
  return out;
}

export interface StoreBatchContext {
  ingestor: Ingestor;
  sendDlq(dead: DeadLetter[]): Promise<void>;
  heartbeat(): Promise<void>;
  /** The partition's watermark before this batch (local ms). */
  watermarkMs: number | undefined;
  maxMessageBytes: number;
  defaultIntervalMin: number;
  /** Readings after this (local ms: now plus the allowed clock skew) are dead-lettered, not stored. */
  notAfterMs?: number;
}

/**
 * Decode, validate and store one batch with the partition's next offset and watermark, in one
 * store transaction. Dead letters are produced before that commit: a crash re-sends them, never
 * loses them.
 */
export async function storeBatch(ctx: StoreBatchContext, topic: string, partition: number, messages: readonly ReadingMessage[], nextOffset: bigint): Promise<Prepared> {
  const decoded = decodeReadings(messages, topic, partition, ctx.maxMessageBytes, ctx.defaultIntervalMin);
  const prepared = await ctx.ingestor.prepare(decoded.raw, `${topic}/${partition}`, decoded.valid, { notAfterMs: ctx.notAfterMs });
  await ctx.sendDlq([...decoded.dead, ...rejectsToDeadLetters(prepared.rejects, decoded, topic, partition)]);
  await ctx.heartbeat();
  let wm = ctx.watermarkMs ?? -Infinity;
  for (const r of prepared.readings) if (r.ts_ms > wm) wm = r.ts_ms;
  await ctx.ingestor.commit(prepared, [{ topic, partition, next_offset: nextOffset, watermark_ms: Number.isFinite(wm) ? wm : undefined }]);
  return prepared;
}
