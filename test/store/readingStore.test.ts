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
