import { describe, it, expect } from 'vitest';
import { openDb } from '../../src/store/db.js';
import { ReadingStore } from '../../src/store/readingStore.js';
import { parseLocalMs } from '../../src/time.js';

const r = (ts: string, kwh: number, meter_id = 'm1', interval_min = 15) => ({ meter_id, ts_ms: parseLocalMs(ts)!, interval_min, kwh });

describe('ReadingStore', () => {
  it('de-duplicates within a batch and against the store, first value wins', async () => {
    const db = await openDb(':memory:');
    const s = new ReadingStore(db);
    expect(await s.append([r('2026-11-21T00:15:00', 1), r('2026-11-21T00:15:00', 9), r('2026-11-21T00:30:00', 2)])).toEqual({ accepted: 2, duplicate: 1 });
    expect(await s.append([r('2026-11-21T00:30:00', 7), r('2026-11-21T00:45:00', 3)])).toEqual({ accepted: 1, duplicate: 1 });
    const rows = (await db.con.runAndReadAll(`select kwh from readings order by ts`)).getRowObjectsJS().map((x) => x.kwh);
    expect(rows).toEqual([1, 2, 3]);
    db.close();
  });

  // New history is stored in place unless its hour groups show a repeat (readingStore.rollupsWithoutRepeats):
  // each batch here goes into an empty store, the backfill's case, and must come out as the general path would.
  it('new history: stored whole when it repeats nothing, first value kept when it does', async () => {
    const day = (meter: string, kwh: (i: number) => number) => Array.from({ length: 96 }, (_, i) =>
      ({ meter_id: meter, ts_ms: parseLocalMs('2026-11-21T00:00:00')! + (i + 1) * 900_000, interval_min: 15, kwh: kwh(i) }));
    const stored = async (batch: ReturnType<typeof r>[]) => {
      const db = await openDb(':memory:');
      const counts = await new ReadingStore(db).append(batch);
      const q = async (sql: string) => (await db.con.runAndReadAll(sql)).getRowObjectsJS();
      const out = {
        counts,
        readings: Number((await q(`select count(*) n from readings`))[0]!.n),
        daily: await q(`select meter_id, round(kwh, 6) kwh, covered_min, n_readings from meter_daily order by meter_id, day`),
        hours: Number((await q(`select count(*) n from meter_hourly`))[0]!.n),
        hourKwh: Number((await q(`select round(sum(kwh), 6) s from meter_hourly`))[0]!.s),
      };
      db.close();
      return out;
    };
    const a = day('m1', (i) => 0.1 + i / 1000), b = day('m2', () => 0.2);
    const clean = await stored([...a, ...b]);
    expect(clean.counts).toEqual({ accepted: 192, duplicate: 0 });
    expect(clean.readings).toBe(192);
    expect(clean.daily).toEqual([{ meter_id: 'm1', kwh: 14.16, covered_min: 1440, n_readings: 96 }, { meter_id: 'm2', kwh: 19.2, covered_min: 1440, n_readings: 96 }]);
    expect([clean.hours, clean.hourKwh]).toEqual([48, 33.36]);
    // a repeat far from its first (another meter's readings between): the first value counts
    const repeated = await stored([...a, ...b, { ...b[40]!, kwh: 9 }]);
    expect(repeated.counts).toEqual({ accepted: 192, duplicate: 1 });
    expect(repeated.daily).toEqual(clean.daily);
    expect([repeated.readings, repeated.hours, repeated.hourKwh]).toEqual([192, 48, 33.36]);
    // a daily value ending at the same time as a 15-minute reading repeats its key, though the hour groups leave it out
    const mixed = await stored([...a, { meter_id: 'm1', ts_ms: a[95]!.ts_ms, interval_min: 1440, kwh: 30 }]);
    expect(mixed.counts).toEqual({ accepted: 96, duplicate: 1 });
    expect(mixed.daily).toEqual([clean.daily[0]]);
  });

  it('a late reading lands in the rollups of its own day and hour', async () => {
    const db = await openDb(':memory:');
    const s = new ReadingStore(db);
    await s.append([r('2026-11-21T23:45:00', 1), r('2026-11-22T00:15:00', 5)]);
    await s.append([r('2026-11-22T00:00:00', 2)]); // ends at midnight: belongs to the 21st, hour 23
    const daily = (await db.con.runAndReadAll(`select strftime(day, '%Y-%m-%d') d, kwh, covered_min from meter_daily order by day`)).getRowObjectsJS();
    expect(daily).toEqual([{ d: '2026-11-21', kwh: 3, covered_min: 30 }, { d: '2026-11-22', kwh: 5, covered_min: 15 }]);
    const hourly = (await db.con.runAndReadAll(`select strftime(hour, '%H') h, kwh from meter_hourly order by hour`)).getRowObjectsJS();
    expect(hourly).toEqual([{ h: '23', kwh: 3 }, { h: '00', kwh: 5 }]);
    db.close();
  });

  it('keeps daily values out of the hourly rollup', async () => {
    const db = await openDb(':memory:');
    await new ReadingStore(db).append([r('2026-11-22T00:00:00', 24, 'd1', 1440)]);
    const n = (await db.con.runAndReadAll(`select (select count(*) from meter_hourly) h, (select kwh from meter_daily) d`)).getRowObjectsJS()[0]!;
    expect(n).toEqual({ h: 0n, d: 24 });
    db.close();
  });

  it('opens with extension auto-install and auto-load off', async () => {
    const db = await openDb(':memory:');
    const r = (await db.con.runAndReadAll(`select current_setting('autoinstall_known_extensions') a, current_setting('autoload_known_extensions') b`)).getRowObjectsJS()[0]!;
    expect(r).toEqual({ a: false, b: false });
    db.close();
  });
});

describe('the database file (issue 11, item 8)', () => {
  it('is readable by its owner only, and a read command never creates one by mistake', async () => {
    const { mkdtempSync, statSync, existsSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'ps-db-'));
    try {
      const db = await openDb(join(dir, 'd.duckdb'));
      db.close();
      expect(statSync(join(dir, 'd.duckdb')).mode & 0o777).toBe(0o600);
      await expect(openDb(join(dir, 'typo.duckdb'), { mustExist: true })).rejects.toThrow(/typo\.duckdb: no such database/);
      expect(existsSync(join(dir, 'typo.duckdb'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
