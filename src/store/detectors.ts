/**
 * Detection SQL: one file per detector in sql/detectors/. The header declares the parameters
 * (`-- param: name type = default [unit] doc`); values come from the pipeline and are BOUND as
 * typed named parameters, never spliced into the SQL text.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  DuckDBDateValue, DOUBLE, INTEGER, VARCHAR, DATE, LIST, listValue,
  type DuckDBType, type DuckDBValue,
} from '@duckdb/node-api';
import type { Db } from './db.js';
import { SQL_DIR } from './db.js';
import { PowerscreenError } from '../errors.js';
import type { DetectorParams } from '../config/pipeline.js';
import { DETECTOR_FAMILY, type Detector, type Lead } from '../core/types.js';
import { DAY_MS } from '../time.js';

export interface ParamSpec {
  name: string;
  type: 'double' | 'integer' | 'varchar[]';
  default: number | string[];
  unit: string;
  doc: string;
}

export interface DetectorSql {
  name: Detector;
  file: string;
  sql: string;
  params: ParamSpec[];
  grain: string;
  title: string;
}

export const DETECTOR_DIR = join(SQL_DIR, 'detectors');

const PARAM_RE = /^--\s*param:\s*(\w+)\s+(double|integer|varchar\[\])\s*=\s*(\[[^\]]*\]|[-\d.]+)\s*\[([^\]]*)\]\s*(.*)$/;

/** Bound by the runner, not the pipeline: the last judged day, and where an incremental refresh starts. */
const IMPLICIT_PARAMS = ['last_complete_day', 'since_day'];

/** The typed parameters a SQL file's header declares, checked against what the query uses. */
export function parseSqlParams(file: string, sql: string): ParamSpec[] {
  const params: ParamSpec[] = [];
  for (const line of sql.split('\n')) {
    if (!line.startsWith('-- param:')) continue;
    const m = PARAM_RE.exec(line.trim());
    if (!m) throw new PowerscreenError('DETECTOR_FAILED', `${file}: cannot read parameter line: ${line.trim()}`);
    const [, pname, type, dflt, unit, doc] = m;
    const value = type === 'varchar[]' ? (JSON.parse(dflt!.replace(/'/g, '"')) as string[]) : Number(dflt);
    params.push({ name: pname!, type: type as ParamSpec['type'], default: value, unit: unit!, doc: doc!.trim() });
  }
  for (const used of new Set([...sql.matchAll(/\$(\w+)/g)].map((m) => m[1]!))) {
    if (!IMPLICIT_PARAMS.includes(used) && !params.some((p) => p.name === used)) {
      throw new PowerscreenError('DETECTOR_FAILED', `${file}: uses $${used} but the header declares no such parameter`);
    }
  }
  for (const p of params) {
    if (!new RegExp(`\\$${p.name}\\b`).test(sql.split('\n').filter((l) => !l.startsWith('--')).join('\n'))) {
      throw new PowerscreenError('DETECTOR_FAILED', `${file}: parameter ${p.name} is declared but the query never uses $${p.name}`);
    }
  }
  return params;
}

export function parseDetectorSql(file: string, sql: string): DetectorSql {
  const name = /^--\s*detector:\s*(\w+)/m.exec(sql)?.[1];
  if (!name || !(name in DETECTOR_FAMILY)) throw new PowerscreenError('DETECTOR_FAILED', `${file}: header must start with "-- detector: <name>" naming a known detector`);
  const params = parseSqlParams(file, sql);
  return {
    name: name as Detector,
    file,
    sql,
    params,
    grain: /^--\s*grain:\s*(.*)$/m.exec(sql)?.[1] ?? '',
    title: /^--\s*title:\s*(.*)$/m.exec(sql)?.[1] ?? name,
  };
}

export function loadDetectorSql(dir = DETECTOR_DIR): DetectorSql[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => parseDetectorSql(join(dir, f), readFileSync(join(dir, f), 'utf8')));
}

const TYPES: Record<ParamSpec['type'], DuckDBType> = { double: DOUBLE, integer: INTEGER, 'varchar[]': LIST(VARCHAR) };

export interface DetectContext {
  /** The last local day the data watermark has passed (local ms of its midnight). */
  lastCompleteDayMs: number;
  /** peer_daily is already current (the worker refreshed and published it before judging). */
  peersReady?: boolean;
  /** refreshPeers: recompute only days from this one (local midnight ms); earlier rows are kept. */
  sinceDayMs?: number;
}

/** Detectors that compare a meter with its street-and-category peers through peer_daily. */
export const PEER_DETECTORS: readonly Detector[] = ['step_up', 'industrial_profile'];
export const PEER_SQL_FILE = join(SQL_DIR, 'peers', 'peer_daily.sql');

export interface PeerRow {
  meter_id: string;
  /** Local midnight (ms). */
  day_ms: number;
  kwh_day: number | null;
  profiled: boolean;
  work_kw: number | null;
}

/**
 * Recompute this store's meters' rows of peer_daily (sql/peers/peer_daily.sql, bound with
 * industrial_profile's settings) and return the rows that changed: what a worker publishes so the
 * other workers' peer medians include these meters.
 */
export async function refreshPeers(db: Db, params: DetectorParams, ctx: DetectContext): Promise<PeerRow[]> {
  const sql = readFileSync(PEER_SQL_FILE, 'utf8');
  const { values, types } = bindValues({ sql, params: parseSqlParams(PEER_SQL_FILE, sql) }, (params as Record<string, Record<string, unknown>>).industrial_profile ?? {}, ctx);
  const con = db.con;
  try {
    await con.run(`create or replace temp table peer_fresh as ${sql}`, values, types);
    await con.run(`
      create or replace temp table peer_changed as
      select f.* from temp.peer_fresh f
      anti join peer_daily p on p.meter_id = f.meter_id and p.day = f.day
        and p.kwh_day is not distinct from f.kwh_day and p.profiled = f.profiled and p.work_kw is not distinct from f.work_kw`);
    await con.run(`insert or replace into peer_daily select * from temp.peer_changed`);
    const rows = (await con.runAndReadAll(`select meter_id, epoch_ms(day) as day_ms, kwh_day, profiled, work_kw from temp.peer_changed order by meter_id, day`)).getRowObjectsJS();
    return rows.map((r) => ({ meter_id: String(r.meter_id), day_ms: Number(r.day_ms), kwh_day: num(r.kwh_day), profiled: Boolean(r.profiled), work_kw: num(r.work_kw) }));
  } catch (e) {
    throw new PowerscreenError('DETECTOR_FAILED', `${PEER_SQL_FILE}: ${(e as Error).message.split('\n')[0]}`);
  }
}

function bindValues(d: Pick<DetectorSql, 'sql' | 'params'>, params: Record<string, unknown>, ctx: DetectContext) {
  const values: Record<string, DuckDBValue> = {};
  const types: Record<string, DuckDBType> = {};
  for (const p of d.params) {
    const v = params[p.name] ?? p.default;
    values[p.name] = p.type === 'varchar[]' ? listValue(v as string[]) : (v as number);
    types[p.name] = TYPES[p.type];
  }
  if (d.sql.includes('$since_day')) {
    // days before it are not recomputed (a full refresh starts at the epoch)
    values.since_day = new DuckDBDateValue(Math.floor((ctx.sinceDayMs ?? 0) / DAY_MS));
    types.since_day = DATE;
  }
  if (d.sql.includes('$last_complete_day')) {
    values.last_complete_day = new DuckDBDateValue(Math.floor(ctx.lastCompleteDayMs / DAY_MS));
    types.last_complete_day = DATE;
  }
  return { values, types };
}

const toMs = (v: unknown): number | null => (v instanceof Date ? v.getTime() : v === null || v === undefined ? null : Number(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * Run one detector. A peer detector first brings peer_daily up to date for this store's meters
 * unless ctx says it is (`all` gives the peer step industrial_profile's settings).
 */
export async function runDetector(db: Db, d: DetectorSql, params: Record<string, unknown>, ctx: DetectContext, all?: DetectorParams): Promise<Lead[]> {
  if (!ctx.peersReady && PEER_DETECTORS.includes(d.name)) {
    await refreshPeers(db, all ?? ({ [d.name]: params } as unknown as DetectorParams), ctx);
  }
  const { values, types } = bindValues(d, params, ctx);
  let rows: Record<string, unknown>[];
  try {
    rows = (await db.con.runAndReadAll(d.sql, values, types)).getRowObjectsJS() as Record<string, unknown>[];
  } catch (e) {
    throw new PowerscreenError('DETECTOR_FAILED', `${d.file}: ${(e as Error).message.split('\n')[0]}`);
  }
  return rows.map((r) => ({
    detector: d.name,
    meter_id: String(r.meter_id),
    site_case_no: r.site_case_no === null || r.site_case_no === undefined ? null : String(r.site_case_no),
    episode_start_ms: toMs(r.episode_start)!,
    detected_at_ms: toMs(r.detected_at)!,
    window_start_ms: toMs(r.window_start)!,
    window_end_ms: toMs(r.window_end)!,
    score: Number(r.score),
    baseline_kwh_day: num(r.baseline_kwh_day),
    level_kwh_day: num(r.level_kwh_day),
    reference_kwh_day: num(r.reference_kwh_day),
    evidence: typeof r.evidence === 'string' ? JSON.parse(r.evidence) : (r.evidence as Record<string, unknown>) ?? {},
  }));
}

/** Run every enabled detector; returns leads in a deterministic order. */
export async function runDetectors(db: Db, params: DetectorParams, ctx: DetectContext, only?: readonly Detector[]): Promise<{ leads: Lead[]; byDetector: Record<string, number>; ms: Record<string, number> }> {
  const leads: Lead[] = [];
  const byDetector: Record<string, number> = {};
  const timing: Record<string, number> = {};
  let peersReady = ctx.peersReady ?? false;
  for (const d of loadDetectorSql()) {
    const p = (params as Record<string, Record<string, unknown>>)[d.name];
    if (!p || p.enabled === false || (only && !only.includes(d.name))) continue;
    if (!peersReady && PEER_DETECTORS.includes(d.name)) {
      const t0 = performance.now();
      await refreshPeers(db, params, ctx);
      timing.peer_daily = Math.round(performance.now() - t0);
      peersReady = true;
    }
    const t0 = performance.now();
    const found = await runDetector(db, d, p, { ...ctx, peersReady }, params);
    timing[d.name] = Math.round(performance.now() - t0);
    byDetector[d.name] = found.length;
    leads.push(...found);
  }
  return { leads, byDetector, ms: timing };
}
