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
  byOffset: Map<number, ReadingMessage>;
  /** Records each message held: a one-record message is dead-lettered with its own bytes. */
  recordsPerOffset: Map<number, number>;
}

export function decodeReadings(messages: readonly ReadingMessage[], topic: string, partition: number, maxMessageBytes: number, defaultIntervalMin: number): DecodedReadings {
  const raw: RawBatch = { records: [], rows: [], broken: [] };
  const valid: Reading[] = [];
  const dead: DeadLetter[] = [];
  const byOffset = new Map<number, ReadingMessage>();
  const recordsPerOffset = new Map<number, number>();
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
    recordsPerOffset.set(offset, d.records.length);
    if (d.readings) for (const r of d.readings) valid.push(r);
    byOffset.set(offset, m);
  }
  return { raw, valid, dead, byOffset, recordsPerOffset };
}

/** Rejected records as dead letters: a single-reading message with its original bytes, an element of a bulk message as its JSON. */
export function rejectsToDeadLetters(rejects: readonly Reject[], d: DecodedReadings, topic: string, partition: number): DeadLetter[] {
  return rejects.map((r) => {
    const m = d.byOffset.get(r.row);
    const single = m !== undefined && d.recordsPerOffset.get(r.row) === 1;
    return {
      topic, partition, offset: String(r.row), key: m?.key ?? null,
      value: single ? m.value : Buffer.from(JSON.stringify(r.record)),
      reason: r.reason,
      headers: single ? m.headers : {},
    };
  });
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
