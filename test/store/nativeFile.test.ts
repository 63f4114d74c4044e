/**
 * Native file ingest (DuckDB reads the file, the contract is checked in SQL) against the line
 * reader: the same stored readings, rollups, counts and rejects - row, reason and record - for
 * clean files of every layout and type, files with every kind of bad value, and mutated files.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb, type Db } from '../../src/store/db.js';
import { ReadingStore } from '../../src/store/readingStore.js';
import { upsertMeters } from '../../src/store/reference.js';
import { meterSchema } from '../../src/contracts/registry.js';
import { CONTRACT_MARGIN, Ingestor } from '../../src/pipeline/ingest.js';
import { ingestFile } from '../../src/pipeline/backfill.js';
import { parsePipeline } from '../../src/config/pipeline.js';
import { MemoryRejectSink } from '../../src/sinks/rejects.js';
import { dropNativeFile, firstRecords, openNativeFile, stageNativeFile, surelyNotDaily } from '../../src/store/nativeFile.js';
import { judgeCadence } from '../../src/core/cadence.js';
import { PowerscreenError } from '../../src/errors.js';
import { rng } from '../../src/fixtures/district.js';
import { mutate } from '../support/mutate.js';
import { tempDir } from '../helpers.js';

const tmp = tempDir();
let native: Db;
let lineReader: Db;

beforeAll(async () => {
  native = await openDb(':memory:', { threads: 2 });
  lineReader = await openDb(':memory:', { threads: 2 });
  // contracts, so the capacity check is compared too
  const meters = ['M1', 'M2', 'W1', 'W2', '3501020000901', '3501020000911', '3501020000950'].map((id) => meterSchema.parse({ meter_id: id, street: 's', category: 'resident', contract_kva: 4 }));
  for (const db of [native, lineReader]) await upsertMeters(db, meters);
});
afterAll(() => {
  native?.close();
  lineReader?.close();
  tmp.cleanup();
});

type Outcome = { error: string } | {
  totals: ReturnType<Ingestor['totals']>;
  rejects: string[];
  readings: string[];
  daily: string[];
  hourly: string[];
  notes: string[];
};

// rollup sums are rounded: DuckDB adds doubles in whatever order its threads meet them
const rowsOf = async (db: Db, sql: string) => (await db.con.runAndReadAll(sql)).getRows().map((r) => r.map(String).join('|'));

async function ingestWith(db: Db, file: string, nativeFiles: boolean): Promise<Outcome> {
  for (const t of ['readings', 'meter_daily', 'meter_hourly']) await db.con.run(`delete from ${t}`);
  const ingestor = new Ingestor(new ReadingStore(db), 15);
  const rejects = new MemoryRejectSink();
  const notes: string[] = [];
  try {
    await ingestFile(file, { db, ingestor, pipeline: parsePipeline({ source: { native_files: nativeFiles, batch_rows: 50 } }), rejects, notes });
  } catch (e) {
    if (!(e instanceof PowerscreenError)) throw e;
    return { error: e.message };
  }
  return {
    totals: ingestor.totals(),
    rejects: rejects.items.map((r) => `${r.row}|${r.reason}|${JSON.stringify(r.record)}`).sort(),
    readings: await rowsOf(db, `select meter_id, ts, interval_min, kwh from readings order by all`),
    daily: await rowsOf(db, `select meter_id, day, round(kwh, 9), covered_min, n_readings from meter_daily order by all`),
    hourly: await rowsOf(db, `select meter_id, hour, round(kwh, 9), covered_min from meter_hourly order by all`),
    notes,
  };
}

/** Whether DuckDB reads the file itself (else backfill reads it row by row). */
async function readNatively(file: string): Promise<boolean> {
  const o = await openNativeFile(native, file);
  await dropNativeFile(native);
  return o.ok;
}

async function expectSame(file: string): Promise<Outcome> {
  const a = await ingestWith(native, file, true);
  const b = await ingestWith(lineReader, file, false);
  expect(a, file).toEqual(b);
  return a;
}

const write = (name: string, text: string) => {
  const f = join(tmp.dir, name);
  writeFileSync(f, text);
  return f;
};
const quarter = (i: number) => `2026-10-01T${String(Math.floor(i / 4)).padStart(2, '0')}:${String((i % 4) * 15).padStart(2, '0')}:00+08:00`;

describe('native file ingest gives what the line reader gives', () => {
  it('a long CSV with every kind of bad value: only the declined rows are judged in TypeScript, with the same reasons', async () => {
    const rows = [
      'M1,2026-10-01T00:15:00+08:00,0.5', 'M1,2026-10-01 00:30,0.25', 'M1,2026-10-01T00:45:00,.5', 'M1,2026-10-01T01:00:00+08:00,5.',
      'M1,2026-10-01T00:15:00+08:00,0.75', // a duplicate with another value: the first wins
      'M1,2026-10-01T24:00:00+08:00,0.1', 'M1,2026-10-01T24:15:00+08:00,0.1', 'M1,2026-10-01T01:15:00Z,0.1', 'M1,2026-10-01T01:30:00+00:00,0.1',
      'M1,2026-10-01T01:45:00.500+08:00,0.1', 'M1,2026-02-31T00:15:00,0.1', 'M1,0026-10-01T00:15:00,0.1', 'M1,2026-10-01T00:15:60,0.1',
      ' M2 ,2026-10-01T00:15:00,0.1', 'M2,2026-10-01T00:30:00, 0.2 ', 'M2,2026-10-01T00:45:00,1e1', 'M2,2026-10-01T01:00:00,-1', 'M2,2026-10-01T01:15:00,0x10',
      'M2,2026-10-01T01:30:00,', ',2026-10-01T01:45:00,1', 'M2,,1', 'M2,2026-10-01T02:00:00,50', 'M2,2026-10-01T02:15:00,9.99', 'M2,2026-10-01T02:30:00,10.01',
      'bad id!,2026-10-01T02:45:00,1', 'NEW9,2026-10-01T03:00:00,400', 'NEW9,2026-10-01T03:15:00,30000', 'M2,"2026-10-01T03:30:00",0.3', 'M2,2026-10-01T03:45:00,"1,5"',
      'M2,2026-10-01T04:00:00,99999999999999999999999999999',
    ];
    const f = write('long.csv', ['meter_id,ts,kwh', ...rows].join('\n') + '\n');
    expect(await readNatively(f)).toBe(true);
    const o = await expectSame(f);
    if ('error' in o) throw new Error(o.error);
    expect(o.totals.read).toBe(rows.length);
    expect(o.totals.duplicate).toBe(1);
    expect(o.rejects.length).toBeGreaterThan(12);
    // and with interval_min, CRLF line ends and a BOM
    const iv = ['M1,2026-10-02T00:00:00,1440,12', 'M1,2026-10-03T00:00:00,,0.5', 'M1,2026-10-03T01:00:00,60.0,2', 'M1,2026-10-03T02:00:00,0,2', 'M1,2026-10-03T03:00:00,1441,2', 'M1,2026-10-03T04:00:00,7.5,2', 'M2,2026-10-04T00:00:00,1440,900'];
    const g = write('interval.csv', '\uFEFF' + ['meter_id,ts,interval_min,kwh', ...iv].join('\r\n') + '\r\n');
    expect(await readNatively(g)).toBe(true);
    await expectSame(g);
  });

  it('wide CSV (p1…p96 and HH:MM), empty points, a bad point, a bad date', async () => {
    const points = (n: number, f: (k: number) => string) => Array.from({ length: n }, (_, k) => f(k)).join(',');
    const p96 = write('wide96.csv', ['meter_id,date,' + points(96, (k) => `p${k + 1}`),
      `W1,2026-10-01,${points(96, (k) => String((k % 7) / 10))}`,
      `W1,2026-10-02,${points(96, (k) => (k < 10 ? '' : '0.2'))}`,
      `W2,2026-10-01,${points(96, (k) => (k === 40 ? 'x' : '0.3'))}`,
      `W2,2026/10/02,${points(96, () => '0.3')}`,
      `W2,2026-10-03,${points(96, () => '')}`,
      `W2,2026-10-04,${points(96, (k) => (k === 95 ? '100' : '0.1'))}`,
      `W1,2026-10-01,${points(96, () => '9')}`, // the same meter-day again: duplicates
    ].join('\n') + '\n');
    expect(await readNatively(p96)).toBe(true);
    const o = await expectSame(p96);
    if ('error' in o) throw new Error(o.error);
    expect(o.totals.duplicate).toBe(96);
    const hhmm = write('wide24.csv', ['meter_id,date,' + points(24, (k) => `${String(k + 1).padStart(2, '0')}:00`),
      `W1,2026-10-05,${points(24, (k) => String(k / 4))}`, `,2026-10-05,${points(24, () => '1')}`].join('\n') + '\n');
    expect(await readNatively(hhmm)).toBe(true);
    await expectSame(hhmm);
  });

  it('plain rows all pass the SQL checks, and a repeat is found in a file written meter by meter or interval by interval, wherever the order puts it', async () => {
    const row = (m: string, i: number, kwh = 0.5) => `${m},${quarter(i)},${kwh}`;
    const byMeter = (ms: string[]) => ms.flatMap((m) => Array.from({ length: 8 }, (_, i) => row(m, i + 1)));
    const byInterval = (ms: string[]) => Array.from({ length: 8 }, (_, i) => ms.map((m) => row(m, i + 1))).flat();
    const cases: [string, string[], number][] = [
      ['by-meter.csv', byMeter(['M1', 'M2', 'W1']), 0],
      ['by-interval.csv', byInterval(['M1', 'M2', 'W1']), 0],
      // a meter's second run repeats a time of its first
      ['by-meter-two-runs.csv', [...byMeter(['M1', 'M2']), row('M1', 3, 0.9)], 1],
      // a time falls back inside a meter's run
      ['by-meter-fall.csv', [row('M1', 1), row('M1', 2), row('M1', 1, 0.9), row('M1', 3)], 1],
      // an interval's second run repeats a meter of its first
      ['by-interval-two-runs.csv', [...byInterval(['M1', 'M2']), row('M2', 8, 0.9)], 1],
      // a meter repeated inside an interval's run
      ['by-interval-same-meter.csv', [row('M1', 1), row('M2', 1), row('M2', 1, 0.9), row('W1', 1), row('M1', 2)], 1],
    ];
    for (const [name, rows, duplicates] of cases) {
      const f = write(name, ['meter_id,ts,kwh', ...rows].join('\n') + '\n');
      // plain rows all pass the SQL checks: none is left to the contract in TypeScript
      const o0 = await openNativeFile(native, f);
      if (!o0.ok) throw new Error(o0.why);
      const { staged, declined } = await stageNativeFile(native, o0.file, 15, CONTRACT_MARGIN);
      await dropNativeFile(native);
      expect([staged.rows, declined.rows.length], name).toEqual([rows.length, 0]);
      const o = await expectSame(f);
      if ('error' in o) throw new Error(o.error);
      expect(o.totals.duplicate, name).toBe(duplicates);
      expect(o.totals.accepted, name).toBe(rows.length - duplicates);
    }
  });

  it('a daily file without interval_min is judged daily the same way', async () => {
    const f = write('daily.csv', ['meter_id,ts,kwh', ...Array.from({ length: 30 }, (_, i) => `M1,2026-10-${String(i + 2).padStart(2, '0')}T00:00:00+08:00,${10 + i}`)].join('\n') + '\n');
    expect(await readNatively(f)).toBe(true);
    const o = await expectSame(f);
    if ('error' in o) throw new Error(o.error);
    expect(o.notes).toHaveLength(1);
    expect(o.readings[0]).toContain('|1440|');
  });

  it('the cadence is settled in SQL only where judgeCadence would keep the default (quarter hours), else judged on the records', async () => {
    const day = (i: number, time = '00:00:00') => `2026-10-${String(i + 1).padStart(2, '0')}T${time}+08:00`;
    // meters M1..M3, 30 days each; `off` of the 90 rows at 12:00 rather than midnight
    const dailyWith = (off: number, zone = '+08:00') => ['meter_id,ts,kwh', ...Array.from({ length: 90 }, (_, i) =>
      `M${(i % 3) + 1},${day(Math.floor(i / 3), i < off ? '12:00:00' : '00:00:00').replace('+08:00', zone)},${10 + i}`)].join('\n') + '\n';
    const files: [string, string, boolean][] = [
      ['quarters.csv', ['meter_id,ts,kwh', ...Array.from({ length: 90 }, (_, i) => `M1,${quarter(i + 1)},0.5`)].join('\n') + '\n', true],
      ['daily-only.csv', dailyWith(0), false],
      // 1 of 90 off midnight: still daily for judgeCadence (98 % at midnight); 3 of 90: not
      ['daily-one-off.csv', dailyWith(1), false],
      ['daily-three-off.csv', dailyWith(3), true],
      // times the SQL does not read (another zone): judged on the records, whatever they hold
      ['quarters-utc.csv', ['meter_id,ts,kwh', ...Array.from({ length: 90 }, (_, i) => `M1,${quarter(i + 1).replace('+08:00', 'Z')},0.5`)].join('\n') + '\n', false],
    ];
    for (const [name, text, settled] of files) {
      const o = await openNativeFile(native, write(name, text));
      if (!o.ok) throw new Error(o.why);
      try {
        const sure = await surelyNotDaily(native, o.file, 50);
        const verdict = judgeCadence(await firstRecords(native, o.file, 50), 15);
        expect(sure, name).toBe(settled);
        // a yes is judgeCadence's own verdict
        if (sure) expect(verdict, name).toEqual({ ok: true });
      } finally {
        await dropNativeFile(native);
      }
    }
  });

  it('Parquet: naive and zoned timestamps, text times, decimals, integer intervals with nulls, and the wide layout', async () => {
    const files: [string, string][] = [
      ['ts-naive', `select 'M1' as meter_id, timestamp '2026-10-01 00:15:00' + to_minutes(15 * i) as ts, (i % 9) / 10 as kwh from range(200) t(i)`],
      ['ts-zoned', `select case when i % 50 = 0 then 'bad id' else 'M1' end as meter_id, make_timestamptz(1790000000000000 + i * 900000000) as ts, cast(i % 13 as double) as kwh from range(200) t(i)`],
      ['ts-text', `select 'M2' as meter_id, case when i % 40 = 0 then '2026-13-01' else strftime(timestamp '2026-10-01 00:15:00' + to_minutes(15 * i), '%Y-%m-%dT%H:%M:%S+08:00') end as ts,
                   cast((i % 7) * 1.25 as decimal(9,3)) as kwh, case when i % 3 = 0 then null else 15 end as interval_min from range(200) t(i)`],
      ['wide', `select 'W' || (i % 2 + 1) as meter_id, date '2026-10-01' + cast(i // 2 as integer) as date, ${Array.from({ length: 24 }, (_, k) => `case when i = 3 and ${k} = 5 then null else ${k} / 10 end as p${k + 1}`).join(', ')} from range(10) t(i)`],
    ];
    for (const [name, sql] of files) {
      const f = join(tmp.dir, `${name}.parquet`);
      await native.con.run(`copy (${sql}) to '${f}' (format parquet)`);
      expect(await readNatively(f), name).toBe(true);
      const o = await expectSame(f);
      if ('error' in o) throw new Error(o.error);
      expect(o.readings.length, name).toBeGreaterThan(0);
    }
  });

  it('mutated files: natively or row by row, the same result every time', async () => {
    const seeds: Record<string, string> = {
      'r.csv': ['meter_id,ts,kwh', ...Array.from({ length: 40 }, (_, i) => `350102000090${i % 3},${quarter(i)},0.${i + 10}`)].join('\n') + '\n',
      'iv.csv': ['meter_id,ts,interval_min,kwh', ...Array.from({ length: 20 }, (_, i) => `3501020000911,2026-10-${String(i + 1).padStart(2, '0')}T00:00:00+08:00,1440,${(12 + i).toFixed(1)}`)].join('\n') + '\n',
      'w.csv': ['meter_id,date,' + Array.from({ length: 96 }, (_, k) => `p${k + 1}`).join(','), ...Array.from({ length: 4 }, (_, i) => `350102000095${i},2026-10-0${i + 1},` + Array.from({ length: 96 }, (_, k) => (k % 7) / 10).join(','))].join('\n') + '\n',
    };
    let nativeRuns = 0, total = 0;
    for (const [name, seed] of Object.entries(seeds)) {
      const rand = rng(name.length * 131 + 7);
      for (let i = 0; i < 50; i++) {
        const f = write(`m${i}-${name}`, mutate(seed, rand));
        total++;
        if (await readNatively(f)) nativeRuns++;
        await expectSame(f);
      }
    }
    // many mutations leave a file DuckDB reads (a fifth to a third); the rest are read row by row
    console.log(`mutated files read natively: ${nativeRuns}/${total}`);
    expect(nativeRuns).toBeGreaterThan(total / 5);
  }, 120_000);
});
