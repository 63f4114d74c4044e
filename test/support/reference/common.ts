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
