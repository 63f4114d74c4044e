/** Scoring against labels: missed labels, dismissed verdicts as known negatives, precision by score band. */
import { describe, it, expect } from 'vitest';
import { evaluate, scoreFamily, type Label } from '../../src/core/eval.js';
import type { Case } from '../../src/core/types.js';
import { parseLocalMs } from '../../src/time.js';

const at = (s: string) => parseLocalMs(s)!;
const aCase = (meter: string, start: string, score: number): Case => ({
  case_id: `PS-${meter}`, clue_source: '电力数据筛查', detector: 'step_up', family: 'workshop', problem_type: '', meter_id: meter, site_case_no: null,
  account_name: '', address: '', street: '', score, episode_start: start, window_start: start, window_end: start, detected_at: start,
  evidence: {}, summary_zh: '', status: 'open', revision: 1,
});
const cases = [aCase('a', '2026-10-10T00:00:00+08:00', 0.95), aCase('b', '2026-10-10T00:00:00+08:00', 0.85), aCase('c', '2026-10-12T00:00:00+08:00', 0.55), aCase('d', '2026-10-12T00:00:00+08:00', 0.52)];
const labels: Label[] = [
  { meter_id: 'a', kind: 'workshop', onset_ms: at('2026-10-09T08:00:00') },
  { meter_id: 'b', kind: 'workshop', onset_ms: at('2026-10-09T08:00:00') },
  { meter_id: 'e', kind: 'workshop', onset_ms: at('2026-10-01T08:00:00') },
  // the street office went to d and found nothing
  { meter_id: 'd', kind: 'workshop', onset_ms: at('2026-10-12T00:00:00'), verdict: 'dismissed' },
];

describe('eval', () => {
  it('names missed labels, and counts precision over verified cases apart from unvisited ones', () => {
    const s = scoreFamily(cases, labels, 'workshop');
    expect(s).toMatchObject({ labels: 3, found: 2, cases: 4, true_cases: 2, dismissed_cases: 1, unverified_cases: 1 });
    expect(s.missed.map((l) => l.meter_id)).toEqual(['e']);
    expect(s.precision).toBe(0.5); // every case not matching an event counts against it
    expect(s.verified_precision).toBeCloseTo(2 / 3); // c was never visited: left out
  });

  it('shows precision per score band, so a score that ranks is visible', () => {
    const e = evaluate(cases, labels);
    const bands = e.workshop.calibration.filter((b) => b.cases);
    expect(bands.map((b) => [b.from, b.precision])).toEqual([[0.9, 1], [0.8, 1], [0, 0]]);
    expect(e.overall.missed).toHaveLength(1);
    expect(e.overall.verified_precision).toBeCloseTo(2 / 3);
  });

  it('names every found label with its first case, the detector that raised that case first and the delay', () => {
    // b's second case came later; a's case is named by sustained_draw, which agreed a day after step_up raised it
    const ev = (detected_at: string) => ({ score: 0.9, detected_at, episode_start: detected_at, window_end: detected_at, baseline_kwh_day: null, level_kwh_day: null, reference_kwh_day: null });
    const agreed: Case = { ...cases[0]!, detector: 'sustained_draw', evidence: { sustained_draw: ev('2026-10-11T00:00:00+08:00'), step_up: ev('2026-10-10T00:00:00+08:00') } };
    const later = { ...aCase('b', '2026-10-15T00:00:00+08:00', 0.9), case_id: 'PS-b-2' };
    const s = scoreFamily([agreed, later, ...cases.slice(1)], labels, 'workshop');
    expect(s.found_labels.map((l) => [l.meter_id, l.case_id, l.detector, l.delay_h])).toEqual([['a', 'PS-a', 'step_up', 16], ['b', 'PS-b', 'step_up', 16]]);
    expect(s.delays_h).toEqual([16, 16]);
    expect(evaluate(cases, labels).overall.found_labels).toHaveLength(2);
  });

  it('without any verdict, verified precision is not claimed', () => {
    expect(scoreFamily(cases, labels.filter((l) => !l.verdict), 'workshop').verified_precision).toBeNull();
  });
});
