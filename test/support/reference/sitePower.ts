/** Reference for restored_power and resumed_production (see their SQL headers). */
import { DAY, dayOf, islands, median, quantileCont, type RefEpisode, type RefReading } from './common.js';

interface Window { ts: number; avgKw: number; covered: boolean; n: number; active: number }

function trailingWindows(readings: readonly RefReading[], windowHours: number, activeKw: number): Window[] {
  const span = windowHours * 3600_000 - 1000; // SQL: range (W·3600 − 1) s preceding
  return readings.map((r, i) => {
    let kwh = 0, min = 0, n = 0, active = 0;
    for (let j = i; j >= 0 && readings[j]!.ts_ms >= r.ts_ms - span; j--) {
      const x = readings[j]!;
      kwh += x.kwh; min += x.interval_min; n++;
      if ((x.kwh * 60) / x.interval_min >= activeKw) active++;
    }
    return { ts: r.ts_ms, avgKw: (kwh * 60) / min, covered: min >= 0.75 * windowHours * 60 || r.interval_min >= windowHours * 60, n, active };
  });
}

/** Daily energy per local day from readings (what meter_daily holds). */
function dailyTotals(readings: readonly RefReading[]): Map<number, { kwh: number; min: number }> {
  const m = new Map<number, { kwh: number; min: number }>();
  for (const r of readings) {
    const d = dayOf(r.ts_ms);
    const v = m.get(d) ?? { kwh: 0, min: 0 };
    v.kwh += r.kwh; v.min += r.interval_min;
    m.set(d, v);
  }
  return m;
}

export interface RestoredParams { window_hours: number; floor_kw: number; pre_cut_frac: number; pre_days: number; active_frac: number; episode_gap_hours: number }

export function restoredPowerReference(meterId: string, readings: readonly RefReading[], powerCutMs: number, p: RestoredParams): RefEpisode[] {
  const sorted = [...readings].sort((a, b) => a.ts_ms - b.ts_ms);
  const cutDay = Math.floor(powerCutMs / DAY) * DAY;
  const pre = [...dailyTotals(sorted)].filter(([d, v]) => d >= cutDay - p.pre_days * DAY && d < cutDay && v.min >= 720).map(([, v]) => (v.kwh * 1440) / v.min);
  const preKwhDay = pre.length ? median(pre) : 0;
  const post = sorted.filter((r) => r.ts_ms - r.interval_min * 60_000 >= powerCutMs);
  const threshold = Math.max(p.floor_kw, (p.pre_cut_frac * preKwhDay) / 24);
  const flagged = trailingWindows(post, p.window_hours, p.floor_kw * 0.5)
    .filter((w) => w.covered && w.avgKw >= threshold && w.active >= p.active_frac * w.n);
  return islands(flagged, (w) => w.ts, p.episode_gap_hours * 3600_000).map((ep) => ({
    meter_id: meterId, episode_start_ms: ep[0]!.ts, detected_at_ms: ep[0]!.ts, window_end_ms: ep[ep.length - 1]!.ts,
  }));
}

export interface ResumedParams { window_hours: number; floor_kw: number; resume_frac: number; pre_days: number; episode_gap_hours: number }

export function resumedProductionReference(meterId: string, readings: readonly RefReading[], haltMs: number, p: ResumedParams): RefEpisode[] {
  const sorted = [...readings].sort((a, b) => a.ts_ms - b.ts_ms);
  const pre = sorted.filter((r) => r.ts_ms > haltMs - p.pre_days * DAY && r.ts_ms <= haltMs).map((r) => (r.kwh * 60) / r.interval_min);
  if (!pre.length) return []; // no production level known: not judged
  const productionKw = quantileCont(pre, 0.9);
  const post = sorted.filter((r) => r.ts_ms - r.interval_min * 60_000 >= haltMs);
  const threshold = Math.max(p.floor_kw, p.resume_frac * productionKw);
  const flagged = trailingWindows(post, p.window_hours, 0).filter((w) => w.covered && w.avgKw >= threshold);
  return islands(flagged, (w) => w.ts, p.episode_gap_hours * 3600_000).map((ep) => ({
    meter_id: meterId, episode_start_ms: ep[0]!.ts, detected_at_ms: ep[0]!.ts, window_end_ms: ep[ep.length - 1]!.ts,
  }));
}
