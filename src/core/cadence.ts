/**
 * The cadence of a feed that does not say its interval. A file of daily totals without an
 * interval_min column would be read as 15-minute values: 42 kWh in 15 minutes instead of a day,
 * every meter drawing like a factory and every profile wrong. The spacing of each meter's
 * timestamps tells: if most meters' readings are much further apart than the default interval,
 * the file is not what the default says. Pure.
 */
import { parseLocalMs } from '../time.js';

export interface Cadence {
  /** Median over meters of each meter's median spacing between consecutive readings (minutes). */
  spacing_min: number;
  meters: number;
}

/** The typical spacing of records that carry no interval_min (register values excluded); undefined if too few to tell. */
export function observedCadence(records: readonly unknown[]): Cadence | undefined {
  const byMeter = new Map<string, number[]>();
  for (const r of records) {
    if (!r || typeof r !== 'object') continue;
    const o = r as Record<string, unknown>;
    if (o.interval_min !== undefined && o.interval_min !== null && o.interval_min !== '') continue;
    if (o.kwh === undefined || typeof o.meter_id !== 'string' || typeof o.ts !== 'string') continue;
    const t = parseLocalMs(o.ts);
    if (t === undefined) continue;
    (byMeter.get(o.meter_id) ?? byMeter.set(o.meter_id, []).get(o.meter_id)!).push(t);
  }
  const spacings: number[] = [];
  for (const ts of byMeter.values()) {
    if (ts.length < 3) continue;
    ts.sort((a, b) => a - b);
    const d = ts.slice(1).map((t, i) => (t - ts[i]!) / 60_000).filter((x) => x > 0);
    if (d.length >= 2) spacings.push(median(d));
  }
  if (!spacings.length) return undefined;
  return { spacing_min: median(spacings), meters: spacings.length };
}

/** Cadences a feed really has; a file spaced exactly like one of them is read at it. */
export const KNOWN_CADENCES_MIN = [30, 60, 1440] as const;

export type CadenceVerdict =
  | { ok: true }
  /** Read the file at this interval: its spacing is unambiguous, and the note says so. */
  | { ok: 'infer'; interval_min: number; note: string }
  | { ok: false; problem: string };

/**
 * Whether records without interval_min can be read at the default interval. A file spaced far
 * wider than the default, exactly at a known cadence (daily totals, hourly values), is read at
 * that cadence with a note; any other wide spacing is refused with what to do about it.
 */
export function judgeCadence(records: readonly unknown[], defaultIntervalMin: number): CadenceVerdict {
  const c = observedCadence(records);
  // gaps make spacing longer than the interval now and then; the median over meters of each
  // meter's median is far off only when the whole feed has another cadence
  if (!c || c.spacing_min < 4 * defaultIntervalMin) return { ok: true };
  const known = KNOWN_CADENCES_MIN.find((k) => k === c.spacing_min);
  if (known) return { ok: 'infer', interval_min: known, note: `interval_min: none given; readings are ${known} min apart (median of ${c.meters} meters), so they are read as ${known}-minute values, not ${defaultIntervalMin}` };
  return { ok: false, problem: `interval_min: readings are ${c.spacing_min} min apart (median of ${c.meters} meters) but carry no interval_min, so each would be read as ${defaultIntervalMin} minutes of energy; add an interval_min column or set source.interval_min in the pipeline` };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
