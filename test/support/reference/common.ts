/**
 * Reference implementations of the detectors: plain loops over arrays, written from the SQL
 * headers' definitions, so property tests can compare them with the SQL on random series.
 * They favour obviousness over speed. Pure.
 */
import { median } from 'simple-statistics';

export { median };

/** DuckDB's quantile_cont: linear interpolation between closest ranks. */
export function quantileCont(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export interface RefReading {
  ts_ms: number; // interval end, local
  interval_min: number;
  kwh: number;
}

export interface RefEpisode {
  meter_id: string;
  episode_start_ms: number;
  detected_at_ms: number;
  window_end_ms: number;
}

/** Group flagged points into episodes: a gap larger than maxGap starts a new one. */
export function islands<T>(points: readonly T[], key: (p: T) => number, maxGap: number): T[][] {
  const out: T[][] = [];
  let prev: number | undefined;
  for (const p of points) {
    const k = key(p);
    if (prev === undefined || k - prev > maxGap) out.push([]);
    out[out.length - 1]!.push(p);
    prev = k;
  }
  return out;
}

export const DAY = 86_400_000;
export const dayOf = (endMs: number) => Math.floor((endMs - 1000) / DAY) * DAY; // interval end → its local day

/**
 * The peer level a meter is compared with (sql/macros/shared_steps.sql peer_streets, peer_day_levels):
 * the median daily energy of its street's meters of its category, or of the district's meters of the
 * category (registered ones) when its street has fewer than MIN_STREET_PEERS registered ones. `registered`:
 * every registered meter's street and category; `days`: each meter's day energy (peer_daily's kwh_day).
 */
export const MIN_STREET_PEERS = 5;
export function peerLevels(registered: ReadonlyMap<string, { street: string; category: string }>, days: readonly { meter_id: string; day_ms: number; kwh_day: number }[]): (street: string, category: string, dayMs: number) => number | undefined {
  const size = new Map<string, number>();
  for (const m of registered.values()) size.set(`${m.street}|${m.category}`, (size.get(`${m.street}|${m.category}`) ?? 0) + 1);
  const groups = new Map<string, number[]>();
  const add = (k: string, v: number) => (groups.get(k) ?? groups.set(k, []).get(k)!).push(v);
  for (const d of days) {
    const m = registered.get(d.meter_id);
    add(`${m?.street ?? ''}|${m?.category ?? 'other'}|${d.day_ms}`, d.kwh_day);
    // a pool holds the registered meters of its category
    if (m) add(`*|${m.category}|${d.day_ms}`, d.kwh_day);
  }
  return (street, category, dayMs) => {
    // a meter missing from the registry keeps its own group (street '', 'other'), as meter_groups() does
    const n = size.get(`${street}|${category}`);
    const peerStreet = n !== undefined && n < MIN_STREET_PEERS ? '*' : street;
    const xs = groups.get(`${peerStreet}|${category}|${dayMs}`);
    return xs ? median(xs) : undefined;
  };
}
