/**
 * A fetched batch of the readings topic → raw records for the ingestor, and dead letters for what
 * cannot be decoded or validated. Pure: no producer, no store.
 */
import type { RawBatch } from '../io/readers.js';
import type { Reading } from '../contracts/reading.js';
import type { Reject } from '../sinks/rejects.js';
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
