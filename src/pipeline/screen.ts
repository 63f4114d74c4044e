/**
 * The screening core run as one step: detect over what the store holds, turn leads into cases,
 * save them in the registry table and publish the new or changed ones to the sinks.
 * Backfill, demo and the streaming worker all call this.
 */
import { LIST, VARCHAR, listValue } from '@duckdb/node-api';
import type { Db } from '../store/db.js';
import type { Pipeline } from '../config/pipeline.js';
import { runDetectors } from '../store/detectors.js';
import { loadCases, saveCases, appendOutbox } from '../store/caseStore.js';
import { dataWatermarkMs } from '../store/readingStore.js';
import { buildCases } from '../core/cases.js';
import type { Case, Detector, MeterInfo, SiteInfo } from '../core/types.js';
import type { CaseSink } from '../sinks/caseSink.js';
import { DAY_MS } from '../time.js';

export interface ScreenResult {
  leads: number;
  leadsByDetector: Record<string, number>;
  detectorMs: Record<string, number>;
  newCases: Case[];
  updatedCases: Case[];
  watermarkMs: number | undefined;
}

/** Registry rows of the given meters (all when omitted), for naming cases. */
export async function loadReferenceMaps(db: Db, meterIds?: readonly string[]): Promise<{ meters: Map<string, MeterInfo>; sites: Map<string, SiteInfo> }> {
  const only = { ids: meterIds ? listValue([...meterIds]) : null };
  const types = { ids: LIST(VARCHAR) };
  const meters = new Map<string, MeterInfo>();
  for (const r of (await db.con.runAndReadAll(`select * from meters where $ids is null or list_contains($ids, meter_id)`, only, types)).getRowObjectsJS()) {
    meters.set(String(r.meter_id), {
      meter_id: String(r.meter_id), account_name: String(r.account_name ?? ''), address: String(r.address ?? ''),
      street: String(r.street ?? ''), community: String(r.community ?? ''), category: String(r.category),
      contract_kva: r.contract_kva === null ? null : Number(r.contract_kva),
    });
  }
  const sites = new Map<string, SiteInfo>();
  for (const r of (await db.con.runAndReadAll(`select * from sites where $ids is null or list_contains($ids, meter_id)`, only, types)).getRowObjectsJS()) {
    sites.set(String(r.case_no), {
      case_no: String(r.case_no), meter_id: String(r.meter_id), site_name: String(r.site_name ?? ''), address: String(r.address ?? ''),
      street: String(r.street ?? ''), measure: String(r.measure ?? ''), status: String(r.status ?? ''),
    });
  }
  return { meters, sites };
}

/** The last local day the watermark (latest interval end) has passed. */
export function lastCompleteDay(watermarkMs: number): number {
  return Math.floor(watermarkMs / DAY_MS) * DAY_MS - DAY_MS;
}

export interface ScreenOptions {
  only?: Detector[];
  /** Write changed cases to the outbox in the same transaction as the registry table (worker). */
  outbox?: boolean;
  /** Judge days up to this one (default: the day before the data watermark's). */
  lastCompleteDayMs?: number;
  /** peer_daily is already current through that day (the worker prepared and shared it). */
  peersReady?: boolean;
}

export async function screen(db: Db, pipeline: Pipeline, sinks: readonly CaseSink[], opts: ScreenOptions = {}): Promise<ScreenResult> {
  const watermarkMs = await dataWatermarkMs(db);
  if (watermarkMs === undefined) return { leads: 0, leadsByDetector: {}, detectorMs: {}, newCases: [], updatedCases: [], watermarkMs };
  const lastDay = opts.lastCompleteDayMs ?? lastCompleteDay(watermarkMs);
  const { leads, byDetector, ms } = await runDetectors(db, pipeline.detectors, { lastCompleteDayMs: lastDay, peersReady: opts.peersReady }, opts.only);
  // only the meters with leads can gain or change a case: load their cases and registry rows, not all
  const leadMeters = [...new Set(leads.map((l) => l.meter_id))];
  const existing = await loadCases(db, { meterIds: leadMeters });
  const existingIds = new Set(existing.map((c) => c.case_id));
  const { meters, sites } = await loadReferenceMaps(db, leadMeters);
  const { cases, changed } = buildCases(existing, leads, meters, sites, pipeline.cases);
  const changedCases = [...changed].map((id) => cases.get(id)!);
  if (opts.outbox) {
    await db.con.run('begin transaction');
    try {
      await saveCases(db, changedCases, watermarkMs);
      await appendOutbox(db, changedCases);
      await db.con.run('commit');
    } catch (e) {
      await db.con.run('rollback').catch(() => undefined);
      throw e;
    }
  } else await saveCases(db, changedCases, watermarkMs);
  for (const s of sinks) await s.publish(changedCases);
  return {
    leads: leads.length,
    leadsByDetector: byDetector,
    detectorMs: ms,
    newCases: changedCases.filter((c) => !existingIds.has(c.case_id)),
    updatedCases: changedCases.filter((c) => existingIds.has(c.case_id)),
    watermarkMs,
  };
}
