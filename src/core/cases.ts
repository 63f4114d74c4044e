/**
 * Leads → cases. One case per meter, family and episode: a lead that overlaps an open case of
 * its family on the same meter (within merge_gap_days) updates it; otherwise it opens a new case
 * whose id is derived from meter, family and episode start, so re-running the same data, or the
 * same data in two halves, yields the same ids. Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import { median } from 'simple-statistics';
import type { Case, DetectorEvidence, Lead, MeterInfo, SiteInfo, Detector } from './types.js';
import { DAY_MS, formatLocal, parseLocalMs } from '../time.js';

export interface CaseOptions {
  min_score: number;
  merge_gap_days: number;
  cooldown_days?: number;
  escalation_ratio?: number;
  /** Escalation is judged on the median daily level of this many trailing days, not the episode's average. */
  escalation_window_days?: number;
  /**
   * A detector's sentence rank (its header's `sentence_rank`): among the detectors that raised a
   * case, the lowest names it; a higher score breaks ties. Without it the strongest names it.
   */
  sentenceRank?: (detector: Detector) => number;
}

/** A meter's daily energy (kWh/day, from well-covered days), oldest first. */
export interface DayLevel {
  day_ms: number;
  kwh_day: number;
}

/** Where a dismissed case's meter drew past ratio × the dismissed level, judged on recent days. */
export interface Escalation {
  /** The first day of the trailing window that crossed (the escalation's episode start). */
  start_ms: number;
  /** The end of the day that crossed: when a live worker would have seen it. */
  detected_at_ms: number;
  recent_kwh_day: number;
  dismissed_kwh_day: number;
}

/**
 * The first day, within the lead's window, whose trailing window of days has a median level at or
 * above ratio × what was dismissed. Judged from the days themselves, so a worker closing day by day
 * and a backfill of the same data find the same day, and a jump shows in days, not after an
 * episode-long average catches up.
 */
export function findEscalation(levels: readonly DayLevel[], dismissedKwhDay: number, fromMs: number, throughMs: number, ratio: number, windowDays: number): Escalation | undefined {
  if (!(dismissedKwhDay > 0)) return undefined;
  const days = levels.filter((l) => l.day_ms >= fromMs && l.day_ms < throughMs);
  for (let i = 0; i < days.length; i++) {
    const d = days[i]!;
    const window = days.filter((x) => x.day_ms > d.day_ms - windowDays * DAY_MS && x.day_ms <= d.day_ms);
    // a window needs most of its days: one heavy day after a gap is not an escalation
    if (window.length * 2 <= windowDays) continue;
    const recent = median(window.map((x) => x.kwh_day));
    if (recent >= ratio * dismissedKwhDay) {
      return { start_ms: window[0]!.day_ms, detected_at_ms: d.day_ms + DAY_MS, recent_kwh_day: recent, dismissed_kwh_day: dismissedKwhDay };
    }
  }
  return undefined;
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
  /** Daily levels of the meters with dismissed cases; without them escalation compares the lead's own level. */
  levels?: ReadonlyMap<string, readonly DayLevel[]>,
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
      mergeLead(match, lead, meters, sites, opts.sentenceRank ?? (() => 0));
      continue;
    }
    // A dismissed case keeps its episode (and a cool-down after it) quiet unless the evidence escalates.
    const dismissed = open.find((c) => c.status === 'dismissed' && overlaps(c, Math.max(gap, (opts.cooldown_days ?? 0) * DAY_MS)));
    let c: Case;
    if (dismissed) {
      const ratio = opts.escalation_ratio ?? 1.5;
      const meterLevels = levels?.get(lead.meter_id);
      if (meterLevels) {
        const esc = findEscalation(meterLevels, caseLevel(dismissed), ms(dismissed.episode_start), lead.window_end_ms, ratio, opts.escalation_window_days ?? 3);
        if (!esc) continue;
        c = newCase({ ...lead, episode_start_ms: esc.start_ms, window_start_ms: esc.start_ms, detected_at_ms: esc.detected_at_ms, level_kwh_day: esc.recent_kwh_day }, meters, sites, dismissed.case_id, esc);
      } else {
        if (!((lead.level_kwh_day ?? 0) >= ratio * caseLevel(dismissed) && caseLevel(dismissed) > 0)) continue;
        c = newCase(lead, meters, sites, dismissed.case_id);
      }
    } else c = newCase(lead, meters, sites);
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

/** The sentence's escalation suffix, from the escalation's own evidence (one derivation for new and merged cases). */
function escalationNote(e: DetectorEvidence): string {
  const n = (v: number) => (v >= 10 ? v.toFixed(0) : v.toFixed(1));
  const recent = e.level_kwh_day, dismissed = e.dismissed_kwh_day;
  return typeof dismissed === 'number' && dismissed > 0 && recent !== null
    ? `（已核查排除的案件 ${String(e.escalates_dismissed_case)} 用电再次升高：近期日均 ${n(recent)} kWh，为排除时 ${n(dismissed)} kWh 的 ${(recent / dismissed).toFixed(1)} 倍）`
    : `（已核查排除的案件 ${String(e.escalates_dismissed_case)} 用电再次升高）`;
}

function newCase(lead: Lead, meters: ReadonlyMap<string, MeterInfo>, sites: ReadonlyMap<string, SiteInfo>, escalates?: string, esc?: Escalation): Case {
  const family = lead.family;
  const evidence: DetectorEvidence = escalates
    ? { ...evidenceOf(lead), escalates_dismissed_case: escalates, ...(esc ? { dismissed_kwh_day: Math.round(esc.dismissed_kwh_day * 100) / 100 } : {}) }
    : evidenceOf(lead);
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
    evidence: { [lead.detector]: evidence },
    summary_zh: lead.summary_zh + (escalates ? escalationNote(evidence) : ''),
    status: 'open',
    revision: 1,
  };
}

function mergeLead(c: Case, lead: Lead, meters: ReadonlyMap<string, MeterInfo>, sites: ReadonlyMap<string, SiteInfo>, rank: (d: Detector) => number): void {
  const escalation = Object.values(c.evidence).find((e) => e.escalates_dismissed_case);
  const escalates = escalation?.escalates_dismissed_case as string | undefined;
  // An escalation is an episode of its own: a later lead of the dismissed episode adds its score
  // and window end, but not its older start, detection time or level.
  c.evidence[lead.detector] = escalation
    ? { ...evidenceOf(lead), escalates_dismissed_case: escalates, detected_at: escalation.detected_at, episode_start: escalation.episode_start, level_kwh_day: escalation.level_kwh_day, ...('dismissed_kwh_day' in escalation ? { dismissed_kwh_day: escalation.dismissed_kwh_day } : {}) }
    : evidenceOf(lead);
  const note = escalation ? escalationNote(escalation) : '';
  const start = Math.min(ms(c.window_start), lead.window_start_ms);
  c.window_start = formatLocal(escalation ? Math.max(ms(c.episode_start), start) : start);
  c.window_end = formatLocal(Math.max(ms(c.window_end), lead.window_end_ms));
  c.score = combineScores(Object.values(c.evidence).map((e) => e.score));
  // The detector with the most concrete account (lowest sentence rank), then the strongest, names
  // the case and writes its sentence: a clerk needs the level, the contract, the peers and the
  // hours to visit, which a baseline's excess at a saturated score does not give.
  const top = (Object.entries(c.evidence) as [Detector, DetectorEvidence][])
    .sort((a, b) => rank(a[0]) - rank(b[0]) || b[1].score - a[1].score || (a[0] < b[0] ? -1 : 1))[0]!;
  if (top[0] === lead.detector) {
    c.detector = lead.detector;
    c.problem_type = lead.problem_type;
    c.summary_zh = lead.summary_zh + note;
  }
  Object.assign(c, identity(lead, meters, sites));
}
