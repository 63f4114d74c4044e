/**
 * Running detection SQL. Each detector is one file in the pipeline's detectors folder, described by
 * its header (src/core/detectorSpec.ts, src/config/detectorRegistry.ts); parameter values come
 * from the pipeline and are BOUND as typed named parameters, never spliced into the SQL text.
 */
import {
  DuckDBDateValue, DOUBLE, INTEGER, VARCHAR, DATE, LIST, listValue,
  type DuckDBType, type DuckDBValue,
} from '@duckdb/node-api';
import type { Db } from './db.js';
import { PowerscreenError } from '../errors.js';
import { renderSummary, type DetectorSpec, type ParamSpec } from '../core/detectorSpec.js';
import { loadPeerSql, loadRegistry, peerParamValues, type DetectorRegistry, type DetectorSettings } from '../config/detectorRegistry.js';
import type { Lead } from '../core/types.js';
import { DAY_MS } from '../time.js';

export interface DetectContext {
  /** The last local day the data watermark has passed (local ms of its midnight). */
  lastCompleteDayMs: number;
  /** peer_daily is already current (the worker refreshed and published it before judging). */
  peersReady?: boolean;
  /** refreshPeers: recompute only days from this one (local midnight ms); earlier rows are kept. */
  sinceDayMs?: number;
}

export interface PeerRow {
  meter_id: string;
  /** Local midnight (ms). */
  day_ms: number;
  kwh_day: number | null;
  profiled: boolean;
  work_kw: number | null;
}

/**
 * Recompute this store's meters' rows of peer_daily (sql/peers/peer_daily.sql, bound with the
 * peer detectors' settings) and return the rows that changed: what a worker publishes so the
 * other workers' peer medians include these meters.
 */
export async function refreshPeers(db: Db, settings: DetectorSettings, ctx: DetectContext, registry = loadRegistry()): Promise<PeerRow[]> {
  const peer = loadPeerSql();
  const { values, types } = bindValues(peer, peerParamValues(registry, settings, peer), ctx);
  const con = db.con;
  try {
    await con.run(`create or replace temp table peer_fresh as ${peer.sql}`, values, types);
    await con.run(`
      create or replace temp table peer_changed as
      select f.* from temp.peer_fresh f
      anti join peer_daily p on p.meter_id = f.meter_id and p.day = f.day
        and p.kwh_day is not distinct from f.kwh_day and p.profiled = f.profiled and p.work_kw is not distinct from f.work_kw`);
    await con.run(`insert or replace into peer_daily select * from temp.peer_changed`);
    const rows = (await con.runAndReadAll(`select meter_id, epoch_ms(day) as day_ms, kwh_day, profiled, work_kw from temp.peer_changed order by meter_id, day`)).getRowObjectsJS();
    return rows.map((r) => ({ meter_id: String(r.meter_id), day_ms: Number(r.day_ms), kwh_day: num(r.kwh_day), profiled: Boolean(r.profiled), work_kw: num(r.work_kw) }));
  } catch (e) {
    throw new PowerscreenError('DETECTOR_FAILED', `${peer.file}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
}

const TYPES: Record<ParamSpec['type'], DuckDBType> = { double: DOUBLE, integer: INTEGER, 'varchar[]': LIST(VARCHAR) };

function bindValues(d: { sql: string; params: readonly ParamSpec[] }, params: Record<string, unknown>, ctx: DetectContext) {
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
 * unless ctx says it is (`all` and `registry` give the peer step its settings).
 */
export async function runDetector(db: Db, d: DetectorSpec, params: Record<string, unknown>, ctx: DetectContext, all?: DetectorSettings, registry?: DetectorRegistry): Promise<Lead[]> {
  if (!ctx.peersReady && d.peers) {
    await refreshPeers(db, all ?? ({ [d.name]: params } as DetectorSettings), ctx, registry);
  }
  const { values, types } = bindValues(d, params, ctx);
  let rows: Record<string, unknown>[];
  try {
    rows = (await db.con.runAndReadAll(d.sql, values, types)).getRowObjectsJS() as Record<string, unknown>[];
  } catch (e) {
    throw new PowerscreenError('DETECTOR_FAILED', `${d.file}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  return rows.map((r) => {
    const lead: Lead = {
      detector: d.name,
      family: d.family,
      problem_type: d.problemType,
      summary_zh: '',
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
    };
    lead.summary_zh = renderSummary(d.summaryZh, lead);
    return lead;
  });
}

/** Run every enabled detector of the registry; returns leads in a deterministic order. */
export async function runDetectors(
  db: Db, settings: DetectorSettings, ctx: DetectContext, only?: readonly string[], registry = loadRegistry(),
): Promise<{ leads: Lead[]; byDetector: Record<string, number>; ms: Record<string, number> }> {
  const leads: Lead[] = [];
  const byDetector: Record<string, number> = {};
  const timing: Record<string, number> = {};
  let peersReady = ctx.peersReady ?? false;
  for (const d of registry.detectors) {
    const p = settings[d.name];
    if (!p || p.enabled === false || (only && !only.includes(d.name))) continue;
    if (!peersReady && d.peers) {
      const t0 = performance.now();
      await refreshPeers(db, settings, ctx, registry);
      timing.peer_daily = Math.round(performance.now() - t0);
      peersReady = true;
    }
    const t0 = performance.now();
    const found = await runDetector(db, d, p, { ...ctx, peersReady }, settings, registry);
    timing[d.name] = Math.round(performance.now() - t0);
    byDetector[d.name] = found.length;
    leads.push(...found);
  }
  return { leads, byDetector, ms: timing };
}
