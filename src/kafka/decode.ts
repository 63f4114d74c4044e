/**
 * Kafka message → raw reading records. Forms: one JSON reading, a JSON array of readings, or an
 * Apache Arrow IPC stream (header content-type: application/vnd.apache.arrow.stream).
 * A message that cannot be decoded is returned as an error with the reason (→ DLQ).
 */
import { RecordBatchStreamReader } from 'apache-arrow';
import { arrowBatchToRecords, type RawBatch } from '../io/readers.js';

export const ARROW_CONTENT_TYPE = 'application/vnd.apache.arrow.stream';

export type Decoded = { ok: true; records: unknown[] } | { ok: false; reason: string };

function header(headers: Record<string, unknown> | undefined, name: string): string | undefined {
  const v = headers?.[name];
  if (v === undefined || v === null) return undefined;
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

export function decodeMessage(value: Buffer | null, headers: Record<string, unknown> | undefined, maxBytes: number): Decoded {
  if (value === null || value.length === 0) return { ok: false, reason: 'message: empty value (tombstone or nothing sent)' };
  if (value.length > maxBytes) return { ok: false, reason: `message: ${value.length} bytes exceeds max_message_bytes ${maxBytes}` };
  const ct = header(headers, 'content-type');
  if (ct?.startsWith(ARROW_CONTENT_TYPE)) {
    try {
      const reader = RecordBatchStreamReader.from(value);
      const out: RawBatch = { records: [], rows: [], broken: [] };
      let row = 0;
      let batches = 0;
      for (const b of reader) {
        arrowBatchToRecords(b, row, out, 'arrow message');
        row += b.numRows;
        batches++;
      }
      if (batches === 0) return { ok: false, reason: 'arrow: stream holds no record batch (truncated?)' };
      return { ok: true, records: out.records };
    } catch (e) {
      return { ok: false, reason: `arrow: ${(e as Error).message.split('\n')[0]}` };
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (e) {
    return { ok: false, reason: `message: not JSON (${(e as Error).message})` };
  }
  if (Array.isArray(parsed)) return { ok: true, records: parsed };
  return { ok: true, records: [parsed] };
}
