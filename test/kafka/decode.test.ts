/**
 * The Arrow columnar fast path and the record path (Arrow → records → zod contract) agree: the
 * same readings from well-formed batches, and a batch with any bad row goes down the record path
 * whole, so its rejects carry zod's reasons naming the field.
 */
import { describe, it, expect } from 'vitest';
import { tableToIPC, Table, vectorFromArray, Utf8, Float32, Float64, Int16, Int32, TimestampMillisecond, TimestampSecond, Field, Timestamp, TimeUnit } from 'apache-arrow';
import { decodeMessage, ARROW_CONTENT_TYPE } from '../../src/kafka/decode.js';
import { validateWithZod } from '../../src/contracts/reading.js';
import { rng } from '../../src/fixtures/district.js';

const H = { 'content-type': ARROW_CONTENT_TYPE };

function message(cols: Record<string, import("apache-arrow").Vector>): Buffer {
  return Buffer.from(tableToIPC(new Table(cols), 'stream'));
}

/** What the record path makes of a message: each record through the zod contract. */
function viaRecords(buf: Buffer) {
  const d = decodeMessage(buf, H, 1e9);
  if (!d.ok) throw new Error(d.reason);
  return d.records.map((r) => validateWithZod(r, { defaultIntervalMin: 15 }));
}

describe('Arrow decode: columnar fast path ≡ record path', () => {
  it('random well-formed batches give the same readings both ways', () => {
    const rand = rng(7);
    for (let round = 0; round < 20; round++) {
      const n = 1 + Math.floor(rand() * 500);
      const ids = Array.from({ length: n }, () => `35010200${Math.floor(rand() * 1e5)}`);
      const ts = Array.from({ length: n }, () => Date.UTC(2026, 8, 1) + Math.floor(rand() * 96 * 30) * 900_000);
      const kwh = Array.from({ length: n }, () => Math.round(rand() * 5000) / 1000);
      const withInterval = round % 2 === 0;
      const cols: Record<string, import("apache-arrow").Vector> = {
        meter_id: vectorFromArray(ids, new Utf8()), ts: vectorFromArray(ts, new TimestampMillisecond()), kwh: vectorFromArray(kwh, new Float64()),
      };
      if (withInterval) cols.interval_min = vectorFromArray(ids.map(() => (rand() < 0.5 ? 15 : 60)), new Int32());
      const buf = message(cols);
      const fast = decodeMessage(buf, H, 1e9);
      expect(fast.ok).toBe(true);
      if (!fast.ok) return;
      expect(fast.records).toEqual([]);
      expect(fast.readings!.length).toBe(n);
      // the record path, forced: the same rows as JSON records (ts as naive local text)
      const slow = ids.map((id, i) => validateWithZod({ meter_id: id, ts: new Date(ts[i]!).toISOString().slice(0, 19), kwh: kwh[i], ...(withInterval ? { interval_min: (cols.interval_min!.get(i) as number) } : {}) }, { defaultIntervalMin: 15 }));
      expect(fast.readings).toEqual(slow.map((v) => (v.ok && v.kind === 'interval' ? v.reading : v)));
    }
  });

  it('zoned timestamps are instants: shifted to Shanghai wall time like the text path', async () => {
    const ts = [Date.UTC(2026, 8, 1, 16, 15)];
    const field = new Field('ts', new Timestamp(TimeUnit.SECOND, 'UTC'));
    const buf = message({ meter_id: vectorFromArray(['m1'], new Utf8()), ts: vectorFromArray(ts, field.type as TimestampSecond), kwh: vectorFromArray([0.5], new Float64()) });
    const d = decodeMessage(buf, H, 1e9);
    expect(d.ok && d.readings![0]!.ts_ms).toBe(Date.UTC(2026, 8, 2, 0, 15));
    // the record path (text timestamps through zod) lands on the same instant
    const { arrowBatchToRecords } = await import('../../src/io/readers.js');
    const { RecordBatchStreamReader } = await import('apache-arrow');
    const out = { records: [] as unknown[], rows: [] as number[], broken: [] };
    for (const b of RecordBatchStreamReader.from(buf)) arrowBatchToRecords(b, 0, out, 'test');
    const v = validateWithZod(out.records[0], { defaultIntervalMin: 15 });
    expect(v.ok && v.kind === 'interval' && v.reading.ts_ms).toBe(Date.UTC(2026, 8, 2, 0, 15));
  });

  it('columns read row by row (a float32 kwh, a 16-bit interval, seconds) or refused (an id of other bytes, a null) give what the record path gives', () => {
    const tsS = [Date.UTC(2026, 8, 1, 0, 15) / 1000, Date.UTC(2026, 8, 1, 0, 30) / 1000];
    const secondsType = new Field('ts', new Timestamp(TimeUnit.SECOND)).type as TimestampSecond;
    const cases: [string, Record<string, import('apache-arrow').Vector>][] = [
      ['float32 kwh', { meter_id: vectorFromArray(['m1', 'm2'], new Utf8()), ts: vectorFromArray(tsS.map((x) => x * 1000), new TimestampMillisecond()), kwh: vectorFromArray([0.5, 0.25], new Float32()) }],
      ['int16 interval, seconds', { meter_id: vectorFromArray(['m1', 'm2'], new Utf8()), ts: vectorFromArray(tsS.map((x) => x * 1000), secondsType), kwh: vectorFromArray([0.5, 1.5], new Float64()), interval_min: vectorFromArray([15, 60], new Int16()) }],
      ['an id of other bytes', { meter_id: vectorFromArray(['m1', '电表2'], new Utf8()), ts: vectorFromArray(tsS.map((x) => x * 1000), new TimestampMillisecond()), kwh: vectorFromArray([0.5, 0.7], new Float64()) }],
      ['a null kwh', { meter_id: vectorFromArray(['m1', 'm2'], new Utf8()), ts: vectorFromArray(tsS.map((x) => x * 1000), new TimestampMillisecond()), kwh: vectorFromArray([0.5, null], new Float64()) }],
    ];
    for (const [what, cols] of cases) {
      const buf = message(cols);
      const d = decodeMessage(buf, H, 1e9);
      expect(d.ok, what).toBe(true);
      if (!d.ok) continue;
      // what the columns hold, each row through the zod contract
      const rows = Array.from({ length: 2 }, (_, i) => ({
        meter_id: cols.meter_id!.get(i), ts: new Date(Number(cols.ts!.get(i))).toISOString().slice(0, 19), kwh: cols.kwh!.get(i),
        ...(cols.interval_min ? { interval_min: cols.interval_min.get(i) } : {}),
      }));
      const expected = rows.map((r) => validateWithZod(r, { defaultIntervalMin: 15 }));
      if (expected.every((v) => v.ok)) expect(d.readings, what).toEqual(expected.map((v) => v.ok && v.kind === 'interval' && v.reading));
      else {
        // one bad row: the whole batch goes down the record path, where zod names the field
        expect(d.readings, what).toEqual([]);
        expect(viaRecords(buf).filter((v) => !v.ok).map((v) => !v.ok && v.reason.split(':')[0]), what).toEqual(expected.filter((v) => !v.ok).map((v) => !v.ok && v.reason.split(':')[0]));
      }
    }
  });

  it('a batch with one bad row goes down the record path whole; zod names the field', () => {
    const buf = message({
      meter_id: vectorFromArray(['m1', 'm2', 'm3'], new Utf8()),
      ts: vectorFromArray([Date.UTC(2026, 8, 1, 0, 15), Date.UTC(2026, 8, 1, 0, 30), Date.UTC(2026, 8, 1, 0, 45)], new TimestampMillisecond()),
      kwh: vectorFromArray([0.5, -2, 0.7], new Float64()),
    });
    const d = decodeMessage(buf, H, 1e9);
    expect(d.ok && d.readings).toEqual([]);
    const v = viaRecords(buf);
    expect(v.filter((x) => x.ok).length).toBe(2);
    expect(v.find((x) => !x.ok)).toMatchObject({ ok: false, reason: expect.stringMatching(/^kwh: /) });
  });
});
