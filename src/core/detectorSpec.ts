/**
 * A detector is one SQL file; its header is the single source of what the detector is. This module
 * reads a header (pure: text in, spec out) and renders the summary sentence it declares.
 *
 *   -- detector: step_up
 *   -- family: workshop                      site | workshop
 *   -- problem_type: 疑似散乱污生产（用电量突增）   存在问题类型 on the suspect list
 *   -- runs: day                             site: on raw readings as they arrive; day: at day close
 *   -- needs: peers                          optional: reads peer_daily (street-and-category levels)
 *   -- sentence_rank: 6 (why)                optional: when detectors of a family raise one episode, the
 *                                            lowest rank names the case and writes its sentence (default 100)
 *   -- summary_zh: {episode_start:date}起日均用电 {level_kwh_day:kwh} kWh[，… {reference_kwh_day:kwh}]
 *   -- param: ratio double = 3 [1] (0..) doc  type = default [unit] (optional min..max or a|b|c) doc
 *   -- keep: day_anomalies                   optional: the per-day step kept between day closes (./incremental.ts)
 *
 * Summary placeholders: `{field:format}` where field is episode_start, detected_at, window_start,
 * window_end, score, baseline_kwh_day, level_kwh_day, reference_kwh_day or evidence.<key>, and
 * format is kwh, date, datetime, hours (a list of hours of day as ranges), text (an evidence string as it
 * is, e.g. peer_scope: 同街道 or 全区), or a number of decimals. A `[…]` segment is left out when any
 * placeholder in it has no value.
 */
import { PowerscreenError } from '../errors.js';
import { formatZhDate } from '../time.js';
import type { Family, Lead } from './types.js';
import { planIncremental, type IncrementalPlan } from './incremental.js';

export interface ParamSpec {
  name: string;
  type: 'double' | 'integer' | 'varchar[]';
  default: number | string[];
  unit: string;
  /** Inclusive bounds of a number, from `(min..max)` in the header. */
  min?: number;
  max?: number;
  /** The values a list may hold, from `(a|b|c)` in the header. */
  allowed?: string[];
  doc: string;
}

export interface DetectorSpec {
  name: string;
  file: string;
  sql: string;
  family: Family;
  problemType: string;
  /** site: judged on raw readings whenever a monitored meter's readings arrive; day: at each day close. */
  runs: 'site' | 'day';
  /** Reads peer_daily, so peer rows must be current before it runs. */
  peers: boolean;
  summaryZh: string;
  params: ParamSpec[];
  grain: string;
  title: string;
  /**
   * Which detector's account the case gives when several raise one episode: the lowest rank (the
   * most concrete sentence for the street office: what is drawn, against what, when to visit).
   */
  sentenceRank: number;
  /** Set when the file uses $judge_from_day: its flagged days are kept and only new days judged (./incremental.ts). */
  incremental?: IncrementalPlan;
}

/**
 * Bound by the runner, not the pipeline: the last judged day, where an incremental peer refresh
 * starts, the first day whose flags a day detector judges (1970-01-01 = all), and the meters a
 * refresh of late readings computes (empty = all).
 */
export const IMPLICIT_PARAMS = ['last_complete_day', 'since_day', 'judge_from_day', 'only_meters'] as const;

const PARAM_RE = /^--\s*param:\s*(\w+)\s+(double|integer|varchar\[\])\s*=\s*(\[[^\]]*\]|[-\d.]+)\s*\[([^\]]*)\]\s*(?:\(([^)]*)\))?\s*(.*)$/;

const fail = (file: string, msg: string) => new PowerscreenError('DETECTOR_FAILED', `${file}: ${msg}`);

/** The typed parameters a SQL file's header declares, checked against what the query uses. */
export function parseSqlParams(file: string, sql: string): ParamSpec[] {
  const params: ParamSpec[] = [];
  for (const line of sql.split('\n')) {
    if (!line.startsWith('-- param:')) continue;
    const m = PARAM_RE.exec(line.trim());
    if (!m) throw fail(file, `cannot read parameter line: ${line.trim()}`);
    const [, pname, type, dflt, unit, range, doc] = m;
    const value = type === 'varchar[]' ? (JSON.parse(dflt!.replace(/'/g, '"')) as string[]) : Number(dflt);
    const spec: ParamSpec = { name: pname!, type: type as ParamSpec['type'], default: value, unit: unit!, doc: doc!.trim() };
    if (range !== undefined) {
      const bounds = /^(-?[\d.]*)\.\.(-?[\d.]*)$/.exec(range.trim());
      if (bounds && type !== 'varchar[]') {
        if (bounds[1]) spec.min = Number(bounds[1]);
        if (bounds[2]) spec.max = Number(bounds[2]);
      } else if (!bounds && type === 'varchar[]') spec.allowed = range.split('|').map((x) => x.trim()).filter(Boolean);
      else throw fail(file, `parameter ${pname}: cannot read its range (${range}): min..max for numbers, a|b|c for lists`);
    }
    const outside = typeof value === 'number'
      ? (spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)
      : spec.allowed !== undefined && value.some((v) => !spec.allowed!.includes(v));
    if (outside) throw fail(file, `parameter ${pname}: default ${JSON.stringify(value)} is outside its range (${range})`);
    if (params.some((p) => p.name === spec.name)) throw fail(file, `parameter ${pname} is declared twice`);
    params.push(spec);
  }
  const body = sql.split('\n').filter((l) => !l.trimStart().startsWith('--')).join('\n');
  for (const used of new Set([...body.matchAll(/\$(\w+)/g)].map((m) => m[1]!))) {
    if (!(IMPLICIT_PARAMS as readonly string[]).includes(used) && !params.some((p) => p.name === used)) {
      throw fail(file, `uses $${used} but the header declares no such parameter`);
    }
  }
  for (const p of params) {
    if (!new RegExp(`\\$${p.name}\\b`).test(body)) throw fail(file, `parameter ${p.name} is declared but the query never uses $${p.name}`);
  }
  return params;
}

/** A detector without `-- sentence_rank:` gives its account after every ranked one. */
export const DEFAULT_SENTENCE_RANK = 100;

const headerLine = (sql: string, key: string) => new RegExp(`^--\\s*${key}:\\s*(.*)$`, 'm').exec(sql)?.[1]?.trim();

export function parseDetectorSpec(file: string, sql: string): DetectorSpec {
  const name = /^--\s*detector:\s*(\w+)\s*$/m.exec(sql)?.[1];
  if (!name) throw fail(file, 'header must start with "-- detector: <name>"');
  const family = headerLine(sql, 'family');
  if (family !== 'site' && family !== 'workshop') throw fail(file, `"-- family:" must be site or workshop, got ${JSON.stringify(family ?? '')}`);
  const problemType = headerLine(sql, 'problem_type');
  if (!problemType) throw fail(file, 'header needs "-- problem_type: <存在问题类型>"');
  const runs = headerLine(sql, 'runs');
  if (runs !== 'site' && runs !== 'day') throw fail(file, `"-- runs:" must be site or day, got ${JSON.stringify(runs ?? '')}`);
  const needs = (headerLine(sql, 'needs') ?? '').split(/[\s,]+/).filter(Boolean);
  for (const n of needs) if (n !== 'peers') throw fail(file, `"-- needs:" knows only peers, got ${JSON.stringify(n)}`);
  const summaryZh = headerLine(sql, 'summary_zh');
  if (!summaryZh) throw fail(file, 'header needs "-- summary_zh: <sentence template>"');
  checkSummaryTemplate(file, summaryZh);
  let incremental: IncrementalPlan | undefined;
  try {
    incremental = planIncremental(sql);
  } catch (e) {
    throw fail(file, (e as Error).message);
  }
  if (incremental && runs !== 'day') throw fail(file, 'only a "runs: day" detector can judge incrementally ($judge_from_day)');
  const rankLine = headerLine(sql, 'sentence_rank');
  const rank = rankLine === undefined ? undefined : /^(\d+)(?:\s|$)/.exec(rankLine)?.[1];
  if (rankLine !== undefined && rank === undefined) throw fail(file, `"-- sentence_rank:" must start with a whole number, got ${JSON.stringify(rankLine)}`);
  return {
    name, file, sql, family, problemType, runs, peers: needs.includes('peers'), summaryZh,
    params: parseSqlParams(file, sql),
    grain: headerLine(sql, 'grain') ?? '',
    title: headerLine(sql, 'title') ?? name,
    sentenceRank: rank === undefined ? DEFAULT_SENTENCE_RANK : Number(rank),
    ...(incremental ? { incremental } : {}),
  };
}

const LEAD_FIELDS: Record<string, (l: Lead) => number | null> = {
  episode_start: (l) => l.episode_start_ms,
  detected_at: (l) => l.detected_at_ms,
  window_start: (l) => l.window_start_ms,
  window_end: (l) => l.window_end_ms,
  score: (l) => l.score,
  baseline_kwh_day: (l) => l.baseline_kwh_day,
  level_kwh_day: (l) => l.level_kwh_day,
  reference_kwh_day: (l) => l.reference_kwh_day,
};
const PLACEHOLDER = /\{([\w.]+):(kwh|date|datetime|hours|text|\d)\}/g;

function checkSummaryTemplate(file: string, t: string): void {
  for (const m of t.matchAll(/\{([^}]*)\}/g)) {
    const ok = /^([\w.]+):(kwh|date|datetime|hours|text|\d)$/.exec(m[1]!);
    if (!ok || !(ok[1]!.startsWith('evidence.') || ok[1]! in LEAD_FIELDS)) throw fail(file, `summary_zh: cannot read placeholder {${m[1]}} (field:kwh|date|datetime|hours|text|<decimals>)`);
  }
}

const kwh = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));

/** An evidence.<key> placeholder's value as the detector wrote it (undefined for a lead field). */
function evidenceOf(lead: Lead, field: string): unknown {
  return field.startsWith('evidence.') ? lead.evidence[field.slice('evidence.'.length)] : undefined;
}

function fieldValue(lead: Lead, field: string): number | null {
  if (field.startsWith('evidence.')) {
    const v = evidenceOf(lead, field);
    return v === null || v === undefined || !Number.isFinite(Number(v)) ? null : Number(v);
  }
  const v = LEAD_FIELDS[field]!(lead);
  return v === null || !Number.isFinite(v) ? null : v;
}

/** Hours of day [8, 9, …, 17, 22, 23, 0, …] as ranges a clerk reads: "08:00–18:00、22:00–06:00". */
export function formatHours(hours: readonly number[]): string {
  const set = new Set(hours.filter((h) => Number.isInteger(h) && h >= 0 && h < 24));
  if (set.size === 24) return '全天';
  const ranges: [number, number][] = [];
  // start each range at an hour whose previous hour is not drawing, so 22–06 stays one range across midnight
  for (let h = 0; h < 24; h++) {
    if (!set.has(h) || set.has((h + 23) % 24)) continue;
    let end = h;
    while (set.has((end + 1) % 24)) end = (end + 1) % 24;
    ranges.push([h, (end + 1) % 24]);
  }
  const hh = (h: number) => `${String(h).padStart(2, '0')}:00`;
  return ranges.sort((a, b) => a[0] - b[0]).map(([a, b]) => `${hh(a)}–${hh(b)}`).join('、') || '—';
}

function renderPart(part: string, lead: Lead): string | null {
  let missing = false;
  const out = part.replace(PLACEHOLDER, (_, field: string, fmt: string) => {
    if (fmt === 'hours' || fmt === 'text') {
      const v = evidenceOf(lead, field);
      const text = fmt === 'hours' ? (Array.isArray(v) && v.length ? formatHours(v.map(Number)) : undefined) : typeof v === 'string' && v ? v : undefined;
      if (text === undefined) missing = true;
      return text ?? '—';
    }
    const v = fieldValue(lead, field);
    if (v === null) {
      missing = true;
      return '—';
    }
    if (fmt === 'kwh') return kwh(v);
    if (fmt === 'date') return formatZhDate(v);
    if (fmt === 'datetime') return formatZhDate(v, true);
    return v.toFixed(Number(fmt));
  });
  return missing ? null : out;
}

/** The sentence for the street office, from the detector's summary_zh template. */
export function renderSummary(template: string, lead: Lead): string {
  // optional segments first: left out whole when a value in them is missing
  const withOptional = template.replace(/\[([^\]]*)\]/g, (_, seg: string) => renderPart(seg, lead) ?? '');
  return withOptional.replace(PLACEHOLDER, (m) => renderPart(m, lead) ?? '—');
}
