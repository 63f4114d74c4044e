/**
 * File sources for the reading contract: CSV, JSONL, JSON array, Parquet, Arrow IPC, each in
 * the long layout (meter_id, ts, kwh | reading_kwh [, interval_min]) or — CSV and Parquet —
 * the wide utility export (meter_id, date, p1…p96 or 00:15…24:00). They yield raw records with
 * their row numbers; validation happens in one place (contracts/reading.ts).
 * About 350 lines: the formats share the layout detection and row numbering kept here.
 */
import { readFileSync, createReadStream } from 'node:fs';
import { RecordBatchReader, type RecordBatch } from 'apache-arrow';
import { DuckDBInstance, DuckDBTimestampValue, DuckDBTimestampTZValue } from '@duckdb/node-api';
import { PowerscreenError } from '../errors.js';
import { splitCsvLine } from './csv.js';
import { assertExists, readLines, readTextFile, type TextEncoding } from './lines.js';
import { formatLocal, parseDate, MINUTE_MS } from '../time.js';

export interface RawBatch {
  records: unknown[];
  /** Row (line) number in the file of each record; for wide files the row of the meter-day. */
  rows: number[];
  /** Raw records that failed before validation (unparseable line), with reasons. */
  broken: { row: number; raw: string; reason: string }[];
}

export type FileFormat = 'csv' | 'jsonl' | 'json' | 'parquet' | 'arrow';

export function detectFormat(file: string): FileFormat {
  const f = file.toLowerCase().replace(/\.gz$/, '');
  if (f.endsWith('.csv') || f.endsWith('.txt')) return 'csv';
  if (f.endsWith('.jsonl') || f.endsWith('.ndjson')) return 'jsonl';
  if (f.endsWith('.json')) return 'json';
  if (f.endsWith('.parquet')) return 'parquet';
  if (f.endsWith('.arrow') || f.endsWith('.arrows') || f.endsWith('.ipc') || f.endsWith('.feather')) return 'arrow';
  throw new PowerscreenError('INPUT_MALFORMED', `${file}: unknown file type (expected .csv, .jsonl, .json, .parquet or .arrow)`);
}

const LONG_COLUMNS = new Set(['meter_id', 'ts', 'kwh', 'reading_kwh', 'interval_min']);

/** The wide layout: point columns p1…pN or HH:MM interval ends; returns minutes-after-midnight of each END. */
export function widePointEnds(columns: readonly string[], file: string): number[] | undefined {
  const points = columns.filter((c) => c !== 'meter_id' && c !== 'date');
  if (!columns.includes('date') || points.length === 0) return undefined;
  const n = points.length;
  if (1440 % n !== 0) throw new PowerscreenError('INPUT_MALFORMED', `${file}: wide layout has ${n} point columns; expected 24, 48 or 96`);
  const step = 1440 / n;
  return points.map((c, i) => {
    let m = /^p(\d+)$/i.exec(c);
    if (m) {
      const k = +m[1]!;
      if (k < 1 || k > n) throw new PowerscreenError('INPUT_MALFORMED', `${file}: column ${c}: point number outside 1…${n}`);
      return k * step;
    }
    m = /^(\d{1,2}):(\d{2})$/.exec(c);
    if (m) return +m[1]! * 60 + +m[2]!;
    throw new PowerscreenError('INPUT_MALFORMED', `${file}: unknown column "${c}" (wide layout takes meter_id, date and p1…p${n} or 00:15…24:00; column ${i + 3})`);
  });
}

export function checkLongColumns(columns: readonly string[], file: string): void {
  for (const c of columns) {
    if (!LONG_COLUMNS.has(c)) {
      throw new PowerscreenError('INPUT_MALFORMED', `${file}: unknown column "${c}" (expected meter_id, ts, kwh or reading_kwh, optional interval_min; or the wide layout meter_id, date, p1…p96)`);
    }
  }
  for (const need of ['meter_id', 'ts']) {
    if (!columns.includes(need)) throw new PowerscreenError('INPUT_MALFORMED', `${file}: missing column "${need}"`);
  }
  if (!columns.includes('kwh') && !columns.includes('reading_kwh')) {
    throw new PowerscreenError('INPUT_MALFORMED', `${file}: missing column "kwh" (or "reading_kwh" for register feeds)`);
  }
}

/** One wide row (meter-day) → interval records. Invalid date → one broken entry. */
export function expandWide(row: Record<string, unknown>, ends: number[], pointCols: string[], rowNo: number, out: RawBatch): void {
  const date = String(row.date ?? '').trim();
  const dayMs = parseDate(date);
  if (dayMs === undefined) {
    out.broken.push({ row: rowNo, raw: JSON.stringify(row), reason: `date: not a YYYY-MM-DD date (got ${JSON.stringify(date.slice(0, 20))})` });
    return;
  }
  const step = 1440 / ends.length;
  for (let i = 0; i < ends.length; i++) {
    const v = row[pointCols[i]!];
    if (v === '' || v === null || v === undefined) continue; // a missing point: no reading, nothing to lose
    out.records.push({ meter_id: row.meter_id, ts: formatLocal(dayMs + ends[i]! * MINUTE_MS), kwh: v, interval_min: step });
    out.rows.push(rowNo);
  }
}

export function emptyBatch(): RawBatch {
  return { records: [], rows: [], broken: [] };
}

/** A quoted field may span lines (RFC 4180), but no reading field does for long: past this a quote is stray. */
const MAX_QUOTED_LINES = 20;

async function* readCsv(file: string, batchRows: number): AsyncGenerator<RawBatch> {
  let header: string[] | undefined;
  let ends: number[] | undefined;
  let pointCols: string[] = [];
  let batch = emptyBatch();
  // lines of a row whose quoted field continues on the next line
  let pending: [string, number][] = [];
  const handle = (queue: [string, number][]) => {
    while (queue.length) {
      const [line, lineNo] = queue.shift()!;
      pending.push([line, lineNo]);
      const text = pending.map(([l]) => l).join('\n');
      const rowNo = pending[0]![1];
      if (!header) {
        const cols = splitCsvLine(text);
        if (!cols) throw new PowerscreenError('INPUT_MALFORMED', `${file}: row 1: header has an unclosed quote`);
        pending = [];
        header = cols.map((c) => c.trim());
        const dup = header.find((c, i) => header!.indexOf(c) !== i);
        if (dup !== undefined) throw new PowerscreenError('INPUT_MALFORMED', `${file}: row 1: column "${dup}" appears twice in the header`);
        ends = widePointEnds(header, file);
        if (ends) {
          if (!header.includes('meter_id')) throw new PowerscreenError('INPUT_MALFORMED', `${file}: missing column "meter_id"`);
          pointCols = header.filter((c) => c !== 'meter_id' && c !== 'date');
        } else checkLongColumns(header, file);
        continue;
      }
      if (text.trim() === '') {
        pending = [];
        continue;
      }
      const cells = splitCsvLine(text);
      if (!cells) {
        if (pending.length > MAX_QUOTED_LINES) {
          // a stray quote: its row is rejected and the lines after it are read again as rows of their own
          const [[first, firstNo], ...rest] = pending;
          pending = [];
          batch.broken.push({ row: firstNo, raw: first, reason: 'row: unclosed quote (a stray " in this row)' });
          queue.unshift(...rest);
        }
        continue;
      }
      pending = [];
      if (cells.length !== header.length) {
        batch.broken.push({ row: rowNo, raw: text, reason: `row: has ${cells.length} fields, header has ${header.length}` });
      } else {
        const rec: Record<string, unknown> = {};
        for (let i = 0; i < header.length; i++) rec[header[i]!] = cells[i];
        if (ends) expandWide(rec, ends, pointCols, rowNo, batch);
        else {
          batch.records.push(rec);
          batch.rows.push(rowNo);
        }
      }
    }
  };
  for await (const [line, lineNo] of readLines(file)) {
    handle([[line, lineNo]]);
    if (batch.records.length >= batchRows) {
      yield batch;
      batch = emptyBatch();
    }
  }
  // at the end of the file an unclosed quote is stray too: its row is rejected, the rest read again
  while (pending.length) {
    const [[first, firstNo], ...rest] = pending;
    pending = [];
    batch.broken.push({ row: firstNo, raw: first, reason: 'row: unclosed quote (a stray " in this row)' });
    handle(rest);
  }
  if (!header) throw new PowerscreenError('INPUT_MALFORMED', `${file}: empty file (no header row)`);
  if (batch.records.length || batch.broken.length) yield batch;
}

async function* readJsonl(file: string, batchRows: number): AsyncGenerator<RawBatch> {
  let batch = emptyBatch();
  for await (const [line, lineNo] of readLines(file)) {
    if (line.trim() === '') continue;
    try {
      batch.records.push(JSON.parse(line));
      batch.rows.push(lineNo);
    } catch (e) {
      batch.broken.push({ row: lineNo, raw: line.slice(0, 2000), reason: `line: not JSON: ${(e as Error).message}` });
    }
    if (batch.records.length >= batchRows) {
      yield batch;
      batch = emptyBatch();
    }
  }
  if (batch.records.length || batch.broken.length) yield batch;
}

async function* readJsonArray(file: string, batchRows: number): AsyncGenerator<RawBatch> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new PowerscreenError('INPUT_MALFORMED', `${file}: not valid JSON (${(e as Error).message})`);
  }
  const arr = Array.isArray(data) ? data : [data];
  for (let i = 0; i < arr.length; i += batchRows) {
    const slice = arr.slice(i, i + batchRows);
    yield { records: slice, rows: slice.map((_, j) => i + j + 1), broken: [] };
  }
}

/** A DuckDB/Arrow timestamp value → contract text (naive = Shanghai local; with zone = absolute). */
function tsText(v: unknown, zoned: boolean): unknown {
  if (v instanceof DuckDBTimestampTZValue) return new Date(Number(v.micros / 1000n)).toISOString();
  if (v instanceof DuckDBTimestampValue) return new Date(Number(v.micros / 1000n)).toISOString().slice(0, 23);
  if (v instanceof Date) return zoned ? v.toISOString() : v.toISOString().slice(0, 23);
  if (typeof v === 'number' || typeof v === 'bigint') {
    const iso = new Date(Number(v)).toISOString();
    return zoned ? iso : iso.slice(0, 23);
  }
  return v;
}

/** A value DuckDB read from a Parquet column (type as DuckDB names it) → the raw record's value. */
export function parquetValue(v: unknown, type: string): unknown {
  return v === null ? undefined
    : type.startsWith('TIMESTAMP') ? tsText(v, type.includes('TIME ZONE'))
    : type.startsWith('DECIMAL') || typeof v === 'bigint' ? Number(String(v))
    : typeof v === 'object' ? String(v) : v;
}

async function* readParquet(file: string, batchRows: number): AsyncGenerator<RawBatch> {
  const db = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const con = await db.connect();
  try {
    let result;
    try {
      result = await con.stream(`select * from read_parquet($file)`, { file });
    } catch (e) {
      throw new PowerscreenError('INPUT_MALFORMED', `${file}: not a readable Parquet file (${(e as Error).message.split('\n')[0]})`);
    }
    const columns = result.columnNames();
    const ends = widePointEnds(columns, file);
    if (!ends) checkLongColumns(columns, file);
    const pointCols = columns.filter((c) => c !== 'meter_id' && c !== 'date');
    const types = result.columnTypes().map((t) => t.toString());
    let row = 0;
    let batch = emptyBatch();
    // chunk by chunk (2,048 rows each): memory stays flat whatever the file size
    for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      for (const values of chunk.getRows()) {
        row++;
        const rec: Record<string, unknown> = {};
        for (let i = 0; i < columns.length; i++) {
          rec[columns[i]!] = parquetValue(values[i], types[i]!);
        }
        if (ends) expandWide(rec, ends, pointCols, row, batch);
        else {
          batch.records.push(rec);
          batch.rows.push(row);
        }
      }
      if (batch.records.length >= batchRows) {
        yield batch;
        batch = emptyBatch();
      }
    }
    if (batch.records.length || batch.broken.length) yield batch;
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

/** Arrow record batch → raw reading records (shared with the Kafka Arrow message form). */
export function arrowBatchToRecords(batch: RecordBatch, firstRow: number, out: RawBatch, origin: string): void {
  const names = batch.schema.fields.map((f) => f.name);
  checkLongColumns(names, origin);
  const tsField = batch.schema.fields.find((f) => f.name === 'ts')!;
  const tsType = tsField.type as { timezone?: string | null; typeId: number };
  const zoned = !!tsType.timezone;
  const cols = names.map((n) => batch.getChild(n)!);
  for (let r = 0; r < batch.numRows; r++) {
    const rec: Record<string, unknown> = {};
    for (let c = 0; c < names.length; c++) {
      const v = cols[c]!.get(r);
      rec[names[c]!] = names[c] === 'ts' ? tsText(v, zoned) : v === null ? undefined : typeof v === 'bigint' ? Number(v) : v;
    }
    out.records.push(rec);
    out.rows.push(firstRow + r);
  }
}

async function* readArrow(file: string): AsyncGenerator<RawBatch> {
  let row = 1;
  let reader;
  try {
    reader = await RecordBatchReader.from(createReadStream(file));
    await reader.open();
  } catch (e) {
    throw new PowerscreenError('INPUT_MALFORMED', `${file}: not an Arrow IPC stream or file (${(e as Error).message})`);
  }
  try {
    for await (const b of reader) {
      const out = emptyBatch();
      arrowBatchToRecords(b, row, out, file);
      row += b.numRows;
      yield out;
    }
  } catch (e) {
    if (e instanceof PowerscreenError) throw e;
    throw new PowerscreenError('INPUT_MALFORMED', `${file}: Arrow stream broken after row ${row - 1} (${(e as Error).message})`);
  }
}

export function readRecords(file: string, batchRows = 100_000): AsyncGenerator<RawBatch> {
  assertExists(file, 'readings');
  switch (detectFormat(file)) {
    case 'csv': return readCsv(file, batchRows);
    case 'jsonl': return readJsonl(file, batchRows);
    case 'json': return readJsonArray(file, batchRows);
    case 'parquet': return readParquet(file, batchRows);
    case 'arrow': return readArrow(file);
  }
}

/** Whole small tabular file (CSV or JSON array) as objects, for reference data. */
export async function readTable(file: string, what: string, encoding: TextEncoding = 'auto'): Promise<{ rows: Record<string, unknown>[]; lineOf: number[]; encoding: string }> {
  assertExists(file, what);
  const fmt = detectFormat(file);
  const rows: Record<string, unknown>[] = [];
  const lineOf: number[] = [];
  let used = 'utf-8';
  if (fmt === 'csv') {
    let header: string[] | undefined;
    // reference tables are small: read whole, so the encoding can be told (GBK from office software)
    const { text, encoding: enc } = readTextFile(file, encoding);
    used = enc;
    const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
    for (const [line, n] of lines.map((l, i) => [l, i + 1] as const)) {
      if (line.trim() === '') continue;
      const cells = splitCsvLine(line);
      if (!cells) throw new PowerscreenError('INPUT_MALFORMED', `${file}: row ${n}: unclosed quote`);
      if (!header) { header = cells.map((c) => c.trim()); continue; }
      if (cells.length !== header.length) throw new PowerscreenError('INPUT_MALFORMED', `${file}: row ${n}: ${cells.length} fields, header has ${header.length}`);
      rows.push(Object.fromEntries(header.map((h, i) => [h, cells[i]])));
      lineOf.push(n);
    }
  } else if (fmt === 'json' || fmt === 'jsonl') {
    for await (const b of fmt === 'json' ? readJsonArray(file, 1e9) : readJsonl(file, 1e9)) {
      if (b.broken.length) throw new PowerscreenError('INPUT_MALFORMED', `${file}: row ${b.broken[0]!.row}: ${b.broken[0]!.reason}`);
      rows.push(...(b.records as Record<string, unknown>[]));
      lineOf.push(...b.rows);
    }
  } else {
    throw new PowerscreenError('INPUT_MALFORMED', `${file}: ${what} must be CSV or JSON`);
  }
  return { rows, lineOf, encoding: used };
}
