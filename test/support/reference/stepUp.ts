/**
 * Reference for step_up (see sql/detectors/step_up.sql). Input: complete days of every meter of one
 * street and category, as daily values: the rule that leaves a step drawing only in a household's
 * peaks needs hours, which daily values do not have (given/expect case step_up_new_occupants_by_their_hours).
 */
import { DAY, islands, median, quantileCont, type RefEpisode } from './common.js';

export interface StepUpParams {
  baseline_days: number; confirm_days: number; history_days: number; history_quantile: number; min_baseline_days: number;
  ratio: number; min_delta_kwh: number; min_ref_kwh: number; min_peer_ratio: number; min_high_days: number; episode_gap_days: number;
  jump_ratio: number; jump_min_delta_kwh: number; jump_window_days: number; jump_min_days: number;
  jump_one_day_ratio: number; jump_one_day_min_delta_kwh: number; jump_min_baseline_days: number; jump_peer_ratio: number;
}

/** days: meter → (local day ms → kWh of that complete day). */
export function stepUpReference(days: ReadonlyMap<string, ReadonlyMap<number, number>>, lastCompleteDayMs: number, p: StepUpParams): RefEpisode[] {
  const peer = new Map<number, number[]>();
  for (const m of days.values()) for (const [d, v] of m) (peer.get(d) ?? peer.set(d, []).get(d)!).push(v);
  const out: RefEpisode[] = [];
  for (const [meter, series] of [...days].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const ds = [...series.keys()].filter((d) => d <= lastCompleteDayMs).sort((a, b) => a - b);
    const between = (from: number, to: number) => ds.filter((x) => x >= from && x <= to).map((x) => series.get(x)!);
    const flagged: { day: number; change: number }[] = [];
    // each day's confirm-week median, where the week is seen well enough
    const weekMedian = new Map<number, number>();
    for (const d of ds) {
      const w = between(d - (p.confirm_days - 1) * DAY, d);
      if (w.length >= p.confirm_days - 1) weekMedian.set(d, median(w));
    }
    for (const d of ds) {
      const base = between(d - (p.baseline_days + p.confirm_days - 1) * DAY, d - p.confirm_days * DAY);
      if (base.length < Math.min(p.min_baseline_days, p.jump_min_baseline_days)) continue;
      const hist = between(d - (p.history_days + p.confirm_days - 1) * DAY, d - p.confirm_days * DAY);
      const confirmDays = ds.filter((x) => x >= d - (p.confirm_days - 1) * DAY && x <= d);
      const confirm = confirmDays.map((x) => series.get(x)!);
      // the highest full confirm week before the baseline window
      const earlierWeeks = ds.filter((x) => x >= d - (p.history_days + p.confirm_days - 1) * DAY && x <= d - (p.baseline_days + p.confirm_days) * DAY)
        .flatMap((x) => (weekMedian.has(x) ? [weekMedian.get(x)!] : []));
      const ref = Math.max(median(base), quantileCont(hist, p.history_quantile), ...earlierWeeks, p.min_ref_kwh);
      const thr = p.ratio * ref;
      const cm = median(confirm);
      const high = confirmDays.filter((x) => series.get(x)! >= thr);
      const peerKwh = median(peer.get(d)!);
      // the step: the confirm week's median stays up
      const confirmed = base.length >= p.min_baseline_days && confirm.length >= p.confirm_days - 1 && cm >= thr && cm - ref >= p.min_delta_kwh
        && high.length >= p.min_high_days && cm >= p.min_peer_ratio * peerKwh;
      // the fast path: today a jump day, and enough of them (or today far enough) in the last few days
      const jumps = confirmDays.filter((x) => x > d - p.jump_window_days * DAY && series.get(x)! >= p.jump_ratio * ref && series.get(x)! - ref >= p.jump_min_delta_kwh);
      const today = series.get(d)!;
      const jumped = base.length >= p.jump_min_baseline_days && jumps[jumps.length - 1] === d
        && (jumps.length >= p.jump_min_days || (today >= p.jump_one_day_ratio * ref && today - ref >= p.jump_one_day_min_delta_kwh))
        && median(jumps.map((x) => series.get(x)!)) >= p.jump_peer_ratio * peerKwh;
      if (!confirmed && !jumped) continue;
      flagged.push({ day: d, change: confirmed ? high[0]! : jumps[0]! });
    }
    for (const ep of islands(flagged, (f) => f.day, p.episode_gap_days * DAY)) {
      out.push({ meter_id: meter, episode_start_ms: ep[0]!.change, detected_at_ms: ep[0]!.day + DAY, window_end_ms: ep[ep.length - 1]!.day + DAY });
    }
  }
  return out;
}
