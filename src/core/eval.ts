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
}

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
  false_cases: Case[];
}

const median = (xs: number[]) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export function matches(c: Case, l: Label): boolean {
  return c.meter_id === l.meter_id && c.family === KIND_FAMILY[l.kind] && parseLocalMs(c.detected_at)! >= l.onset_ms - DAY_MS;
}

export function scoreFamily(cases: readonly Case[], labels: readonly Label[], family: Family): FamilyScore {
  const fl = labels.filter((l) => KIND_FAMILY[l.kind] === family);
  const fc = cases.filter((c) => c.family === family);
  const delays: number[] = [];
  let found = 0;
  for (const l of fl) {
    const hits = fc.filter((c) => matches(c, l)).map((c) => parseLocalMs(c.detected_at)!);
    if (hits.length) {
      found++;
      delays.push((Math.min(...hits) - l.onset_ms) / HOUR_MS);
    }
  }
  const falseCases = fc.filter((c) => !fl.some((l) => matches(c, l)));
  const trueCases = fc.length - falseCases.length;
  const precision = fc.length ? trueCases / fc.length : 1;
  const recall = fl.length ? found / fl.length : 1;
  const round = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);
  return {
    labels: fl.length, found, cases: fc.length, true_cases: trueCases,
    precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
    median_delay_h: round(median(delays)), worst_delay_h: round(delays.length ? Math.max(...delays) : null),
    false_cases: falseCases,
  };
}

export function parseLabels(rows: readonly Record<string, unknown>[], origin: string): Label[] {
  return rows.map((r, i) => {
    const kind = String(r.kind ?? '').trim();
    if (kind !== 'restored' && kind !== 'workshop') throw new Error(`${origin}: row ${i + 2}: kind: expected restored or workshop, got ${JSON.stringify(kind)}`);
    const onset = parseLocalMs(String(r.onset ?? '').length === 10 ? `${r.onset}T00:00:00` : String(r.onset ?? ''));
    if (onset === undefined) throw new Error(`${origin}: row ${i + 2}: onset: not an ISO-8601 date/time`);
    return { meter_id: String(r.meter_id ?? '').trim(), kind, onset_ms: onset };
  });
}
