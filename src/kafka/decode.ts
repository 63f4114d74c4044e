/**
 * Kafka message → raw reading records. Forms: one JSON reading, a JSON array of readings, or an
 * Apache Arrow IPC stream (header content-type: application/vnd.apache.arrow.stream).
 * A message that cannot be decoded is returned as an error with the reason (→ DLQ).
 */
import { RecordBatchStreamReader, Type, type RecordBatch } from 'apache-arrow';
import { arrowBatchToRecords, type RawBatch } from '../io/readers.js';
import { intervalReading, type Reading } from '../contracts/reading.js';

export const ARROW_CONTENT_TYPE = 'application/vnd.apache.arrow.stream';

/** records go through validation; readings are already valid (an Arrow batch whose every row passed). */
export type Decoded = { ok: true; records: unknown[]; readings?: Reading[] } | { ok: false; reason: string };

const LONG_INTERVAL_COLUMNS = new Set(['meter_id', 'ts', 'kwh', 'interval_min']);
const SHANGHAI_MS = 8 * 3600_000;

/**
 * Columnar fast path for an Arrow batch of interval readings (meter_id, ts as a timestamp, kwh
 * [, interval_min]): typed values straight to readings, no text timestamps in between. Any row that
 * breaks a rule sends the whole batch down the record path instead, so zod still names the reason.
 */
function arrowReadings(b: RecordBatch, defaultIntervalMin: number): Reading[] | undefined {
  const fields = b.schema.fields;
  if (!fields.every((f) => LONG_INTERVAL_COLUMNS.has(f.name)) || !fields.some((f) => f.name === 'kwh')) return undefined;
  const tsField = fields.find((f) => f.name === 'ts');
  if (!tsField || tsField.type.typeId !== Type.Timestamp) return undefined;
  // naive timestamps are Shanghai wall time already; zoned ones are UTC instants
  const shift = (tsField.type as { timezone?: string | null }).timezone ? SHANGHAI_MS : 0;
  const ids = b.getChild('meter_id'), ts = b.getChild('ts')!, kwh = b.getChild('kwh')!, iv = b.getChild('interval_min');
  if (!ids) return undefined;
  const out: Reading[] = new Array(b.numRows);
  const opts = { defaultIntervalMin };
  for (let i = 0; i < b.numRows; i++) {
    const t = ts.get(i) as number | bigint | Date | null;
    const ms = t === null ? NaN : t instanceof Date ? t.getTime() : Number(t);
    const iVal = iv?.get(i);
    const r = intervalReading(ids.get(i), ms + shift, kwh.get(i), typeof iVal === 'bigint' ? Number(iVal) : iVal ?? undefined, opts);
    if (!r) return undefined;
    out[i] = r;
  }
  return out;
}

function header(headers: Record<string, unknown> | undefined, name: string): string | undefined {
  const v = headers?.[name];
  if (v === undefined || v === null) return undefined;
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

export function decodeMessage(value: Buffer | null, headers: Record<string, unknown> | undefined, maxBytes: number, defaultIntervalMin = 15): Decoded {
  if (value === null || value.length === 0) return { ok: false, reason: 'message: empty value (tombstone or nothing sent)' };
  if (value.length > maxBytes) return { ok: false, reason: `message: ${value.length} bytes exceeds max_message_bytes ${maxBytes}` };
  const ct = header(headers, 'content-type');
  if (ct?.startsWith(ARROW_CONTENT_TYPE)) {
    try {
      const reader = RecordBatchStreamReader.from(value);
      const out: RawBatch = { records: [], rows: [], broken: [] };
      const readings: Reading[] = [];
      let row = 0;
      let batches = 0;
      for (const b of reader) {
        const fast = arrowReadings(b, defaultIntervalMin);
        if (fast) for (const r of fast) readings.push(r);
        else arrowBatchToRecords(b, row, out, 'arrow message');
        row += b.numRows;
        batches++;
      }
      if (batches === 0) return { ok: false, reason: 'arrow: stream holds no record batch (truncated?)' };
      return { ok: true, records: out.records, readings };
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
