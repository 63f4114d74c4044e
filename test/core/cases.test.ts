import { describe, it, expect } from 'vitest';
import { buildCases, caseId, combineScores, findEscalation, materiallyEqual, type DayLevel } from '../../src/core/cases.js';
import type { Lead, MeterInfo, SiteInfo } from '../../src/core/types.js';
import { parseLocalMs, DAY_MS } from '../../src/time.js';

const at = (s: string) => parseLocalMs(s)!;
const meters = new Map<string, MeterInfo>([['m1', { meter_id: 'm1', account_name: '陈某', address: '某路1号', street: '鼓东街道', community: '', category: 'resident', contract_kva: 8 }]]);
const sites = new Map<string, SiteInfo>();
const opts = { min_score: 0.5, merge_gap_days: 7 };
const lead = (detector: Lead['detector'], start: string, end: string, score = 0.8, evidence: Record<string, unknown> = { ratio: 4 }): Lead => ({
  detector, family: detector === 'restored_power' ? 'site' : 'workshop', problem_type: `${detector} 问题`, summary_zh: `${detector} 摘要`, meter_id: 'm1', site_case_no: null, episode_start_ms: at(start), detected_at_ms: at(start) + 4 * DAY_MS, window_start_ms: at(start), window_end_ms: at(end),
  score, baseline_kwh_day: 8, level_kwh_day: 60, reference_kwh_day: null, evidence,
});

describe('leads → cases', () => {
  it('one case per meter, family and episode; overlapping detectors join it; the id is stable', () => {
    const r = buildCases([], [lead('step_up', '2026-10-12T00:00:00', '2026-10-30T00:00:00', 0.7), lead('baseline_anomaly', '2026-10-13T00:00:00', '2026-10-29T00:00:00', 0.9)], meters, sites, opts);
    expect(r.cases.size).toBe(1);
    const c = [...r.cases.values()][0]!;
    expect(c.case_id).toBe(caseId('m1', 'workshop', at('2026-10-12T00:00:00')));
    expect(c.detector).toBe('baseline_anomaly');
    expect(c.score).toBe(combineScores([0.7, 0.9]));
    expect(Object.keys(c.evidence).sort()).toEqual(['baseline_anomaly', 'step_up']);
    expect(c).toMatchObject({ account_name: '陈某', street: '鼓东街道', clue_source: '电力数据筛查', revision: 1 });
  });

  it('the detector with the lowest sentence rank names the case and writes its sentence, whichever came first or scored higher', () => {
    const rank = { sustained_draw: 1, step_up: 6, baseline_anomaly: 7 } as Record<string, number>;
    const ranked = { ...opts, sentenceRank: (d: string) => rank[d] ?? 100 };
    const base = lead('baseline_anomaly', '2026-10-12T00:00:00', '2026-10-29T00:00:00', 1);
    const draw = { ...lead('sustained_draw', '2026-10-12T00:00:00', '2026-10-29T00:00:00', 0.9), detected_at_ms: base.detected_at_ms + DAY_MS };
    for (const leads of [[base, draw], [draw, base]]) {
      const c = [...buildCases([], leads, meters, sites, ranked).cases.values()][0]!;
      expect(c).toMatchObject({ detector: 'sustained_draw', problem_type: 'sustained_draw 问题', summary_zh: 'sustained_draw 摘要', score: combineScores([1, 0.9]) });
    }
    // across runs: a case the baseline opened is renamed when the better account arrives, and kept after
    const opened = [...buildCases([], [base], meters, sites, ranked).cases.values()];
    expect(opened[0]!.detector).toBe('baseline_anomaly');
    const renamed = [...buildCases(opened, [draw], meters, sites, ranked).cases.values()];
    expect(renamed[0]!.summary_zh).toBe('sustained_draw 摘要');
    const later = buildCases(renamed, [{ ...base, summary_zh: '新的基线摘要', window_end_ms: base.window_end_ms + DAY_MS }], meters, sites, ranked);
    expect([...later.cases.values()][0]!).toMatchObject({ detector: 'sustained_draw', summary_zh: 'sustained_draw 摘要' });
  });

  it('an ongoing episode updates its case (revision + 1); a later episode opens another', () => {
    const first = buildCases([], [lead('step_up', '2026-10-12T00:00:00', '2026-10-20T00:00:00')], meters, sites, opts);
    const c0 = [...first.cases.values()];
    const again = buildCases(c0, [lead('step_up', '2026-10-12T00:00:00', '2026-10-20T00:00:00')], meters, sites, opts);
    expect(again.changed.size).toBe(0);
    const longer = buildCases(c0, [lead('step_up', '2026-10-12T00:00:00', '2026-10-28T00:00:00')], meters, sites, opts);
    expect([...longer.changed]).toEqual([c0[0]!.case_id]);
    expect(longer.cases.get(c0[0]!.case_id)!.revision).toBe(2);
    const later = buildCases(c0, [lead('step_up', '2026-12-20T00:00:00', '2026-12-28T00:00:00')], meters, sites, opts);
    expect(later.cases.size).toBe(2);
  });

  it('rounding noise is not a change; a real change is', () => {
    const c0 = [...buildCases([], [lead('baseline_anomaly', '2026-10-12T00:00:00', '2026-10-20T00:00:00', 0.8, { median_excess_kwh: 60.0525 })], meters, sites, opts).cases.values()];
    expect(buildCases(c0, [lead('baseline_anomaly', '2026-10-12T00:00:00', '2026-10-20T00:00:00', 0.8, { median_excess_kwh: 60.052499999999 })], meters, sites, opts).changed.size).toBe(0);
    expect(buildCases(c0, [lead('baseline_anomaly', '2026-10-12T00:00:00', '2026-10-20T00:00:00', 0.8, { median_excess_kwh: 75 })], meters, sites, opts).changed.size).toBe(1);
    expect(materiallyEqual({ a: 1, b: 'x' }, { a: 1.005, b: 'x' })).toBe(true);
    expect(materiallyEqual({ a: 1, b: 'x' }, { a: 1, b: 'y' })).toBe(false);
  });

  it('leads below min_score do not become cases', () => {
    expect(buildCases([], [lead('step_up', '2026-10-12T00:00:00', '2026-10-20T00:00:00', 0.3)], meters, sites, opts).cases.size).toBe(0);
  });
});

describe('feedback: dismissed cases', () => {
  const dismissedCase = () => {
    const c = [...buildCases([], [lead('step_up', '2026-10-12T00:00:00', '2026-10-20T00:00:00')], meters, sites, opts).cases.values()][0]!;
    return { ...c, status: 'dismissed' as const };
  };
  const withLevel = (l: Lead, level: number) => ({ ...l, level_kwh_day: level });
  const o = { ...opts, cooldown_days: 14, escalation_ratio: 1.5 };

  it('the same episode with the same evidence stays quiet', () => {
    const r = buildCases([dismissedCase()], [lead('step_up', '2026-10-12T00:00:00', '2026-10-26T00:00:00')], meters, sites, o);
    expect(r.changed.size).toBe(0);
    expect(r.cases.size).toBe(1);
  });

  it('a new episode inside the cool-down stays quiet; after it, it is raised', () => {
    expect(buildCases([dismissedCase()], [lead('step_up', '2026-11-01T00:00:00', '2026-11-08T00:00:00')], meters, sites, o).changed.size).toBe(0);
    expect(buildCases([dismissedCase()], [lead('step_up', '2026-11-20T00:00:00', '2026-11-28T00:00:00')], meters, sites, o).changed.size).toBe(1);
  });

  it('an escalation (level ≥ 1.5 × the dismissed one) is raised as a case of its own, and stays stable on re-run', () => {
    const d = dismissedCase();
    const r = buildCases([d], [withLevel(lead('step_up', '2026-10-12T00:00:00', '2026-10-30T00:00:00'), 95)], meters, sites, o);
    expect(r.changed.size).toBe(1);
    const esc = r.cases.get([...r.changed][0]!)!;
    expect(esc.case_id).not.toBe(d.case_id);
    expect(esc.status).toBe('open');
    expect(esc.evidence.step_up!.escalates_dismissed_case).toBe(d.case_id);
    expect(esc.summary_zh).toContain(d.case_id);
    const again = buildCases([...r.cases.values()], [withLevel(lead('step_up', '2026-10-12T00:00:00', '2026-10-30T00:00:00'), 95)], meters, sites, o);
    expect(again.changed.size).toBe(0);
    expect(buildCases([d], [withLevel(lead('step_up', '2026-10-12T00:00:00', '2026-10-30T00:00:00'), 80)], meters, sites, o).changed.size).toBe(0);
  });

  // The dismissed case was at 60 kWh/day (10-12 … 10-20); the meter then doubles from 11-02.
  const days = (from: string, n: number, kwh: (i: number) => number): DayLevel[] => Array.from({ length: n }, (_, i) => ({ day_ms: at(from) + i * DAY_MS, kwh_day: kwh(i) }));
  const history = days('2026-10-12T00:00:00', 35, (i) => (i < 21 ? 60 : 130));
  const levels = new Map([['m1', history]]);

  it('escalation is judged on the recent days: raised the day the trailing median crossed, not at the old episode start', () => {
    const d = dismissedCase();
    // the detector's lead still describes the whole (old) episode with its first-day level
    const r = buildCases([d], [lead('step_up', '2026-10-12T00:00:00', '2026-11-10T00:00:00')], meters, sites, o, levels);
    expect(r.changed.size).toBe(1);
    const esc = r.cases.get([...r.changed][0]!)!;
    // 11-02 and 11-03 at 130: the 3-day median crosses 1.5 × 60 at the end of 11-03
    expect(esc.detected_at).toBe('2026-11-04T00:00:00+08:00');
    expect(esc.episode_start).toBe('2026-11-01T00:00:00+08:00');
    expect(esc.evidence.step_up).toMatchObject({ escalates_dismissed_case: d.case_id, level_kwh_day: 130, dismissed_kwh_day: 60 });
    expect(esc.summary_zh).toContain('近期日均 130 kWh，为排除时 60 kWh 的 2.2 倍');
    // a day-by-day worker finds the same case on the day it crossed, and later leads only extend it
    const early = buildCases([d], [lead('step_up', '2026-10-12T00:00:00', '2026-11-04T00:00:00+08:00')], meters, sites, o, new Map([['m1', history.filter((x) => x.day_ms < at('2026-11-04T00:00:00'))]]));
    const earlyCase = [...early.changed].map((id) => early.cases.get(id)!)[0]!;
    expect(earlyCase.case_id).toBe(esc.case_id);
    const later = buildCases([...early.cases.values()], [lead('step_up', '2026-10-12T00:00:00', '2026-11-10T00:00:00', 0.9)], meters, sites, o, levels);
    expect(later.cases.size).toBe(2);
    const grown = later.cases.get(esc.case_id)!;
    expect(grown).toMatchObject({ detected_at: '2026-11-04T00:00:00+08:00', episode_start: '2026-11-01T00:00:00+08:00', window_start: '2026-11-01T00:00:00+08:00', window_end: '2026-11-10T00:00:00+08:00', revision: 2 });
    expect(grown.summary_zh).toContain('为排除时 60 kWh 的 2.2 倍');
  });

  it('no escalation while the recent level stays under the ratio, or on one heavy day', () => {
    const d = dismissedCase();
    const flat = new Map([['m1', days('2026-10-12T00:00:00', 35, () => 80)]]);
    expect(buildCases([d], [lead('step_up', '2026-10-12T00:00:00', '2026-11-10T00:00:00')], meters, sites, o, flat).changed.size).toBe(0);
    const spike = days('2026-10-12T00:00:00', 35, (i) => (i === 25 ? 500 : 60));
    expect(findEscalation(spike, 60, at('2026-10-12T00:00:00'), at('2026-11-20T00:00:00'), 1.5, 3)).toBeUndefined();
    // a window needs most of its days: a lone reading after a gap does not count
    expect(findEscalation([{ day_ms: at('2026-11-01T00:00:00'), kwh_day: 500 }], 60, 0, at('2026-12-01T00:00:00'), 1.5, 3)).toBeUndefined();
  });
});
