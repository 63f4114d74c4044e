/**
 * Daily totals in a feed that does not say its interval. A file of daily values without an
 * interval_min column would be read as 15-minute values: 42 kWh in 15 minutes instead of a day,
 * every meter drawing like a factory and every profile wrong. Daily totals show themselves by
 * their timestamps: every one at a local midnight (a daily value's ts is the following midnight)
 * and a day or more apart. Spacing alone cannot tell - a file of late corrections holds sparse
 * 15-minute readings hours apart - so only that unmistakable shape is read as daily. Pure.
 */
import { DAY_MS, parseLocalMs } from '../time.js';

export type CadenceVerdict =
  | { ok: true }
  /** Read the file at this interval, and say so. */
  | { ok: 'infer'; interval_min: number; note: string };

/** A file is daily when this share of its records are at local midnight (and as many a day apart). */
export const DAILY_MIDNIGHT_SHARE = 0.98;

/** Fewer records than this without interval_min are not judged. */
const MIN_RECORDS = 20;

export function judgeCadence(records: readonly unknown[], defaultIntervalMin: number): CadenceVerdict {
  if (defaultIntervalMin >= 1440) return { ok: true };
  const byMeter = new Map<string, number[]>();
  let n = 0, midnight = 0;
  for (const r of records) {
    if (!r || typeof r !== 'object') continue;
    const o = r as Record<string, unknown>;
    if ((o.interval_min !== undefined && o.interval_min !== null && o.interval_min !== '') || o.kwh === undefined) continue;
    if (typeof o.meter_id !== 'string' || typeof o.ts !== 'string') continue;
    const t = parseLocalMs(o.ts);
    if (t === undefined) continue;
    n++;
    if (t % DAY_MS === 0) midnight++;
    (byMeter.get(o.meter_id) ?? byMeter.set(o.meter_id, []).get(o.meter_id)!).push(t);
  }
  if (n < MIN_RECORDS || midnight < DAILY_MIDNIGHT_SHARE * n) return { ok: true };
  // and a day apart: several values of one meter at one midnight are not daily totals
  let pairs = 0, dayApart = 0;
  for (const ts of byMeter.values()) {
    ts.sort((a, b) => a - b);
    for (let i = 1; i < ts.length; i++) {
      pairs++;
      if (ts[i]! - ts[i - 1]! >= DAY_MS) dayApart++;
    }
  }
  if (!pairs || dayApart < DAILY_MIDNIGHT_SHARE * pairs) return { ok: true };
  return { ok: 'infer', interval_min: 1440, note: `interval_min: none given; all ${n} readings are at local midnight a day or more apart, so they are read as daily totals (1440 min), not ${defaultIntervalMin}-minute values` };
}
