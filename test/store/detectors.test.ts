/**
 * src/store/detectors.ts: the per-run catalog of meters with data (meters_with_data), which the
 * shared macros read instead of scanning the whole daily rollup once per detector.
 */
import { describe, it, expect } from 'vitest';
import { openDb } from '../../src/store/db.js';
import { ReadingStore } from '../../src/store/readingStore.js';
import { upsertMeters } from '../../src/store/reference.js';
import { runDetectors } from '../../src/store/detectors.js';
import { parsePipeline } from '../../src/config/pipeline.js';
import { meterSchema } from '../../src/contracts/registry.js';
import { DAY_MS, lastCompleteDay, parseDate } from '../../src/time.js';
import type { Reading } from '../../src/contracts/reading.js';

const START = parseDate('2026-10-05')!;
/** Daily values: `kwh` a day for `days` days. */
const daily = (meter: string, days: number, kwh: number): Reading[] =>
  Array.from({ length: days }, (_, d) => ({ meter_id: meter, ts_ms: START + (d + 1) * DAY_MS, interval_min: 1440, kwh }));
/** Hourly values: `kw` every hour for `days` days. */
const hourly = (meter: string, days: number, kw: number): Reading[] =>
  Array.from({ length: days * 24 }, (_, h) => ({ meter_id: meter, ts_ms: START + (h + 1) * 3600_000, interval_min: 60, kwh: kw }));

describe('meters_with_data', () => {
  it('is filled at every run: a meter first seen after a run is judged by the next, and one with interval data is left to the hourly detectors', async () => {
    const db = await openDb(':memory:', { threads: 1 });
    try {
      const settings = parsePipeline({}).detectors;
      await upsertMeters(db, ['a', 'b', 'h'].map((id) => meterSchema.parse({ meter_id: id, category: 'resident', contract_kva: 4 })));
      const store = new ReadingStore(db);
      await store.append([...daily('a', 10, 8), ...hourly('h', 10, 3.5)]);
      const first = await runDetectors(db, settings, { lastCompleteDayMs: lastCompleteDay(START + 10 * DAY_MS) }, ['daily_capacity']);
      expect(first.leads).toEqual([]);
      // b draws 80 kWh a day on 4 kVA (83 % of its contract around the clock); h drew as much, hourly
      await store.append(daily('b', 10, 80));
      const second = await runDetectors(db, settings, { lastCompleteDayMs: lastCompleteDay(START + 10 * DAY_MS) }, ['daily_capacity']);
      expect(second.leads.map((l) => l.meter_id)).toEqual(['b']);
      expect((await db.con.runAndReadAll(`select meter_id, has_interval from meters_with_data order by 1`)).getRows()).toEqual([['a', false], ['b', false], ['h', true]]);
    } finally {
      db.close();
    }
  });
});
