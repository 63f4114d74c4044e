/** The ingestor's register state follows the store: a failed store commit must not lose energy (issue 11, item 4). */
import { describe, it, expect } from 'vitest';
import { openDb } from '../../src/store/db.js';
import { ReadingStore } from '../../src/store/readingStore.js';
import { Ingestor } from '../../src/pipeline/ingest.js';
import { parseLocalMs } from '../../src/time.js';

const rec = (hhmm: string, reading_kwh: number) => ({ meter_id: 'm1', ts: `2026-11-21T${hhmm}:00+08:00`, reading_kwh });

describe('Ingestor and register state', () => {
  it('a failed commit leaves the register state as it was: the retry derives the same energy', async () => {
    const db = await openDb(':memory:');
    try {
      const store = new ReadingStore(db);
      const ing = new Ingestor(store, 15);
      const base = await ing.prepare({ records: [rec('08:00', 100)], rows: [1], broken: [] }, 'f');
      await ing.commit(base);
      const batch = { records: [rec('08:15', 101.5)], rows: [2], broken: [] };
      const first = await ing.prepare(batch, 'f');
      expect(first.readings).toHaveLength(1);
      // the store refuses the commit once (a broker or disk fault)
      const append = store.append.bind(store);
      store.append = async () => { throw new Error('disk full'); };
      await expect(ing.commit(first)).rejects.toThrow('disk full');
      store.append = append;
      const retry = await ing.prepare(batch, 'f');
      expect(retry.rejects).toEqual([]);
      expect(retry.readings).toMatchObject([{ meter_id: 'm1', kwh: expect.closeTo(1.5, 9), ts_ms: parseLocalMs('2026-11-21T08:15:00+08:00') }]);
      await ing.commit(retry);
      expect(ing.totals()).toMatchObject({ read: 2, accepted: 2, rejected: 0 });
    } finally {
      db.close();
    }
  });
});

describe('Ingestor and contract capacity (issue 11, item 7)', () => {
  it('a daily total read as 15 minutes is rejected with the reason, not stored', async () => {
    const db = await openDb(':memory:');
    try {
      const { upsertMeters } = await import('../../src/store/reference.js');
      const { meterSchema } = await import('../../src/contracts/registry.js');
      await upsertMeters(db, [meterSchema.parse({ meter_id: 'm1', category: 'resident', contract_kva: 4 })]);
      const ing = new Ingestor(new ReadingStore(db), 15);
      const p = await ing.prepare({ records: [{ meter_id: 'm1', ts: '2026-11-22T00:00:00+08:00', kwh: 42 }, { meter_id: 'm1', ts: '2026-11-22T00:00:00+08:00', kwh: 42, interval_min: 1440 }, { meter_id: 'm2', ts: '2026-11-22T00:00:00+08:00', kwh: 42 }], rows: [2, 3, 4], broken: [] }, 'daily.csv');
      expect(p.rejects).toEqual([expect.objectContaining({ source: 'daily.csv', row: 2, reason: expect.stringMatching(/^kwh: 42 kWh in 15 min is 168 kW on a 4 kVA contract/) })]);
      // the same value as a daily one fits; a meter with no contract on record is not judged
      expect(p.readings.map((r) => [r.meter_id, r.interval_min])).toEqual([['m1', 1440], ['m2', 15]]);
    } finally {
      db.close();
    }
  });
});

describe('Ingestor and the clock (issue 11, item 5)', () => {
  it('a reading beyond now plus the allowed skew is rejected with the reason, so it cannot move the watermark', async () => {
    const db = await openDb(':memory:');
    try {
      const ing = new Ingestor(new ReadingStore(db), 15);
      const now = parseLocalMs('2026-11-21T09:00:00+08:00')!;
      const batch = {
        records: [
          { meter_id: 'm1', ts: '2026-11-21T08:45:00+08:00', kwh: 0.2 },
          { meter_id: 'm1', ts: '2026-11-21T09:45:00+08:00', kwh: 0.2 }, // 45 min ahead: within a 60 min skew
          { meter_id: 'm1', ts: '2100-01-01T00:15:00+08:00', kwh: 0.2 },
        ],
        rows: [1, 2, 3], broken: [],
      };
      const p = await ing.prepare(batch, 'r/0', [], { notAfterMs: now + 60 * 60_000 });
      expect(p.readings.map((r) => r.ts_ms)).toEqual([parseLocalMs('2026-11-21T08:45:00+08:00'), parseLocalMs('2026-11-21T09:45:00+08:00')]);
      expect(p.rejects).toMatchObject([{ row: 3, reason: expect.stringMatching(/^ts: 2100-01-01T00:15:00\+08:00 is \d+\.\d h beyond the worker's clock/) }]);
      // a backfill has no "now": history is history
      expect((await ing.prepare(batch, 'f')).rejects).toEqual([]);
    } finally {
      db.close();
    }
  });
});

describe('Ingestor and a register feed read twice (issue 11, item 4)', () => {
  it('the second reading of the same register values counts duplicates, not rejects; an unknown older value is still a reject', async () => {
    const db = await openDb(':memory:');
    try {
      const ing = new Ingestor(new ReadingStore(db), 15);
      const values = ['08:00', '08:15', '08:30', '08:45'].map((t, i) => rec(t, 100 + i * 1.5));
      const batch = { records: values, rows: [1, 2, 3, 4], broken: [] };
      await ing.commit(await ing.prepare(batch, 'f'));
      expect(ing.totals()).toMatchObject({ read: 4, accepted: 4, rejected: 0, duplicate: 0, register_base: 1 });
      const again = await ing.prepare(batch, 'f');
      expect(again.rejects).toEqual([]);
      await ing.commit(again);
      expect(ing.totals()).toMatchObject({ read: 8, accepted: 4, rejected: 0, duplicate: 4 });
      // a value from before anything stored for the meter: its interval is unknown
      const older = await ing.prepare({ records: [rec('07:00', 99)], rows: [9], broken: [] }, 'f');
      expect(older.rejects).toMatchObject([{ row: 9, reason: expect.stringMatching(/^reading_kwh: register value older than the last one derived/) }]);
    } finally {
      db.close();
    }
  });
});
