/**
 * Native file ingest: DuckDB reads a CSV or Parquet reading file itself (read_csv / read_parquet)
 * into a temp table, the reading contract is checked set-wise in SQL, the wide 96-point layout is
 * unpivoted in SQL, and the rows that pass stay in DuckDB, stored by ReadingStore.append from there.
 * Only the rows the SQL declines come back to TypeScript, where the contract (validateReading)
 * decides and names the field and the reason.
 *
 * Why the results equal the line-by-line reader's: the SQL accepts a strict subset of what the
 * contract accepts (plain decimals, ISO times with +08:00 or none, whole-minute intervals) and
 * computes the same values for it; everything else is declined and judged by the contract. A file
 * DuckDB would not read row for line as the line reader does - ragged rows, stray quotes, blank or
 * multi-line rows, a lone CR, NUL bytes, invalid UTF-8, a register feed, an unknown column type - is
 * declined whole, and backfill reads it the JavaScript way, which reports each broken row.
 * test/store/nativeFile.test.ts holds both paths to equal stores and rejects on clean and mutated files.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Db } from './db.js';
import type { StagedQuery } from './readingStore.js';
import { splitCsvLine } from '../io/csv.js';
import { checkLongColumns, detectFormat, emptyBatch, expandWide, parquetValue, widePointEnds, type RawBatch } from '../io/readers.js';
import { MAX_INTERVAL_KWH, METER_ID_CHARS, METER_ID_MAX_CHARS } from '../contracts/reading.js';
import { assertExists } from '../io/lines.js';
import { DAILY_MIDNIGHT_SHARE } from '../core/cadence.js';

export type NativeLayout = { kind: 'long'; hasInterval: boolean } | { kind: 'wide'; ends: number[]; pointCols: string[] };

export interface NativeFile {
  format: 'csv' | 'parquet';
  layout: NativeLayout;
  /** Column name → DuckDB type of the staged file (all VARCHAR for CSV). */
  types: Map<string, string>;
  /** File row of staged row 0 (CSV: line 2, under the header; Parquet: row 1). */
  firstRow: number;
}

export type Opened = { ok: true; file: NativeFile } | { ok: false; why: string };

const RAW = 'temp.native_raw';
const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\))$/;
/** A value column DuckDB can check: a number type or text. */
const VALUE_TYPE = new RegExp(`${NUMERIC.source}|^VARCHAR$`);
const INTEGRAL = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)$/;

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
const lit = (text: string) => `'${text.replace(/'/g, "''")}'`;

/**
 * The line reader's view of the file's shape: its header line and how many lines it has, or why
 * DuckDB's reading of it could differ (a lone CR or NUL splits or ends lines differently).
 */
async function scanLines(file: string): Promise<{ header: string; lines: number } | { why: string }> {
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  const stream = file.toLowerCase().endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  let newlines = 0, last = -1, crAtEnd = false;
  let head: Buffer | undefined = Buffer.alloc(0);
  let header: string | undefined;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (!chunk.length) continue;
    if (chunk.includes(0)) return { why: 'a NUL byte' };
    // CR only as part of CRLF: readline ends a line at a lone CR, DuckDB's reader may not
    if (crAtEnd && chunk[0] !== 10) return { why: 'a CR without LF' };
    for (let i = chunk.indexOf(13); i !== -1; i = chunk.indexOf(13, i + 1)) {
      if (i + 1 < chunk.length && chunk[i + 1] !== 10) return { why: 'a CR without LF' };
    }
    crAtEnd = chunk[chunk.length - 1] === 13;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) newlines++;
    last = chunk[chunk.length - 1]!;
    if (head) {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf(10);
      if (end !== -1) {
        header = head.subarray(0, end).toString('utf8').replace(/\r$/, '').replace(/^\uFEFF/, '');
        head = undefined;
      } else if (head.length > 1 << 20) return { why: 'a header line over 1 MB' };
    }
  }
  if (crAtEnd) return { why: 'a CR without LF' };
  if (header === undefined) return { why: 'no complete header line' };
  return { header, lines: newlines + (last !== 10 ? 1 : 0) };
}

/** Columns → layout, or why the native path leaves the file to the line reader (which reports it). */
function layoutOf(columns: string[], file: string): NativeLayout | { why: string } {
  try {
    const ends = widePointEnds(columns, file);
    if (ends) {
      if (!columns.includes('meter_id')) return { why: 'no meter_id column' };
      return { kind: 'wide', ends, pointCols: columns.filter((c) => c !== 'meter_id' && c !== 'date') };
    }
    checkLongColumns(columns, file);
  } catch (e) {
    return { why: (e as Error).message };
  }
  if (columns.includes('reading_kwh')) return { why: 'a register feed (its energy is derived in order, meter by meter)' };
  return { kind: 'long', hasInterval: columns.includes('interval_min') };
}

/** Stage the file in DuckDB when it can be read natively. */
export async function openNativeFile(db: Db, file: string): Promise<Opened> {
  assertExists(file, 'readings');
  const format = detectFormat(file);
  if (format !== 'csv' && format !== 'parquet') return { ok: false, why: `${format} files are read by the line reader` };
  const con = db.con;
  const fail = async (why: string): Promise<Opened> => {
    await dropNativeFile(db);
    return { ok: false, why };
  };
  if (format === 'csv') {
    const scan = await scanLines(file);
    if ('why' in scan) return { ok: false, why: scan.why };
    const cells = splitCsvLine(scan.header);
    if (!cells) return { ok: false, why: 'the header has an unclosed quote' };
    const columns = cells.map((c) => c.trim());
    if (new Set(columns).size !== columns.length) return { ok: false, why: 'a column appears twice' };
    const layout = layoutOf(columns, file);
    if ('why' in layout) return { ok: false, why: layout.why };
    const spec = `{${columns.map((c) => `${lit(c)}: 'VARCHAR'`).join(', ')}}`;
    try {
      await con.run(`create or replace temp table native_raw as
        select * from read_csv($file, columns = ${spec}, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"',
                               strict_mode = true, null_padding = false, ignore_errors = false, parallel = true)`, { file });
    } catch (e) {
      return fail(`DuckDB: ${(e as Error).message.split('\n')[0]}`);
    }
    const rows = Number((await con.runAndReadAll(`select count(*) from ${RAW}`)).getRows()[0]![0]);
    // a blank line, a quoted field over several lines: rows and lines no longer match one for one
    if (rows !== scan.lines - 1) return fail(`${rows} rows in ${scan.lines - 1} lines`);
    return { ok: true, file: { format, layout, types: new Map(columns.map((c) => [c, 'VARCHAR'])), firstRow: 2 } };
  }
  try {
    await con.run(`create or replace temp table native_raw as select * from read_parquet($file)`, { file });
  } catch (e) {
    return fail(`DuckDB: ${(e as Error).message.split('\n')[0]}`);
  }
  const desc = (await con.runAndReadAll(`select column_name, data_type from information_schema.columns where table_schema = 'main' and table_catalog = 'temp' and table_name = 'native_raw' order by ordinal_position`)).getRows();
  const types = new Map(desc.map(([n, t]) => [String(n), String(t)]));
  const layout = layoutOf([...types.keys()], file);
  if ('why' in layout) return fail(layout.why);
  const typeOk = (c: string, ok: RegExp) => ok.test(types.get(c)!);
  if (!typeOk('meter_id', /^VARCHAR$/)) return fail(`meter_id is ${types.get('meter_id')}`);
  if (layout.kind === 'long') {
    if (!typeOk('ts', /^(VARCHAR|TIMESTAMP|TIMESTAMP WITH TIME ZONE)$/)) return fail(`ts is ${types.get('ts')}`);
    if (!typeOk('kwh', VALUE_TYPE)) return fail(`kwh is ${types.get('kwh')}`);
    if (layout.hasInterval && !typeOk('interval_min', VALUE_TYPE)) return fail(`interval_min is ${types.get('interval_min')}`);
  } else {
    if (!typeOk('date', /^(VARCHAR|DATE)$/)) return fail(`date is ${types.get('date')}`);
    const pointTypes = new Set(layout.pointCols.map((c) => types.get(c)!));
    // UNPIVOT needs one type; mixed point types are rare enough to leave to the line reader
    if (pointTypes.size !== 1 || !VALUE_TYPE.test([...pointTypes][0]!)) return fail(`point columns of types ${[...pointTypes].join(', ')}`);
  }
  return { ok: true, file: { format, layout, types, firstRow: 1 } };
}

export async function dropNativeFile(db: Db): Promise<void> {
  await db.con.run(`drop table if exists ${RAW}; drop table if exists temp.native_checked; drop table if exists temp.native_points`);
}

/** The first n staged rows as the line reader gives them (for judging a file's cadence). */
export async function firstRecords(db: Db, f: NativeFile, n: number): Promise<Record<string, unknown>[]> {
  // rowid counts the staged rows from 0: a filter on it skips the rest of the table, where
  // `order by rowid limit n` sorted all of it for the top n (0.9 s of a 5.76 M-row file's 13 s)
  const rows = (await db.con.runAndReadAll(`select * from ${RAW} where rowid < ${Math.floor(n)} order by rowid`)).getRowObjects();
  return rows.map((r) => recordOf(r, f));
}

/**
 * Whether the first n staged rows surely hold readings off local midnight, more than the 2 % that
 * judgeCadence (core/cadence.ts) allows a daily file: then its verdict is the default cadence, and
 * the rows need not come to JS to be judged (0.3 s of a 1.44 M-row file's 2.1 s). Only rows whose
 * meter id, kwh and time the SQL surely reads as judgeCadence does are counted, against every row
 * sampled, so a yes gives the same verdict; a no leaves the judgement to judgeCadence.
 */
export async function surelyNotDaily(db: Db, f: NativeFile, n: number): Promise<boolean> {
  if (f.types.get('meter_id') !== 'VARCHAR' || !f.types.has('ts') || !f.types.has('kwh')) return false;
  const t = tsExpr('ts', f.types.get('ts')!);
  const r = (await db.con.runAndReadAll(`
    select count(*) as sampled,
           count(*) filter (where meter_id is not null and kwh is not null and t is not null and t <> date_trunc('day', t)) as off_midnight
    from (select meter_id, kwh, ${t} as t from ${RAW} where rowid < ${Math.floor(n)})`)).getRowObjectsJS()[0]!;
  return Number(r.off_midnight) > (1 - DAILY_MIDNIGHT_SHARE) * Number(r.sampled);
}

/** A staged row → the record the line reader would have made of it. */
function recordOf(row: Record<string, unknown>, f: NativeFile): Record<string, unknown> {
  const rec: Record<string, unknown> = {};
  for (const [c, t] of f.types) {
    const v = row[c];
    // the CSV line reader gives every cell as text, an empty one as ''
    rec[c] = f.format === 'csv' ? (v === null || v === undefined ? '' : String(v)) : parquetValue(v ?? null, t);
  }
  return rec;
}

// ---- the contract in SQL: each expression is the value when the rule surely holds, else NULL ----

/** ISO local time with +08:00 or none, seconds optional, 24:00 allowed, years 1970–2199 (time.ts parseLocalMs). */
const TS_TEXT = String.raw`(19[7-9]\d|20\d\d|21\d\d)-\d\d-\d\d[T ](([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?|24:00(:00)?)(\+08:00)?`;
const DECIMAL_TEXT = String.raw`(\d+\.?\d*|\.\d+)`;
const METER_TEXT = `[${METER_ID_CHARS}]{1,${METER_ID_MAX_CHARS}}`;

function tsExpr(col: string, type: string): string {
  const c = q(col);
  // (left() rather than a regexp_replace of the offset: a third of the time on 6 M rows)
  if (type === 'VARCHAR') return `case when regexp_full_match(${c}, '${TS_TEXT}') then try_cast(case when ends_with(${c}, '+08:00') then left(${c}, length(${c}) - 6) else ${c} end as timestamp) end`;
  // Parquet timestamps: the line reader keeps milliseconds and checks the year of the text it makes (UTC for a zoned one)
  const local = type === 'TIMESTAMP' ? c : `make_timestamp(epoch_us(${c}) + 28800000000)`;
  const text = type === 'TIMESTAMP' ? c : `make_timestamp(epoch_us(${c}))`;
  return `case when year(${text}) between 1970 and 2199 and epoch_us(${c}) % 1000 = 0 then ${local} end`;
}

function kwhExpr(c: string, type: string): string {
  if (type === 'VARCHAR') return `case when length(${c}) <= 24 and regexp_full_match(${c}, '${DECIMAL_TEXT}') then cast(${c} as double) end`;
  return `case when isfinite(cast(${c} as double)) and cast(${c} as double) >= 0 then cast(${c} as double) end`;
}

function intervalExpr(col: string | undefined, type: string | undefined): string {
  if (!col) return '$default_interval';
  const c = q(col);
  const whole = type === 'VARCHAR'
    ? `case when regexp_full_match(${c}, '\\d{1,4}') and cast(${c} as integer) between 1 and 1440 then cast(${c} as integer) end`
    : INTEGRAL.test(type!) ? `case when ${c} between 1 and 1440 then cast(${c} as integer) end`
    : `case when isfinite(cast(${c} as double)) and cast(${c} as double) = floor(cast(${c} as double)) and cast(${c} as double) between 1 and 1440 then cast(${c} as integer) end`;
  // an empty cell (CSV) or a null (Parquet) means the default
  return `case when ${c} is null then $default_interval else ${whole} end`;
}

/**
 * The file's distinct meter ids, each checked once against the contract's characters, with its
 * contract: a file repeats each id on every row of its meter, and the regex per row was a fifth of
 * the check's time (per point of a wide row, 96 times a row).
 */
const IDS = `(select d.meter_id, regexp_full_match(d.meter_id, '${METER_TEXT}') as id_ok, m.contract_kva
  from (select distinct meter_id from ${RAW}) d left join meters m on m.meter_id = d.meter_id)`;

/** Rows that pass the rules and the contract-capacity check (ingest.ts CONTRACT_MARGIN); `m` is IDS. */
const plausible = (margin: number) => `t.ts is not null and t.kwh is not null and t.interval_min is not null
  and m.id_ok
  and t.kwh <= ${MAX_INTERVAL_KWH}.0 * (cast(t.interval_min as double) / 60)
  and (m.contract_kva is null or m.contract_kva <= 0 or t.kwh <= ${margin}.0 * m.contract_kva * (cast(t.interval_min as double) / 60))
  -- a reading from before the raw horizon is judged one by one (ingest.ts: new history, a repeat, or unknown)
  and t.ts > (select coalesce(cast(raw_from as timestamp), timestamp '1970-01-01') from store_retention)`;

/**
 * The readings the SQL accepted, shaped as the store's stage (seq = file row): ReadingStore.append
 * reads them in place, beside the declined rows the contract accepted, rather than copying 6 M rows first.
 */
const ACCEPTED = `(select row_no as seq, meter_id, ts, interval_min, kwh from temp.native_checked where ok and ts is not null)`;

export interface StagedFile {
  /** The readings the SQL accepted. */
  staged: StagedQuery;
  /** The rows it declined, as the line reader makes them: the contract judges these. */
  declined: RawBatch;
}

/**
 * Check the staged file's rows against the contract: the passing readings stay in DuckDB (`staged`),
 * the declined ones are returned for the contract to judge. `contractMargin`: ingest.ts CONTRACT_MARGIN.
 */
export async function stageNativeFile(db: Db, f: NativeFile, defaultIntervalMin: number, contractMargin: number): Promise<StagedFile> {
  const con = db.con;
  const params = { default_interval: defaultIntervalMin, first_row: f.firstRow };
  if (f.layout.kind === 'long') {
    const iv = f.layout.hasInterval ? 'interval_min' : undefined;
    const tsType = f.types.get('ts')!;
    // A text time is checked once per distinct text and joined back: a file repeats each interval's
    // time once per meter, and the regex and cast per row were most of the check's time
    const times = tsType === 'VARCHAR'
      ? { value: 'x.ts', join: `left join (select ts as ts_text, ${tsExpr('ts', tsType)} as ts from (select distinct ts from ${RAW})) x on x.ts_text = r.ts` }
      : { value: tsExpr('ts', tsType), join: '' };
    await con.run(`create or replace temp table native_checked as
      select t.row_no, t.meter_id, t.ts, t.interval_min, t.kwh, coalesce(${plausible(contractMargin)}, false) as ok
      from (
        select r.rowid + $first_row as row_no, r.meter_id, ${times.value} as ts,
               ${intervalExpr(iv, iv && f.types.get(iv))} as interval_min,
               ${kwhExpr(q('kwh'), f.types.get('kwh')!)} as kwh
        from ${RAW} r ${times.join}
      ) t left join ${IDS} m on m.meter_id = t.meter_id`, params);
  } else {
    const { ends, pointCols } = f.layout;
    const step = 1440 / ends.length;
    const pointType = f.types.get(pointCols[0]!)!;
    const dateType = f.types.get('date')!;
    const day = dateType === 'DATE'
      ? `case when year(date) between 1970 and 2199 then cast(date as timestamp) end`
      : `case when regexp_full_match(date, '(19[7-9]\\d|20\\d\\d|21\\d\\d)-\\d\\d-\\d\\d') then cast(try_cast(date as date) as timestamp) end`;
    const endOf = `(values ${pointCols.map((c, i) => `(${lit(c)}, ${ends[i]})`).join(', ')}) e(col, end_min)`;
    // one row per non-empty point: UNPIVOT leaves out NULLs, an empty text cell is no reading either
    await con.run(`create or replace temp table native_points as
      select p.rid, e.end_min, p.v from (
        unpivot (select rowid as rid, ${pointCols.map(q).join(', ')} from ${RAW})
        on ${pointCols.map(q).join(', ')} into name col value v
      ) p join ${endOf} using (col)
      ${pointType === 'VARCHAR' ? `where p.v <> ''` : ''}`);
    await con.run(`create or replace temp table native_checked as
      with days as (select rowid as rid, meter_id, ${day} as day from ${RAW}),
      points as (
        select d.rid, d.meter_id, d.day + to_minutes(cast(p.end_min as bigint)) as ts, ${step} as interval_min,
               ${kwhExpr('p.v', pointType)} as kwh
        from temp.native_points p join days d using (rid)
      ),
      judged as (
        select t.*, coalesce(${plausible(contractMargin)}, false) as ok from points t left join ${IDS} m on m.meter_id = t.meter_id
      ),
      rows_ok as (
        select d.rid, d.day is not null and coalesce(bool_and(j.ok), true) as ok
        from days d left join judged j using (rid) group by d.rid, d.day
      )
      select j.rid + $first_row as row_no, j.meter_id, j.ts, j.interval_min, j.kwh, r.ok, j.rid
      from judged j join rows_ok r using (rid)
      union all
      -- a row without any point is judged on its date alone (the line reader rejects a bad date)
      select r.rid + $first_row, null, null, null, null, r.ok, r.rid from rows_ok r anti join judged j using (rid)`, { first_row: f.firstRow });
  }
  // one pass for what the store and the counts need: rows, time range, meters
  const perMeter = (await con.runAndReadAll(`select meter_id, count(*), epoch_ms(min(ts)), epoch_ms(max(ts)) from ${ACCEPTED} group by meter_id`)).getRows();
  const staged: StagedQuery = { sql: ACCEPTED, rows: 0, minTsMs: Infinity, maxTsMs: -Infinity, meters: perMeter.map((r) => String(r[0])) };
  for (const [, n, lo, hi] of perMeter) {
    staged.rows += Number(n);
    staged.minTsMs = Math.min(staged.minTsMs, Number(lo));
    staged.maxTsMs = Math.max(staged.maxTsMs, Number(hi));
  }
  const declined = emptyBatch();
  const declinedRows = f.layout.kind === 'long'
    ? `select rowid + $first_row as row_no, * from ${RAW} where rowid + $first_row in (select row_no from temp.native_checked where not ok) order by rowid`
    : `select rowid + $first_row as row_no, * from ${RAW} where rowid in (select rid from temp.native_checked where not ok) order by rowid`;
  const rows = (await con.runAndReadAll(declinedRows, { first_row: f.firstRow })).getRowObjects();
  for (const row of rows) {
    const rowNo = Number(row.row_no);
    const rec = recordOf(row, f);
    if (f.layout.kind === 'wide') expandWide(rec, f.layout.ends, f.layout.pointCols, rowNo, declined);
    else {
      declined.records.push(rec);
      declined.rows.push(rowNo);
    }
  }
  return { staged, declined };
}
