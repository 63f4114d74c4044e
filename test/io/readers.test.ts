import { describe, it, expect, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tableFromArrays, tableToIPC, Table, vectorFromArray, TimestampMillisecond } from 'apache-arrow';
import { DuckDBInstance } from '@duckdb/node-api';
import { readRecords, type RawBatch } from '../../src/io/readers.js';
import { splitCsvLine } from '../../src/io/csv.js';
import { tempDir } from '../helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const file = (name: string, content: string | Uint8Array) => {
  const p = join(tmp.dir, name);
  writeFileSync(p, content);
  return p;
};
async function all(path: string): Promise<RawBatch> {
  const out: RawBatch = { records: [], rows: [], broken: [] };
  for await (const b of readRecords(path, 2)) {
    out.records.push(...b.records);
    out.rows.push(...b.rows);
    out.broken.push(...b.broken);
  }
  return out;
}

describe('CSV splitting', () => {
  it('handles quotes, doubled quotes and empty fields', () => {
    expect(splitCsvLine('a,"b,c","d""e",,')).toEqual(['a', 'b,c', 'd"e', '', '']);
    expect(splitCsvLine('"open')).toBeUndefined();
  });
});

describe('file readers', () => {
  it('CSV long layout, with BOM, CRLF, gzip and row numbers', async () => {
    const text = '\uFEFFmeter_id,ts,kwh\r\nm1,2026-11-21T08:15:00+08:00,0.42\r\nm1,2026-11-21T08:30:00,0.5,extra\r\n';
    const r = await all(file('a.csv.gz', gzipSync(text)));
    expect(r.records).toEqual([{ meter_id: 'm1', ts: '2026-11-21T08:15:00+08:00', kwh: '0.42' }]);
    expect(r.rows).toEqual([2]);
    expect(r.broken).toEqual([{ row: 3, raw: 'm1,2026-11-21T08:30:00,0.5,extra', reason: 'row: has 4 fields, header has 3' }]);
  });

  it('wide layout p1…p96: point k ends at k × 15 min; empty cells are missing points', async () => {
    const pts = Array.from({ length: 96 }, (_, k) => (k === 5 ? '' : String(k)));
    const header = ['meter_id', 'date', ...Array.from({ length: 96 }, (_, k) => `p${k + 1}`)].join(',');
    const r = await all(file('w.csv', `${header}\nm1,2026-11-21,${pts.join(',')}\nm2,21/11/2026,${pts.join(',')}\n`));
    expect(r.records.length).toBe(95);
    expect(r.records[0]).toEqual({ meter_id: 'm1', ts: '2026-11-21T00:15:00+08:00', kwh: '0', interval_min: 15 });
    expect((r.records[94] as { ts: string }).ts).toBe('2026-11-22T00:00:00+08:00');
    expect(r.broken[0]).toMatchObject({ row: 3, reason: expect.stringMatching(/^date: not a YYYY-MM-DD date/) });
  });

  it('wide layout named by interval end 00:15…24:00, 24 hourly points too', async () => {
    const header = ['meter_id', 'date', ...Array.from({ length: 24 }, (_, k) => `${String(k + 1).padStart(2, '0')}:00`)].join(',');
    const r = await all(file('h.csv', `${header}\nm1,2026-11-21,${Array(24).fill('1.5').join(',')}\n`));
    expect(r.records.length).toBe(24);
    expect(r.records[23]).toEqual({ meter_id: 'm1', ts: '2026-11-22T00:00:00+08:00', kwh: '1.5', interval_min: 60 });
  });

  it('an unknown column is an error naming the file and the column', async () => {
    await expect(all(file('u.csv', 'meter_id,ts,kwh,voltage\nm1,2026-11-21T08:15:00,1,220\n'))).rejects.toThrow(/u\.csv: unknown column "voltage"/);
    await expect(all(file('m.csv', 'meter_id,kwh\nm1,1\n'))).rejects.toThrow(/m\.csv: missing column "ts"/);
  });

  it('JSONL keeps unparseable lines as broken with the line number; JSON arrays work', async () => {
    const r = await all(file('a.jsonl', '{"meter_id":"m1","ts":"2026-11-21T08:15:00","kwh":1}\n{oops\n\n{"meter_id":"m2","ts":"2026-11-21T08:15:00","kwh":2}\n'));
    expect(r.rows).toEqual([1, 4]);
    expect(r.broken[0]).toMatchObject({ row: 2, reason: expect.stringMatching(/^line: not JSON/) });
    const j = await all(file('a.json', JSON.stringify([{ meter_id: 'm1', ts: '2026-11-21T08:15:00', kwh: 1 }])));
    expect(j.records.length).toBe(1);
  });

  it('Parquet, long and wide, with naive and zoned timestamps', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    const p1 = join(tmp.dir, 'long.parquet');
    await con.run(`copy (select 'm1' meter_id, timestamp '2026-11-21 08:15:00' ts, 0.42 kwh union all select 'm2', timestamp '2026-11-21 08:30:00', 1.0) to '${p1}' (format parquet)`);
    const p2 = join(tmp.dir, 'zoned.parquet');
    await con.run(`set timezone='UTC'; copy (select 'm1' meter_id, timestamptz '2026-11-21 00:15:00+00' ts, 0.42 kwh) to '${p2}' (format parquet)`);
    const p3 = join(tmp.dir, 'wide.parquet');
    await con.run(`copy (select 'm1' meter_id, date '2026-11-21' date, ${Array.from({ length: 96 }, (_, k) => `${k / 10} as p${k + 1}`).join(', ')}) to '${p3}' (format parquet)`);
    con.closeSync();
    const r1 = await all(p1);
    expect(r1.records[0]).toEqual({ meter_id: 'm1', ts: '2026-11-21T08:15:00.000', kwh: 0.42 });
    const r2 = await all(p2);
    expect((r2.records[0] as { ts: string }).ts).toBe('2026-11-21T00:15:00.000Z');
    const r3 = await all(p3);
    expect(r3.records.length).toBe(96);
    expect(r3.records[95]).toMatchObject({ ts: '2026-11-22T00:00:00+08:00', kwh: 9.5 });
  });

  it('Arrow IPC stream; a truncated stream is an error naming the file', async () => {
    const t = tableFromArrays({ meter_id: ['m1', 'm2'], kwh: new Float64Array([0.5, 1.5]) });
    const ts = vectorFromArray([Date.UTC(2026, 10, 21, 8, 15), Date.UTC(2026, 10, 21, 8, 30)], new TimestampMillisecond());
    const table = new Table({ meter_id: t.getChild('meter_id')!, ts, kwh: t.getChild('kwh')! });
    const bytes = tableToIPC(table, 'stream');
    const r = await all(file('a.arrow', bytes));
    expect(r.records).toEqual([
      { meter_id: 'm1', ts: '2026-11-21T08:15:00.000', kwh: 0.5 },
      { meter_id: 'm2', ts: '2026-11-21T08:30:00.000', kwh: 1.5 },
    ]);
    await expect(all(file('t.arrow', bytes.slice(0, bytes.length - 40)))).rejects.toThrow(/t\.arrow: /);
  });
});

describe('CSV that breaks (issue 11, items 3 and 7)', () => {
  it('one stray quote rejects its row only; the rest of the file is read', async () => {
    const lines = ['meter_id,ts,kwh'];
    for (let i = 0; i < 2000; i++) lines.push(`m1,2026-11-${String(1 + (i % 28)).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}:15:00+08:00,0.${i % 10}`);
    lines[4] = 'm1,"2026-11-04T03:15:00+08:00,0.3';
    const r = await all(file('stray.csv', lines.join('\n') + '\n'));
    expect(r.records).toHaveLength(1999);
    expect(r.broken).toEqual([{ row: 5, raw: lines[4], reason: 'row: unclosed quote (a stray " in this row)' }]);
  });

  it('a stray quote in the last rows is caught at the end of the file too', async () => {
    const r = await all(file('stray-end.csv', 'meter_id,ts,kwh\nm1,2026-11-01T00:15:00+08:00,0.1\nm1,"2026-11-01T00:30:00+08:00,0.2\nm1,2026-11-01T00:45:00+08:00,0.3\n'));
    expect(r.records.map((x) => (x as Record<string, string>).kwh)).toEqual(['0.1', '0.3']);
    expect(r.broken.map((b) => b.row)).toEqual([3]);
  });

  it('a quoted field may still span a few lines', async () => {
    const r = await all(file('multi.csv', 'meter_id,ts,kwh\n"m1",2026-11-01T00:15:00+08:00,"0.1"\n'));
    expect(r.records).toHaveLength(1);
  });

  it('a duplicate column in the header is an error naming it', async () => {
    await expect(all(file('dup.csv', 'meter_id,ts,kwh,kwh\nm1,2026-11-01T00:15:00+08:00,0.1,0.2\n'))).rejects.toThrow(/column "kwh" appears twice in the header/);
  });
});

describe('registry files in GBK (issue 11, item 8)', () => {
  it('are read as GB18030, never stored as mojibake; a forced utf-8 names the fix', async () => {
    const { loadMeterFile } = await import('../../src/io/reference.js');
    const gbk = Buffer.concat([Buffer.from('meter_id,account_name,address,street,community,category,contract_kva\nm1,'), Buffer.from([0xb3, 0xc2, 0xc4, 0xb3]), Buffer.from(',,'), Buffer.from([0xb9, 0xc4, 0xb6, 0xab, 0xbd, 0xd6, 0xb5, 0xc0]), Buffer.from(',,居民,8\n'.replace('居民', 'resident'))]);
    const f = file('meters-gbk.csv', gbk);
    const [m] = await loadMeterFile(f);
    expect(m).toMatchObject({ account_name: '陈某', street: '鼓东街道' });
    expect(JSON.stringify(m)).not.toContain('\uFFFD');
    await expect(loadMeterFile(f, 'utf-8')).rejects.toThrow(/not valid UTF-8 \(give --encoding gb18030/);
    const utf8 = file('meters-utf8.csv', '\uFEFFmeter_id,account_name,address,street,community,category,contract_kva\nm1,陈某,,鼓东街道,,居民,8\n');
    expect((await loadMeterFile(utf8))[0]).toMatchObject({ account_name: '陈某', category: 'resident' });
  });
});
