/**
 * Change points in a daily series, both directions: binary segmentation on mean shifts with a
 * penalty on each added split (in units of the series' robust variance), and a minimum segment
 * length so a holiday week is not a regime. Pure.
 */
import { median, medianAbsoluteDeviation } from 'simple-statistics';

export interface ChangePoint {
  index: number; // first index of the new segment
  before: number; // mean of the segment before
  after: number; // mean of the segment after
  magnitude: number; // after − before
  direction: 'up' | 'down';
}

export interface ChangePointOptions {
  minSegment: number;
  /** Required cost reduction per split, × robust variance (σ² from the MAD of day-to-day differences). */
  penalty: number;
  maxPoints: number;
  /** A split must change the mean by at least this share of the larger side (a workshop's Sundays are not regimes). */
  minRelativeChange: number;
}

const DEFAULTS: ChangePointOptions = { minSegment: 7, penalty: 25, maxPoints: 6, minRelativeChange: 0.3 };

export function binarySegmentation(xs: readonly number[], opts: Partial<ChangePointOptions> = {}): ChangePoint[] {
  const o = { ...DEFAULTS, ...opts };
  const n = xs.length;
  if (n < 2 * o.minSegment) return [];
  const prefix = [0], prefix2 = [0];
  for (const x of xs) { prefix.push(prefix.at(-1)! + x); prefix2.push(prefix2.at(-1)! + x * x); }
  const cost = (a: number, b: number) => { const s = prefix[b]! - prefix[a]!, s2 = prefix2[b]! - prefix2[a]!; return s2 - (s * s) / (b - a); };
  const diffs = xs.slice(1).map((x, i) => x - xs[i]!);
  const sigma = Math.max(medianAbsoluteDeviation(diffs) * 1.4826 / Math.SQRT2, 0.05 * Math.abs(median([...xs])), 1e-6);
  const threshold = o.penalty * sigma * sigma;
  const splits: number[] = [];
  const segments: [number, number][] = [[0, n]];
  while (splits.length < o.maxPoints) {
    let best: { gain: number; at: number; seg: number } | undefined;
    segments.forEach(([a, b], si) => {
      for (let t = a + o.minSegment; t <= b - o.minSegment; t++) {
        const gain = cost(a, b) - cost(a, t) - cost(t, b);
        const before = (prefix[t]! - prefix[a]!) / (t - a), after = (prefix[b]! - prefix[t]!) / (b - t);
        if (Math.abs(after - before) < o.minRelativeChange * Math.max(Math.abs(before), Math.abs(after))) continue;
        if (!best || gain > best.gain) best = { gain, at: t, seg: si };
      }
    });
    if (!best || best.gain < threshold) break;
    const [a, b] = segments[best.seg]!;
    segments.splice(best.seg, 1, [a, best.at], [best.at, b]);
    splits.push(best.at);
  }
  splits.sort((a, b) => a - b);
  const bounds = [0, ...splits, n];
  return splits.map((at, i) => {
    const mean = (a: number, b: number) => (prefix[b]! - prefix[a]!) / (b - a);
    const before = mean(bounds[i]!, at), after = mean(at, bounds[i + 2]!);
    return { index: at, before, after, magnitude: after - before, direction: after >= before ? 'up' : 'down' };
  });
}

/**
 * One-sided CUSUM for an upward mean shift (Page's test): reference level from the first `warmup`
 * days (median), slack k and threshold h in units of the robust σ; the change is placed where the
 * cumulative sum last left zero before crossing h.
 */
export function cusumUp(xs: readonly number[], opts: { warmup?: number; k?: number; h?: number } = {}): number[] {
  const warmup = opts.warmup ?? 28, k = opts.k ?? 1, h = opts.h ?? 10;
  if (xs.length <= warmup) return [];
  const base = xs.slice(0, warmup);
  const mu = median(base);
  const sigma = Math.max(medianAbsoluteDeviation(base) * 1.4826, 0.1 * Math.abs(mu), 0.1);
  const out: number[] = [];
  let s = 0, start = warmup;
  for (let i = warmup; i < xs.length; i++) {
    const next = Math.max(0, s + (xs[i]! - mu) / sigma - k);
    if (s === 0 && next > 0) start = i;
    s = next;
    if (s > h) {
      out.push(start);
      break; // the first upward shift is what a step detector reports
    }
  }
  return out;
}
