import { describe, it, expect, afterEach } from 'vitest';
import { openDb, type Db } from '../../src/store/db.js';
import { ReadingStore } from '../../src/store/readingStore.js';
import { Ingestor } from '../../src/pipeline/ingest.js';
import { decodeReadings, rejectsToDeadLetters, type ReadingMessage } from '../../src/kafka/readingsBatch.js';

const msg = (offset: number, value: unknown): ReadingMessage => ({
  offset: String(offset), key: Buffer.from(`k${offset}`), value: typeof value === 'string' ? Buffer.from(value) : Buffer.from(JSON.stringify(value)),
});
const ok = (m: string, t: string) => ({ meter_id: m, ts: `2026-11-21T${t}:00+08:00`, kwh: 0.5 });

describe('a batch of reading messages → readings and dead letters', () => {
  let db: Db | undefined;
  afterEach(() => db?.close());

  it('names each bad message or element by its own offset: a single reading with its bytes, a bulk element as its JSON, an undecodable message whole', async () => {
    db = await openDb(':memory:');
    const messages = [
      msg(10, ok('m1', '08:15')),
      msg(11, { meter_id: 'm1', ts: '2026-11-21T08:30:00+08:00', kwh: -1 }),
      msg(12, [ok('m2', '08:15'), { meter_id: 'm2', ts: 'soon', kwh: 1 }, ok('m2', '08:30')]),
      msg(13, '{not json'),
      msg(14, ok('m3', '08:15')),
    ];
    const d = decodeReadings(messages, 'readings', 0, 1 << 20, 15);
    expect(d.dead.map((x) => x.offset)).toEqual(['13']);
    expect(d.decoded.map((m) => m.offset)).toEqual(['10', '11', '12', '14']);
    expect(d.recordCounts).toEqual([1, 1, 3, 1]);
    const p = await new Ingestor(new ReadingStore(db), 15).prepare(d.raw, 'readings/0', d.valid);
    expect(p.readings.map((r) => r.meter_id)).toEqual(['m1', 'm2', 'm2', 'm3']);
    expect(p.rows).toEqual([10, 12, 12, 14]);
    const letters = rejectsToDeadLetters(p.rejects, d, 'readings', 0);
    expect(letters.map((l) => [l.offset, l.key?.toString(), l.reason.split(':')[0]])).toEqual([['11', 'k11', 'kwh'], ['12', 'k12', 'ts']]);
    // the single reading keeps the bytes it came in; the bulk element is its own JSON, not the whole message
    expect(letters[0]!.value).toBe(messages[1]!.value);
    expect(JSON.parse(letters[1]!.value!.toString())).toEqual({ meter_id: 'm2', ts: 'soon', kwh: 1 });
  });

  it('no rejects, no dead letters', async () => {
    db = await openDb(':memory:');
    const d = decodeReadings([msg(1, ok('m1', '08:15'))], 'readings', 0, 1 << 20, 15);
    const p = await new Ingestor(new ReadingStore(db), 15).prepare(d.raw, 'readings/0', d.valid);
    expect(rejectsToDeadLetters(p.rejects, d, 'readings', 0)).toEqual([]);
  });
});
