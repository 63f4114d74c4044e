/**
 * The screening core run as one step: detect over what the store holds, turn leads into cases,
 * save them in the registry table and publish the new or changed ones to the sinks.
 * Backfill, demo and the streaming worker all call this.
 */
import type { Db } from '../store/db.js';
import { registryOf, type Pipeline } from '../config/pipeline.js';
import { runDetectors } from '../store/detectors.js';
import { loadCases, saveCases, saveCasesWithOutbox } from '../store/caseStore.js';
import { loadReferenceMaps } from '../store/reference.js';
import { dailyLevels, dataWatermarkMs } from '../store/readingStore.js';
import { buildCases } from '../core/cases.js';
import { DEFAULT_SENTENCE_RANK } from '../core/detectorSpec.js';
import type { Case, Detector } from '../core/types.js';
import type { CaseSink } from '../sinks/caseSink.js';
import { DAY_MS, lastCompleteDay } from '../time.js';

export interface ScreenResult {
  leads: number;
  leadsByDetector: Record<string, number>;
  detectorMs: Record<string, number>;
  /** The first day each incremental detector judged (local midnight ms; 0 = all of them). */
  judgedFrom: Record<string, number>;
  /** Per incremental detector, the meters judged again for earlier days because their inputs changed there (late readings, peer rows). */
  rejudgedMeters: Record<string, number>;
  newCases: Case[];
  updatedCases: Case[];
  watermarkMs: number | undefined;
}


export interface ScreenOptions {
  only?: Detector[];
  /** Write changed cases to the outbox in the same transaction as the registry table (worker). */
  outbox?: boolean;
  /** Judge days up to this one (default: the day before the data watermark's). */
  lastCompleteDayMs?: number;
  /** peer_daily is already current through that day (the worker prepared and shared it). */
  peersReady?: boolean;
  /** Judge every day again instead of only the days since the last run (kept flags are rebuilt). */
  full?: boolean;
}

export async function screen(db: Db, pipeline: Pipeline, sinks: readonly CaseSink[], opts: ScreenOptions = {}): Promise<ScreenResult> {
  const watermarkMs = await dataWatermarkMs(db);
  if (watermarkMs === undefined) return { leads: 0, leadsByDetector: {}, detectorMs: {}, judgedFrom: {}, rejudgedMeters: {}, newCases: [], updatedCases: [], watermarkMs };
  const lastDay = opts.lastCompleteDayMs ?? lastCompleteDay(watermarkMs);
  const registry = registryOf(pipeline);
  const run = await runDetectors(db, pipeline.detectors, { lastCompleteDayMs: lastDay, peersReady: opts.peersReady, incremental: !opts.full }, opts.only, registry);
  const { leads, byDetector, ms } = run;
  // only the meters with leads can gain or change a case: load their cases and registry rows, not all
  const leadMeters = [...new Set(leads.map((l) => l.meter_id))];
  // community is a list column, not part of the published case
  const existing: Case[] = (await loadCases(db, { meterIds: leadMeters })).map(({ community: _, ...c }) => c);
  const existingIds = new Set(existing.map((c) => c.case_id));
  const { meters, sites } = await loadReferenceMaps(db, leadMeters);
  // escalation of a dismissed case is judged on the meter's recent days, through the judged day
  const dismissedMeters = [...new Set(existing.filter((c) => c.status === 'dismissed').map((c) => c.meter_id))];
  const levels = await dailyLevels(db, dismissedMeters, lastDay + DAY_MS);
  const { cases, changed } = buildCases(existing, leads, meters, sites, { ...pipeline.cases, sentenceRank: (d) => registry.get(d)?.sentenceRank ?? DEFAULT_SENTENCE_RANK }, levels);
  const changedCases = [...changed].map((id) => cases.get(id)!);
  if (opts.outbox) await saveCasesWithOutbox(db, changedCases, watermarkMs);
  else await saveCases(db, changedCases, watermarkMs);
  for (const s of sinks) await s.publish(changedCases);
  // the judged days' flags count as done only now that their cases are stored
  await run.commit();
  return {
    leads: leads.length,
    leadsByDetector: byDetector,
    detectorMs: ms,
    judgedFrom: run.judgedFrom,
    rejudgedMeters: run.rejudgedMeters,
    newCases: changedCases.filter((c) => !existingIds.has(c.case_id)),
    updatedCases: changedCases.filter((c) => existingIds.has(c.case_id)),
    watermarkMs,
  };
}
