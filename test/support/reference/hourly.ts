/** References for the hourly detectors: baseline_anomaly and industrial_profile (see their SQL headers). */
import { medianAbsoluteDeviation } from 'simple-statistics';
import { DAY, islands, median, peerLevels, quantileCont, type RefEpisode } from './common.js';

export interface RefHour {
  meter_id: string;
  hour_ms: number; // hour START, local
  kw: number;
}

const isodow = (ms: number) => ((new Date(ms).getUTCDay() + 6) % 7) + 1;
const hod = (ms: number) => new Date(ms).getUTCHours();
const dayStart = (ms: number) => Math.floor(ms / DAY) * DAY;

function byMeter(hours: readonly RefHour[]): Map<string, RefHour[]> {
  const m = new Map<string, RefHour[]>();
  for (const h of hours) (m.get(h.meter_id) ?? m.set(h.meter_id, []).get(h.meter_id)!).push(h);
  for (const v of m.values()) v.sort((a, b) => a.hour_ms - b.hour_ms);
  return m;
}

export interface BaselineAnomalyParams {
  baseline_weeks: number; min_baseline_weeks: number; history_weeks: number; history_quantile: number; min_excess_ratio: number; z_min: number; min_excess_kw: number;
  min_hours: number; confirm_days: number; min_anomalous_days: number; episode_gap_days: number; min_peer_ratio: number;
  household_hours_categories: string[]; household_min_offpeak_hours: number; empty_flat_max_kw: number; occupant_min_evening_hours: number;
  morning_peak_start_hour: number; morning_peak_end_hour: number; evening_peak_start_hour: number; evening_peak_end_hour: number;
}

/**
 * All meters are residents; every hour of a day is present. Each is compared with its street's
 * meters, or the district pool's (peerLevels); without `registered`, all are of one street.
 */
export function baselineAnomalyReference(hours: readonly RefHour[], lastCompleteDayMs: number, p: BaselineAnomalyParams, registered?: ReadonlyMap<string, { street: string; category: string }>): RefEpisode[] {
  const out: RefEpisode[] = [];
  // each meter's day (every hour present)
  const dayKwh = new Map<string, number>();
  const dayKey = (meter: string, day: number) => `${meter}@${day}`;
  for (const h of hours) dayKwh.set(dayKey(h.meter_id, dayStart(h.hour_ms)), (dayKwh.get(dayKey(h.meter_id, dayStart(h.hour_ms))) ?? 0) + h.kw);
  const streets = registered ?? new Map(hours.map((h) => [h.meter_id, { street: 's', category: 'resident' }]));
  const peerOf = peerLevels(streets, [...dayKwh].map(([k, kwh_day]) => ({ meter_id: k.slice(0, k.indexOf('@')), day_ms: Number(k.slice(k.indexOf('@') + 1)), kwh_day })));
  const peerKwh = (meter: string, d: number) => peerOf(streets.get(meter)!.street, 'resident', d)!;
  for (const [meter, hs] of [...byMeter(hours.filter((h) => dayStart(h.hour_ms) <= lastCompleteDayMs))].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const perDay = new Map<number, number>();
    const offpeakPerDay = new Map<number, number>();
    // per day: anomalous hours between the peaks, in the evening peak, and their baseline kWh
    const workdayPerDay = new Map<number, number>(), eveningPerDay = new Map<number, number>(), baseKwhPerDay = new Map<number, number>();
    const inPeaks = (x: number) => (x >= p.morning_peak_start_hour && x < p.morning_peak_end_hour) || (x >= p.evening_peak_start_hour && x < p.evening_peak_end_hour);
    for (const h of hs) {
      const how = isodow(h.hour_ms) * 24 + hod(h.hour_ms);
      const sameHour = (weeks: number) => hs.filter((x) => x.hour_ms >= h.hour_ms - weeks * 7 * DAY && x.hour_ms <= h.hour_ms - 1000 && isodow(x.hour_ms) * 24 + hod(x.hour_ms) === how).map((x) => x.kw);
      const base = sameHour(p.baseline_weeks);
      if (base.length < p.min_baseline_weeks) continue;
      const med = median(base), mad = medianAbsoluteDeviation(base);
      const ref = Math.max(med, quantileCont(sameHour(p.history_weeks), p.history_quantile));
      if (h.kw - med >= p.min_excess_kw && h.kw - ref >= p.min_excess_ratio * ref && (h.kw - med) / (1.4826 * mad + 0.05) >= p.z_min) {
        const d = dayStart(h.hour_ms);
        perDay.set(d, (perDay.get(d) ?? 0) + 1);
        if (!inPeaks(hod(h.hour_ms))) offpeakPerDay.set(d, (offpeakPerDay.get(d) ?? 0) + 1);
        const x = hod(h.hour_ms);
        if (x >= p.morning_peak_end_hour && x < p.evening_peak_start_hour) workdayPerDay.set(d, (workdayPerDay.get(d) ?? 0) + 1);
        if (x >= p.evening_peak_start_hour && x < p.evening_peak_end_hour) eveningPerDay.set(d, (eveningPerDay.get(d) ?? 0) + 1);
        baseKwhPerDay.set(d, (baseKwhPerDay.get(d) ?? 0) + med);
      }
    }
    const anomalous = [...perDay]
      .filter(([d, n]) => n >= p.min_hours && dayKwh.get(dayKey(meter, d))! >= p.min_peer_ratio * peerKwh(meter, d))
      // a resident's anomalous day needs hours outside a household's peaks (new occupants show in them alone)
      .filter(([d]) => !p.household_hours_categories.includes('resident') || (offpeakPerDay.get(d) ?? 0) >= p.household_min_offpeak_hours)
      // …and is not a family moving into an empty flat: the evening at home, nothing between the peaks (in summer it cools at night)
      .filter(([d, n]) => !p.household_hours_categories.includes('resident')
        || !(baseKwhPerDay.get(d)! <= p.empty_flat_max_kw * n && !workdayPerDay.get(d) && (eveningPerDay.get(d) ?? 0) >= p.occupant_min_evening_hours))
      .map(([d]) => d).sort((a, b) => a - b);
    const confirmed = anomalous.flatMap((d) => {
      const inWindow = anomalous.filter((x) => x >= d - (p.confirm_days - 1) * DAY && x <= d);
      return inWindow.length >= p.min_anomalous_days ? [{ day: d, first: inWindow[0]! }] : [];
    });
    for (const ep of islands(confirmed, (c) => c.day, p.episode_gap_days * DAY)) {
      out.push({ meter_id: meter, episode_start_ms: ep[0]!.first, detected_at_ms: ep[0]!.day + DAY, window_end_ms: ep[ep.length - 1]!.day + DAY });
    }
  }
  return out;
}

export interface IndustrialProfileParams {
  window_days: number; work_start_hour: number; work_end_hour: number; min_plateau_kw: number; min_day_night_ratio: number;
  max_day_cv: number; min_workdays: number; min_peer_ratio: number; min_peer_percentile: number; min_score: number; episode_gap_days: number;
}

interface DayProfile { day: number; workday: boolean; workKw: number; workSd: number; nightKw: number; meanKw: number; peakKw: number; plateau: boolean }

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sdPop = (xs: number[]) => { const m = mean(xs); return Math.sqrt(mean(xs.map((x) => (x - m) ** 2))); };
const medianOrNull = (xs: number[]) => (xs.length ? median(xs) : null);

/** All meters are of one street and category (the peer group); contract capacity per meter. */
export function industrialProfileReference(hours: readonly RefHour[], contractKva: ReadonlyMap<string, number | null>, lastCompleteDayMs: number, p: IndustrialProfileParams): RefEpisode[] {
  const profiles = new Map<string, DayProfile[]>();
  for (const [meter, hs] of byMeter(hours.filter((h) => dayStart(h.hour_ms) <= lastCompleteDayMs))) {
    const days = new Map<number, RefHour[]>();
    for (const h of hs) (days.get(dayStart(h.hour_ms)) ?? days.set(dayStart(h.hour_ms), []).get(dayStart(h.hour_ms))!).push(h);
    const list: DayProfile[] = [];
    for (const [day, dh] of [...days].sort(([a], [b]) => a - b)) {
      if (dh.length < 20) continue;
      const work = dh.filter((h) => hod(h.hour_ms) >= p.work_start_hour && hod(h.hour_ms) < p.work_end_hour).map((h) => h.kw);
      const night = dh.filter((h) => hod(h.hour_ms) < 6).map((h) => h.kw);
      const workKw = mean(work), workSd = sdPop(work), nightKw = mean(night);
      list.push({
        day, workday: isodow(day) <= 5, workKw, workSd, nightKw, meanKw: mean(dh.map((h) => h.kw)), peakKw: Math.max(...dh.map((h) => h.kw)),
        plateau: workKw >= p.min_plateau_kw && workKw >= p.min_day_night_ratio * Math.max(nightKw, 0.05) && workSd <= p.max_day_cv * workKw,
      });
    }
    profiles.set(meter, list);
  }
  type Win = { meter: string; day: number; workdays: number; plateauDays: number; workMed: number | null; restMed: number | null; nightMed: number; cvMed: number | null; meanKw: number; peakKw: number; firstPlateau: number | null };
  const windows: Win[] = [];
  for (const [meter, list] of profiles) {
    for (const d of list) {
      const w = list.filter((x) => x.day >= d.day - (p.window_days - 1) * DAY && x.day <= d.day);
      const wd = w.filter((x) => x.workday);
      const plateaus = wd.filter((x) => x.plateau);
      windows.push({
        meter, day: d.day, workdays: wd.length, plateauDays: plateaus.length,
        workMed: medianOrNull(wd.map((x) => x.workKw)), restMed: medianOrNull(w.filter((x) => !x.workday).map((x) => x.workKw)),
        nightMed: median(w.map((x) => x.nightKw)), cvMed: medianOrNull(wd.filter((x) => x.workKw !== 0).map((x) => x.workSd / x.workKw)),
        meanKw: mean(w.map((x) => x.meanKw)), peakKw: quantileCont(w.map((x) => x.peakKw), 0.95),
        firstPlateau: plateaus.length ? plateaus[0]!.day : null,
      });
    }
  }
  const peerByDay = new Map<number, number[]>();
  for (const w of windows) if (w.workMed !== null) (peerByDay.get(w.day) ?? peerByDay.set(w.day, []).get(w.day)!).push(w.workMed);
  const flagged = windows.filter((w) => {
    if (w.workMed === null) return false;
    const peers = peerByDay.get(w.day)!;
    const peer = median(peers);
    const peerRatio = w.workMed / Math.max(peer, 0.1);
    // DuckDB's percent_rank: (peers drawing less) ÷ (peers − 1), 0 for a group of one
    const peerPercentile = peers.length > 1 ? peers.filter((x) => x < w.workMed!).length / (peers.length - 1) : 0;
    const kva = contractKva.get(w.meter) ?? null;
    const score = (w.plateauDays / Math.max(w.workdays, 1)
      + Math.min(1, w.workMed / Math.max(w.nightMed, 0.05) / (2 * p.min_day_night_ratio))
      + Math.max(0, 1 - (w.restMed ?? 0) / w.workMed)
      + Math.max(0, 1 - (w.cvMed ?? 1))
      + (kva ? Math.min(1, w.peakKw / kva) : 0.5)
      + Math.min(1, peerRatio / (2 * p.min_peer_ratio))) / 6;
    return w.plateauDays >= p.min_workdays && w.workMed >= p.min_plateau_kw && peerRatio >= p.min_peer_ratio && peerPercentile >= p.min_peer_percentile && score >= p.min_score;
  });
  const out: RefEpisode[] = [];
  for (const meter of [...new Set(flagged.map((f) => f.meter))].sort()) {
    const fs = flagged.filter((f) => f.meter === meter).sort((a, b) => a.day - b.day);
    for (const ep of islands(fs, (f) => f.day, p.episode_gap_days * DAY)) {
      out.push({ meter_id: meter, episode_start_ms: ep[0]!.firstPlateau!, detected_at_ms: ep[0]!.day + DAY, window_end_ms: ep[ep.length - 1]!.day + DAY });
    }
  }
  return out;
}
