/**
 * Given/expect cases for detector SQL, written as JSON so an analyst can add one without
 * TypeScript: reference rows, compact series of readings, parameters, and the leads expected.
 * What a case is and how its readings and leads are read; ../store/sqlCaseRunner.ts runs one on
 * DuckDB (for test/sql/detectors.test.ts and `powerscreen sql-test`).
 */
import { z } from 'zod';
import { DAY_MS, MINUTE_MS, formatLocal, parseDate, parseLocalMs } from '../time.js';
import type { Reading } from '../contracts/reading.js';
import { meterSchema, siteSchema } from '../contracts/registry.js';
import { PowerscreenError } from '../errors.js';

const segmentSchema = z.object({
  days: z.number().positive(),
  /** Constant draw (kW), or the draw outside the profile bands. */
  kw: z.number().nonnegative().default(0),
  /** Bands [fromHour, toHour, kW] applied on `weekdays` (1 = Mon … 7 = Sun). */
  bands: z.array(z.tuple([z.number(), z.number(), z.number()])).default([]),
  weekdays: z.array(z.number().int().min(1).max(7)).default([1, 2, 3, 4, 5, 6, 7]),
  /** Relative day-to-day wobble, deterministic (sin of the day number), so medians are not trivially flat. */
  wobble: z.number().min(0).max(0.5).default(0),
});

export const sqlCaseSchema = z.object({
  description: z.string(),
  /** A detector the registry knows (the test fails naming it otherwise). */
  detector: z.string(),
  params: z.record(z.string(), z.unknown()).default({}),
  given: z.object({
    meters: z.array(z.record(z.string(), z.unknown())).default([]),
    sites: z.array(z.record(z.string(), z.unknown())).default([]),
    series: z.array(z.object({
      meter_id: z.string(),
      /** Local date of the first day. */
      start: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a local date YYYY-MM-DD'),
      interval_min: z.number().int().positive().default(15),
      segments: z.array(segmentSchema).min(1),
      /** Repeat the same series for meter ids prefix-1 … prefix-N (peer groups). */
      copies: z.number().int().positive().optional(),
    })),
  }),
  /** Leads expected, in any order; each names only the fields it checks. Empty = must stay quiet. */
  expect: z.array(z.record(z.string(), z.unknown())),
});
export type SqlCase = z.infer<typeof sqlCaseSchema>;

export function seriesReadings(s: SqlCase['given']['series'][number]): Reading[] {
  const out: Reading[] = [];
  const start = parseDate(s.start);
  if (start === undefined) throw new PowerscreenError('CONFIG_INVALID', `series ${s.meter_id}: start: expected a local date YYYY-MM-DD, got ${s.start}`);
  const ids = s.copies ? Array.from({ length: s.copies }, (_, i) => `${s.meter_id}-${i + 1}`) : [s.meter_id];
  for (const id of ids) {
    let t = start;
    for (const seg of s.segments) {
      const end = t + seg.days * DAY_MS;
      for (; t < end; t += s.interval_min * MINUTE_MS) {
        const tEnd = t + s.interval_min * MINUTE_MS;
        const hour = new Date(t).getUTCHours() + new Date(t).getUTCMinutes() / 60;
        const dow = ((new Date(t).getUTCDay() + 6) % 7) + 1;
        let kw = seg.kw;
        if (seg.weekdays.includes(dow)) for (const [a, b, v] of seg.bands) if (hour >= a && hour < b) kw = v;
        const day = Math.floor(t / DAY_MS);
        if (s.interval_min >= 1440 && seg.bands.length) {
          // daily values: integrate the bands over the day
          kw = seg.weekdays.includes(dow) ? seg.bands.reduce((acc, [a, b, v]) => acc + (b - a) * (v - seg.kw), seg.kw * 24) / 24 : seg.kw;
        }
        const wob = 1 + seg.wobble * Math.sin(day * 1.7);
        out.push({ meter_id: id, ts_ms: tEnd, interval_min: s.interval_min, kwh: Math.round(kw * wob * (s.interval_min / 60) * 1e4) / 1e4 });
      }
    }
  }
  return out;
}

export function caseReference(c: SqlCase) {
  return {
    meters: c.given.meters.map((m) => meterSchema.parse({ account_name: '', address: '', street: 's', community: '', ...m })),
    sites: c.given.sites.map((s) => siteSchema.parse({ site_name: '', address: '', street: 's', measure: '关停取缔', status: '整改中', ...s })),
  };
}

/** Compare an expected lead (subset of fields; times as local ISO) with an actual one. */
export function leadMatches(expected: Record<string, unknown>, actual: Record<string, unknown>): boolean {
  const get = (path: string): unknown => path.split('.').reduce<unknown>((o, p) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[p] : undefined), actual);
  return Object.entries(expected).every(([k, v]) => {
    if (k.endsWith('_min') || k.endsWith('_max')) {
      const a = get(k.slice(0, -4));
      return typeof a === 'number' && (k.endsWith('_min') ? a >= (v as number) : a <= (v as number));
    }
    const a = get(k);
    // a list (the hours to visit) matches element by element
    if (Array.isArray(v)) return Array.isArray(a) && JSON.stringify(a) === JSON.stringify(v);
    if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v) && typeof a === 'number') return parseLocalMs(v.length === 10 ? v + 'T00:00:00' : v) === a;
    return a === v;
  });
}

export function describeLead(l: Record<string, unknown>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(l).map(([k, v]) => [k, k.endsWith('_ms') && typeof v === 'number' ? formatLocal(v) : v])));
}
