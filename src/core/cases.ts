/**
 * Leads → cases. One case per meter, family and episode: a lead that overlaps an open case of
 * its family on the same meter (within merge_gap_days) updates it; otherwise it opens a new case
 * whose id is derived from meter, family and episode start, so re-running the same data, or the
 * same data in two halves, yields the same ids. Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import type { Case, DetectorEvidence, Lead, MeterInfo, SiteInfo, Detector } from './types.js';
import { DAY_MS, formatLocal, parseLocalMs } from '../time.js';

export interface CaseOptions {
  min_score: number;
  merge_gap_days: number;
  cooldown_days?: number;
  escalation_ratio?: number;
}

/** The highest daily level a case's evidence shows (what a dismissal was about). */
function caseLevel(c: Case): number {
  return Math.max(0, ...Object.values(c.evidence).map((e) => e.level_kwh_day ?? 0));
}

export function caseId(meterId: string, family: string, episodeStartMs: number): string {
  const key = `${meterId}|${family}|${formatLocal(episodeStartMs)}`;
  const day = formatLocal(episodeStartMs).slice(0, 10).replace(/-/g, '');
  return `PS-${day}-${createHash('sha1').update(key).digest('hex').slice(0, 10)}`;
}

/** Detector scores combine as independent evidence (noisy-or). */
export function combineScores(scores: number[]): number {
  const p = 1 - scores.reduce((acc, s) => acc * (1 - Math.min(Math.max(s, 0), 1)), 1);
  return Math.round(p * 1e4) / 1e4;
}

/** SQL sums in parallel, so the last bits of a float vary run to run; round once, here. */
function roundEvidence(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? v : Math.round(v * 1000) / 1000;
  if (Array.isArray(v)) return v.map(roundEvidence);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, roundEvidence(x)]));
  return v;
}

function evidenceOf(lead: Lead): DetectorEvidence {
  const r = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);
  return {
    ...(roundEvidence(lead.evidence) as Record<string, unknown>),
    score: Math.round(lead.score * 1e4) / 1e4,
    detected_at: formatLocal(lead.detected_at_ms),
    episode_start: formatLocal(lead.episode_start_ms),
    window_end: formatLocal(lead.window_end_ms),
    baseline_kwh_day: r(lead.baseline_kwh_day),
    level_kwh_day: r(lead.level_kwh_day),
    reference_kwh_day: r(lead.reference_kwh_day),
  };
}

const ms = (iso: string) => parseLocalMs(iso)!;

/** Order leads as a live worker would have met them. */
export function leadOrder(a: Lead, b: Lead): number {
  return a.detected_at_ms - b.detected_at_ms || (a.detector < b.detector ? -1 : a.detector > b.detector ? 1 : 0) || (a.meter_id < b.meter_id ? -1 : a.meter_id > b.meter_id ? 1 : 0) || a.episode_start_ms - b.episode_start_ms;
}

export interface CaseBuildResult {
  /** Every case after the merge, by id. */
  cases: Map<string, Case>;
  /** Ids of cases that are new or changed by these leads. */
  changed: Set<string>;
}

export function buildCases(
  existing: readonly Case[],
  leads: readonly Lead[],
  meters: ReadonlyMap<string, MeterInfo>,
  sites: ReadonlyMap<string, SiteInfo>,
  opts: CaseOptions,
): CaseBuildResult {
  const cases = new Map(existing.map((c) => [c.case_id, structuredClone(c)]));
  const byMeterFamily = new Map<string, Case[]>();
  for (const c of cases.values()) {
    const k = `${c.meter_id}|${c.family}`;
    (byMeterFamily.get(k) ?? byMeterFamily.set(k, []).get(k)!).push(c);
  }
  const before = new Map([...cases].map(([id, c]) => [id, JSON.stringify(c)]));
  const created = new Set<string>();
  const gap = opts.merge_gap_days * DAY_MS;

  for (const lead of [...leads].sort(leadOrder)) {
    if (!(lead.score >= opts.min_score)) continue;
    const family = lead.family;
    const key = `${lead.meter_id}|${family}`;
    const open = byMeterFamily.get(key) ?? [];
    const overlaps = (c: Case, g: number) =>
      (family !== 'site' || c.site_case_no === lead.site_case_no) &&
      lead.episode_start_ms <= ms(c.window_end) + g &&
      lead.window_end_ms >= ms(c.window_start) - g;
    const match = open.find((c) => c.status !== 'dismissed' && overlaps(c, gap));
    if (match) {
      mergeLead(match, lead, meters, sites);
      continue;
    }
    // A dismissed case keeps its episode (and a cool-down after it) quiet unless the evidence escalates.
    const dismissed = open.find((c) => c.status === 'dismissed' && overlaps(c, Math.max(gap, (opts.cooldown_days ?? 0) * DAY_MS)));
    let escalates: string | undefined;
    if (dismissed) {
      if (!((lead.level_kwh_day ?? 0) >= (opts.escalation_ratio ?? 1.5) * caseLevel(dismissed) && caseLevel(dismissed) > 0)) continue;
      escalates = dismissed.case_id;
    }
    const c = newCase(lead, meters, sites, escalates);
    if (cases.has(c.case_id)) continue; // same episode already known (e.g. closed): never a second case
    cases.set(c.case_id, c);
    open.push(c);
    byMeterFamily.set(key, open);
    created.add(c.case_id);
  }
  // A case changed when its final state differs materially from before this run: several leads
  // may pass through one case in a run, and only the end state is published (once, one revision
  // up). Parallel float sums in SQL differ in the last bits run to run, which can flip a rounded
  // figure by one unit; that is no change, and the stored case is kept as it was.
  const changed = new Set(created);
  for (const [id, old] of before) {
    const prev = JSON.parse(old) as Case;
    if (materiallyEqual(prev, cases.get(id)!)) cases.set(id, prev);
    else {
      cases.get(id)!.revision += 1;
      changed.add(id);
    }
  }
  return { cases, changed };
}

/** Deep equality where numbers may differ by rounding noise; the summary follows its numbers. */
export function materiallyEqual(a: unknown, b: unknown, key = ''): boolean {
  if (key === 'summary_zh') return true;
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= 0.011 + 1e-6 * Math.max(Math.abs(a), Math.abs(b));
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object), kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => k in (b as object) && materiallyEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], k));
}

function identity(lead: Lead, meters: ReadonlyMap<string, MeterInfo>, sites: ReadonlyMap<string, SiteInfo>) {
  const m = meters.get(lead.meter_id);
  const s = lead.site_case_no ? sites.get(lead.site_case_no) : undefined;
  return {
    account_name: s?.site_name || m?.account_name || '',
    address: s?.address || m?.address || '',
    street: s?.street || m?.street || '',
  };
}

function newCase(lead: Lead, meters: ReadonlyMap<string, MeterInfo>, sites: ReadonlyMap<string, SiteInfo>, escalates?: string): Case {
  const family = lead.family;
  return {
    // an escalation of a dismissed case is a case of its own, stable like any other
    case_id: caseId(lead.meter_id, escalates ? `${family}#escalation-of-${escalates}` : family, lead.episode_start_ms),
    clue_source: '电力数据筛查',
    detector: lead.detector,
    family,
    problem_type: lead.problem_type,
    meter_id: lead.meter_id,
    site_case_no: lead.site_case_no,
    ...identity(lead, meters, sites),
    score: combineScores([lead.score]),
    episode_start: formatLocal(lead.episode_start_ms),
    window_start: formatLocal(lead.window_start_ms),
    window_end: formatLocal(lead.window_end_ms),
    detected_at: formatLocal(lead.detected_at_ms),
    evidence: { [lead.detector]: escalates ? { ...evidenceOf(lead), escalates_dismissed_case: escalates } : evidenceOf(lead) },
    summary_zh: lead.summary_zh + (escalates ? `（已核查排除的案件 ${escalates} 用电再次升高）` : ''),
    status: 'open',
    revision: 1,
  };
}

function mergeLead(c: Case, lead: Lead, meters: ReadonlyMap<string, MeterInfo>, sites: ReadonlyMap<string, SiteInfo>): void {
  const escalates = Object.values(c.evidence).map((e) => e.escalates_dismissed_case).find(Boolean) as string | undefined;
  c.evidence[lead.detector] = escalates ? { ...evidenceOf(lead), escalates_dismissed_case: escalates } : evidenceOf(lead);
  c.window_start = formatLocal(Math.min(ms(c.window_start), lead.window_start_ms));
  c.window_end = formatLocal(Math.max(ms(c.window_end), lead.window_end_ms));
  c.score = combineScores(Object.values(c.evidence).map((e) => e.score));
  // The strongest detector names the case and writes its sentence.
  const top = (Object.entries(c.evidence) as [Detector, DetectorEvidence][]).sort((a, b) => b[1].score - a[1].score || (a[0] < b[0] ? -1 : 1))[0]!;
  if (top[0] === lead.detector) {
    c.detector = lead.detector;
    c.problem_type = lead.problem_type;
    c.summary_zh = lead.summary_zh + (escalates ? `（已核查排除的案件 ${escalates} 用电再次升高）` : '');
  }
  Object.assign(c, identity(lead, meters, sites));
}
