/**
 * Scoring detections against labels (meter_id, kind, onset). Pure.
 * A label is found when a case of the matching family on that meter was raised no earlier than
 * a day before the onset; a case is true when it finds some label.
 */
import type { Case, Family } from './types.js';
import { parseLocalMs, HOUR_MS, DAY_MS } from '../time.js';

export interface Label {
  meter_id: string;
  kind: 'restored' | 'workshop';
  onset_ms: number;
  /** A street office's verdict: confirmed (a true event, the default) or dismissed (nothing there: a known negative). */
  verdict?: 'confirmed' | 'dismissed';
}

const positive = (l: Label) => l.verdict !== 'dismissed';

export const KIND_FAMILY: Record<Label['kind'], Family> = { restored: 'site', workshop: 'workshop' };

export interface FamilyScore {
  labels: number;
  found: number;
  cases: number;
  true_cases: number;
  precision: number;
  recall: number;
  f1: number;
  median_delay_h: number | null;
  worst_delay_h: number | null;
  /** Onset → first detected_at of every found label, hours. */
  delays_h: number[];
  /** Every found label with the case that found it first: which ones are slow, for tuning. */
  found_labels: FoundLabel[];
  false_cases: Case[];
  /** Labels no case found. */
  missed: Label[];
  /** Cases that match a dismissed verdict (known false) and cases matching no label at all (unverified). */
  dismissed_cases: number;
  unverified_cases: number;
  /** true ÷ (true + dismissed): precision over the cases a street office verified, when verdicts are given. */
  verified_precision: number | null;
  /** Precision per score band, highest band first: a good score ranks, so precision rises with it. */
  calibration: ScoreBand[];
}

export interface FoundLabel extends Label {
  /** The first matching case (earliest detected_at), and the detector that raised it first (a case is named by another when several agree). */
  case_id: string;
  detector: string;
  detected_at_ms: number;
  delay_h: number;
}

export interface ScoreBand {
  from: number;
  to: number;
  cases: number;
  true_cases: number;
  precision: number | null;
}

export const SCORE_BANDS: readonly [number, number][] = [[0.9, 1.0001], [0.8, 0.9], [0.7, 0.8], [0.6, 0.7], [0, 0.6]];

export function calibrate(cases: readonly Case[], isTrue: (c: Case) => boolean): ScoreBand[] {
  return SCORE_BANDS.map(([from, to]) => {
    const inBand = cases.filter((c) => c.score >= from && c.score < to);
    const t = inBand.filter(isTrue).length;
    return { from, to: Math.min(to, 1), cases: inBand.length, true_cases: t, precision: inBand.length ? t / inBand.length : null };
  });
}

/** Hours to one decimal, as every delay is reported. */
const tenth = (x: number) => Math.round(x * 10) / 10;

const median = (xs: number[]) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The detector that raised a case first: a case several detectors agree on keeps each one's detected_at in its evidence. */
function firstDetector(c: Case): string {
  let best = c.detector, bestAt = Infinity;
  for (const [name, ev] of Object.entries(c.evidence)) {
    const at = parseLocalMs(ev.detected_at);
    if (at !== undefined && at < bestAt) [best, bestAt] = [name, at];
  }
  return best;
}

export function matches(c: Case, l: Label): boolean {
  return c.meter_id === l.meter_id && c.family === KIND_FAMILY[l.kind] && parseLocalMs(c.detected_at)! >= l.onset_ms - DAY_MS;
}

export function scoreFamily(cases: readonly Case[], allLabels: readonly Label[], family: Family): FamilyScore {
  const fl = allLabels.filter((l) => KIND_FAMILY[l.kind] === family && positive(l));
  const negatives = allLabels.filter((l) => KIND_FAMILY[l.kind] === family && !positive(l));
  const fc = cases.filter((c) => c.family === family);
  const delays: number[] = [];
  const missed: Label[] = [];
  const foundLabels: FoundLabel[] = [];
  for (const l of fl) {
    const first = fc.filter((c) => matches(c, l)).map((c) => ({ c, at: parseLocalMs(c.detected_at)! }))
      .reduce<{ c: Case; at: number } | undefined>((a, b) => (!a || b.at < a.at ? b : a), undefined);
    if (first) {
      const delay = (first.at - l.onset_ms) / HOUR_MS;
      delays.push(delay);
      foundLabels.push({ ...l, case_id: first.c.case_id, detector: firstDetector(first.c), detected_at_ms: first.at, delay_h: tenth(delay) });
    } else missed.push(l);
  }
  const found = foundLabels.length;
  const isTrue = (c: Case) => fl.some((l) => matches(c, l));
  const falseCases = fc.filter((c) => !isTrue(c));
  // a dismissed verdict names its case's episode: the case raised on that meter for that episode
  const dismissed = falseCases.filter((c) => negatives.some((l) => l.meter_id === c.meter_id && Math.abs(parseLocalMs(c.episode_start)! - l.onset_ms) < DAY_MS));
  const trueCases = fc.length - falseCases.length;
  const precision = fc.length ? trueCases / fc.length : 1;
  const recall = fl.length ? found / fl.length : 1;
  const round = (x: number | null) => (x === null ? null : tenth(x));
  return {
    labels: fl.length, found, cases: fc.length, true_cases: trueCases,
    precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
    median_delay_h: round(median(delays)), worst_delay_h: round(delays.length ? Math.max(...delays) : null),
    delays_h: delays.map(tenth),
    found_labels: foundLabels,
    false_cases: falseCases,
    missed,
    dismissed_cases: dismissed.length,
    unverified_cases: negatives.length ? falseCases.length - dismissed.length : 0,
    verified_precision: negatives.length ? trueCases / Math.max(trueCases + dismissed.length, 1) : null,
    calibration: calibrate(fc, isTrue),
  };
}

export function parseLabels(rows: readonly Record<string, unknown>[], origin: string): Label[] {
  return rows.map((r, i) => {
    const kind = String(r.kind ?? '').trim();
    if (kind !== 'restored' && kind !== 'workshop') throw new Error(`${origin}: row ${i + 2}: kind: expected restored or workshop, got ${JSON.stringify(kind)}`);
    const onset = parseLocalMs(String(r.onset ?? '').length === 10 ? `${r.onset}T00:00:00` : String(r.onset ?? ''));
    if (onset === undefined) throw new Error(`${origin}: row ${i + 2}: onset: not an ISO-8601 date/time`);
    const verdict = String(r.verdict ?? '').trim() || 'confirmed';
    if (verdict !== 'confirmed' && verdict !== 'dismissed') throw new Error(`${origin}: row ${i + 2}: verdict: expected confirmed or dismissed, got ${JSON.stringify(verdict)}`);
    return { meter_id: String(r.meter_id ?? '').trim(), kind, onset_ms: onset, verdict };
  });
}

export interface DailyRanking {
  k: number;
  days: number;
  /** Mean over days with cases of (true cases among the day's top k) ÷ (cases shown, at most k). */
  precision_at_k: number;
  /** Mean over days with cases of the average precision of the day's top-k list. */
  map_at_k: number;
}

/** How good the daily list is for inspectors who can visit k sites a day: cases ranked by score per day of detection. */
export function rankDaily(cases: readonly Case[], labels: readonly Label[], k: number): DailyRanking {
  const byDay = new Map<string, Case[]>();
  for (const c of cases) {
    const d = c.detected_at.slice(0, 10);
    (byDay.get(d) ?? byDay.set(d, []).get(d)!).push(c);
  }
  let pSum = 0, apSum = 0;
  for (const list of byDay.values()) {
    const top = [...list].sort((a, b) => b.score - a.score || a.case_id.localeCompare(b.case_id)).slice(0, k);
    let hits = 0, ap = 0;
    top.forEach((c, i) => {
      if (labels.some((l) => positive(l) && matches(c, l))) {
        hits++;
        ap += hits / (i + 1);
      }
    });
    pSum += hits / top.length;
    apSum += hits ? ap / hits : 0;
  }
  const days = byDay.size;
  return { k, days, precision_at_k: days ? pSum / days : 1, map_at_k: days ? apSum / days : 1 };
}

export interface Evaluation {
  site: FamilyScore;
  workshop: FamilyScore;
  overall: Omit<FamilyScore, 'calibration'> & { calibration: ScoreBand[] };
  daily: DailyRanking;
}

export function evaluate(cases: readonly Case[], labels: readonly Label[], k = 20): Evaluation {
  const site = scoreFamily(cases, labels, 'site');
  const workshop = scoreFamily(cases, labels, 'workshop');
  const found = site.found + workshop.found, nLabels = site.labels + workshop.labels;
  const nCases = site.cases + workshop.cases, trueCases = site.true_cases + workshop.true_cases;
  const precision = nCases ? trueCases / nCases : 1, recall = nLabels ? found / nLabels : 1;
  const delays = [...site.delays_h, ...workshop.delays_h];
  return {
    site, workshop, daily: rankDaily(cases, labels, k),
    overall: {
      labels: nLabels, found, cases: nCases, true_cases: trueCases, precision, recall,
      f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
      median_delay_h: median(delays), worst_delay_h: delays.length ? Math.max(...delays) : null, delays_h: delays,
      found_labels: [...site.found_labels, ...workshop.found_labels],
      false_cases: [...site.false_cases, ...workshop.false_cases],
      missed: [...site.missed, ...workshop.missed],
      dismissed_cases: site.dismissed_cases + workshop.dismissed_cases,
      unverified_cases: site.unverified_cases + workshop.unverified_cases,
      verified_precision: site.verified_precision === null && workshop.verified_precision === null ? null
        : trueCases / Math.max(trueCases + site.dismissed_cases + workshop.dismissed_cases, 1),
      calibration: calibrate(cases, (c) => labels.some((l) => positive(l) && matches(c, l))),
    },
  };
}
