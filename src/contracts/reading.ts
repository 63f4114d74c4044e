/**
 * The reading contract (design.md "Data contracts"), validated with zod at every boundary:
 * `{"meter_id": "3501020012345", "ts": "2026-11-21T08:15:00+08:00", "kwh": 0.42}`
 * or a register feed with `reading_kwh` (cumulative 示数) instead of `kwh`.
 */
import { z } from 'zod';
import { parseLocalMs } from '../time.js';
import { editDistance } from '../core/names.js';

/** An interval reading after validation: ts is the interval END as Shanghai local ms. */
export interface Reading {
  meter_id: string;
  ts_ms: number;
  interval_min: number;
  kwh: number;
}

/** A cumulative register value (示数) after validation; turned into a Reading by RegisterDeriver. */
export interface RegisterReading {
  meter_id: string;
  ts_ms: number;
  reading_kwh: number;
}

export type ValidatedRecord =
  | { ok: true; kind: 'interval'; reading: Reading }
  | { ok: true; kind: 'register'; reading: RegisterReading }
  | { ok: false; reason: string };

/** A decimal number as text (no hex, binary, octal or Infinity, which Number() would accept). */
const DECIMAL_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** Text → number when it is written as a decimal; NaN otherwise (so the record is rejected, never misread). */
export const decimalNumber = (t: string): number => (DECIMAL_RE.test(t) ? Number(t) : NaN);

// Files deliver numbers as text; an empty cell is "absent".
const numeric = z.preprocess((v) => {
  if (v === '' || v === null || v === undefined) return undefined;
  if (typeof v === 'string') {
    const t = v.trim();
    return t === '' ? undefined : decimalNumber(t);
  }
  if (typeof v === 'bigint') return Number(v);
  return v;
}, z.number({ error: 'expected a number' }).finite({ error: 'expected a finite number' }).optional());

export const MAX_INTERVAL_KWH = 100_000; // a 100 MW site for one hour: anything above is a unit error

/** What a meter id may hold (a regex character class) and how long it may be: one definition for zod, the fast path, the SQL checks and the Arrow decoder. */
export const METER_ID_CHARS = 'A-Za-z0-9_.:-';
export const METER_ID_MAX_CHARS = 64;

export const readingSchema = z
  .object({
    meter_id: z
      .string({ error: 'expected a string' })
      .trim()
      .min(1, { error: 'must not be empty' })
      .max(METER_ID_MAX_CHARS, { error: `longer than ${METER_ID_MAX_CHARS} characters` })
      .regex(new RegExp(`^[${METER_ID_CHARS}]+$`), { error: 'only letters, digits and _ . : - are allowed' }),
    ts: z.string({ error: 'expected an ISO-8601 timestamp string' }),
    kwh: numeric,
    reading_kwh: numeric,
    interval_min: numeric,
  })
  .strip();

const CONTRACT_KEYS = new Set(['meter_id', 'ts', 'kwh', 'reading_kwh', 'interval_min']);

const squash = (k: string) => k.toLowerCase().replace(/[^a-z]/g, '');
/** The contract key `k` looks like a misspelling of: close in spelling, or the same letters shortened ("interval"). */
function contractKeyLike(k: string): string | undefined {
  const sq = squash(k);
  if (sq.length < 2) return undefined;
  // squashed, "kWh" is "kwh" and "Interval_Min" "intervalmin"; a quarter of the letters may differ
  return [...CONTRACT_KEYS].find((c) => {
    const sc = squash(c);
    let common = 0;
    while (common < sq.length && sq[common] === sc[common]) common++;
    return editDistance(sq, sc) <= Math.max(1, Math.floor(sc.length / 4)) || (sq.length >= 4 && sc.startsWith(sq)) || common >= 6;
  });
}

export interface ValidateOptions {
  /** Interval length when the record does not say (pipeline source setting). */
  defaultIntervalMin: number;
}

const METER_ID_RE = new RegExp(`^[${METER_ID_CHARS}]{1,${METER_ID_MAX_CHARS}}$`);

/**
 * The common case — a well-formed interval reading — checked without zod (zod costs ~2.7 µs a
 * record, most of a backfill). Accepts only what the zod path accepts and returns undefined for
 * anything else, so zod remains the contract and the source of every error message;
 * test/contracts/reading.test.ts checks both agree on random records.
 */
function fastInterval(r: Record<string, unknown>, opts: ValidateOptions): ValidatedRecord | undefined {
  if (typeof r.ts !== 'string') return undefined;
  // a key the contract does not know goes the slow way, which checks it for a misspelling
  for (const k in r) if (!CONTRACT_KEYS.has(k)) return undefined;
  if (r.reading_kwh !== undefined && r.reading_kwh !== null) return undefined;
  const ts_ms = parseLocalMs(r.ts);
  if (ts_ms === undefined) return undefined;
  const reading = intervalReading(r.meter_id, ts_ms, r.kwh, r.interval_min, opts);
  return reading && { ok: true, kind: 'interval', reading };
}

/**
 * The interval-reading rules on already-typed values (a parsed timestamp, as from an Arrow column):
 * the reading when every rule holds, undefined when any fails (the caller then asks zod why).
 */
export function intervalReading(meter_id: unknown, ts_ms: number, kwhIn: unknown, intervalIn: unknown, opts: ValidateOptions): Reading | undefined {
  if (typeof meter_id !== 'string' || !METER_ID_RE.test(meter_id) || !Number.isFinite(ts_ms)) return undefined;
  let kwh = kwhIn;
  if (typeof kwh === 'string') kwh = kwh.trim() === '' ? undefined : decimalNumber(kwh.trim());
  if (typeof kwh !== 'number' || !Number.isFinite(kwh) || kwh < 0) return undefined;
  let interval = intervalIn;
  if (interval === undefined || interval === null || interval === '') interval = opts.defaultIntervalMin;
  else if (typeof interval === 'string') interval = interval.trim() === '' ? opts.defaultIntervalMin : decimalNumber(interval.trim());
  if (typeof interval !== 'number' || !Number.isInteger(interval) || interval < 1 || interval > 1440) return undefined;
  if (kwh > MAX_INTERVAL_KWH * (interval / 60)) return undefined;
  return { meter_id, ts_ms, interval_min: interval, kwh };
}

/** Validate one raw record (JSON object or CSV row) into a reading, or say why not, naming the field. */
export function validateReading(raw: unknown, opts: ValidateOptions): ValidatedRecord {
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const fast = fastInterval(raw as Record<string, unknown>, opts);
    if (fast) return fast;
  }
  return validateWithZod(raw, opts);
}

/** The contract, in full: every record the fast path declines comes here. */
export function validateWithZod(raw: unknown, opts: ValidateOptions): ValidatedRecord {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, reason: 'record: expected a JSON object with meter_id, ts and kwh' };
  }
  // A misspelled key would silently become a default ("intervall": 1440 read as 15 minutes), so
  // it is refused, naming the key it resembles. Other keys (a feed's own quality flags, source
  // tags) are not the contract's business and are ignored.
  for (const k of Object.keys(raw)) {
    if (CONTRACT_KEYS.has(k)) continue;
    const near = contractKeyLike(k);
    if (near) return { ok: false, reason: `${/^[A-Za-z_][\w-]*$/.test(k) ? k : `record: key ${JSON.stringify(k)}`}: unknown key (did you mean ${near}?)` };
  }
  const parsed = readingSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || 'record';
    return { ok: false, reason: `${field}: ${issue.message}` };
  }
  const r = parsed.data;
  const ts_ms = parseLocalMs(r.ts);
  if (ts_ms === undefined) {
    return { ok: false, reason: `ts: not an ISO-8601 timestamp (got ${JSON.stringify(r.ts.slice(0, 40))})` };
  }
  const hasKwh = r.kwh !== undefined;
  const hasReg = r.reading_kwh !== undefined;
  if (hasKwh && hasReg) return { ok: false, reason: 'kwh: give either kwh (interval energy) or reading_kwh (register), not both' };
  if (!hasKwh && !hasReg) return { ok: false, reason: 'kwh: missing (neither kwh nor reading_kwh given)' };
  if (hasReg) {
    if (r.reading_kwh! < 0) return { ok: false, reason: `reading_kwh: negative register value ${r.reading_kwh}` };
    return { ok: true, kind: 'register', reading: { meter_id: r.meter_id, ts_ms, reading_kwh: r.reading_kwh! } };
  }
  const interval_min = r.interval_min ?? opts.defaultIntervalMin;
  if (!Number.isInteger(interval_min) || interval_min < 1 || interval_min > 1440) {
    return { ok: false, reason: `interval_min: must be a whole number of minutes from 1 to 1440 (got ${interval_min})` };
  }
  const kwh = r.kwh!;
  if (kwh < 0) return { ok: false, reason: `kwh: negative interval energy ${kwh}` };
  if (kwh > MAX_INTERVAL_KWH * (interval_min / 60)) {
    return { ok: false, reason: `kwh: ${kwh} kWh in ${interval_min} min is implausible (unit error?)` };
  }
  return { ok: true, kind: 'interval', reading: { meter_id: r.meter_id, ts_ms, interval_min, kwh } };
}
