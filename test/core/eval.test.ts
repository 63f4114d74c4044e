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

  it('without any verdict, verified precision is not claimed', () => {
    expect(scoreFamily(cases, labels.filter((l) => !l.verdict), 'workshop').verified_precision).toBeNull();
  });
});
