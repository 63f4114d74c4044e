/** Backfill: history from files through the same core the worker uses. */
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import type { Pipeline } from '../config/pipeline.js';
import { dataWatermarkMs, ReadingStore } from '../store/readingStore.js';
import { applyRetention } from '../store/retention.js';
import { formatDate, lastCompleteDay } from '../time.js';
import { referenceCounts, upsertMeters, upsertSites } from '../store/reference.js';
import { casesByDetector } from '../store/caseStore.js';
import { loadMeterFile, loadSiteFile } from '../io/reference.js';
import type { TextEncoding } from '../io/lines.js';
import { readRecords } from '../io/readers.js';
import { CONTRACT_MARGIN, Ingestor } from './ingest.js';
import { dropNativeFile, firstRecords, openNativeFile, stageNativeFile, surelyNotDaily } from '../store/nativeFile.js';
import { judgeCadence } from '../core/cadence.js';
import { screen, type ScreenResult } from './screen.js';
import type { RejectSink } from '../sinks/rejects.js';
import type { CaseSink } from '../sinks/caseSink.js';

export interface BackfillOptions {
  readings: readonly string[];
  meters?: string;
  sites?: string;
  /** Of the registry files: 'auto' (UTF-8, else GB18030), or given. */
  encoding?: TextEncoding;
  db: Db;
  pipeline: Pipeline;
  rejects: RejectSink;
  sinks: readonly CaseSink[];
  log?: Logger;
  onProgress?: (p: { file: string; read: number }) => void;
}

export interface BackfillSummary {
  read: number;
  accepted: number;
  rejected: number;
  duplicate: number;
  register_base: number;
  meters: number;
  meters_in_registry: number;
  sites_in_registry: number;
  cases_by_detector: Record<string, number>;
  open_cases: number;
  new_cases: number;
  updated_cases: number;
  leads: number;
  elapsed_s: number;
  ingest_s: number;
  detect_s: number;
  readings_per_s: number;
  rejects_file: string | undefined;
  /** What backfill decided about a file on its own (e.g. an interval read from the cadence). */
  notes: string[];
  screen: ScreenResult;
}

export async function loadReference(db: Db, meters?: string, sites?: string, encoding: TextEncoding = 'auto'): Promise<void> {
  if (meters) await upsertMeters(db, await loadMeterFile(meters, encoding));
  if (sites) await upsertSites(db, await loadSiteFile(sites, encoding));
}

/**
 * A CSV or Parquet file read by DuckDB and checked in SQL (store/nativeFile.ts); false when the
 * file must be read row by row instead (a broken row, a register feed: the line reader reports it).
 */
async function ingestNatively(file: string, o: FileIngestContext): Promise<boolean> {
  const { ingestor } = o;
  const opened = await openNativeFile(o.db, file);
  if (!opened.ok) {
    o.log?.info({ file, why: opened.why }, 'file read row by row');
    return false;
  }
  const f = opened.file;
  try {
    // the same judgement, on the same first batch of rows, as the line reader's path makes
    const n = o.pipeline.source.batch_rows;
    if (f.layout.kind === 'long' && !f.layout.hasInterval && !(await surelyNotDaily(o.db, f, n))) judgeFileCadence(file, await firstRecords(o.db, f, n), o);
    else ingestor.defaultIntervalMin = o.pipeline.source.interval_min;
    const staged = await stageNativeFile(o.db, f, ingestor.defaultIntervalMin, CONTRACT_MARGIN);
    await ingestor.ingest(staged.declined, file, o.rejects, staged.staged);
  } finally {
    await dropNativeFile(o.db);
  }
  o.onProgress?.({ file, read: ingestor.counts.read });
  o.log?.info({ file, ...ingestor.totals() }, 'file ingested');
  return true;
}

/**
 * A file that does not say its interval must have the default's cadence: a daily file read as
 * 15-minute values would store every day's energy as a quarter hour's. Judged on its first records;
 * sets the interval the ingestor gives records without one, and says so when it is not the default.
 */
function judgeFileCadence(file: string, firstRecords: readonly unknown[], o: FileIngestContext): void {
  const c = judgeCadence(firstRecords, o.pipeline.source.interval_min);
  o.ingestor.defaultIntervalMin = c.ok === 'infer' ? c.interval_min : o.pipeline.source.interval_min;
  if (c.ok === 'infer') {
    o.log?.warn({ file, interval_min: c.interval_min }, c.note);
    o.notes.push(`${file}: ${c.note}`);
  }
}

/** What ingesting one file needs: the database, the ingestor that stores and counts, where rejects go. */
export interface FileIngestContext {
  db: Db;
  ingestor: Ingestor;
  pipeline: Pipeline;
  rejects: RejectSink;
  notes: string[];
  log?: Logger;
  onProgress?: (p: { file: string; read: number }) => void;
}

/** One reading file into the store: read by DuckDB when it can be (CSV, Parquet), else row by row. */
export async function ingestFile(file: string, o: FileIngestContext): Promise<void> {
  const { ingestor } = o;
  if (o.pipeline.source.native_files && await ingestNatively(file, o)) return;
  let first = true;
  for await (const batch of readRecords(file, o.pipeline.source.batch_rows)) {
    if (first) {
      judgeFileCadence(file, batch.records, o);
      first = false;
    }
    await ingestor.ingest(batch, file, o.rejects);
    o.onProgress?.({ file, read: ingestor.counts.read });
  }
  o.log?.info({ file, ...ingestor.totals() }, 'file ingested');
}

export async function backfill(o: BackfillOptions): Promise<BackfillSummary> {
  const t0 = performance.now();
  await loadReference(o.db, o.meters, o.sites, o.encoding);
  const ingestor = new Ingestor(new ReadingStore(o.db), o.pipeline.source.interval_min);
  const notes: string[] = [];
  for (const file of o.readings) await ingestFile(file, { ...o, ingestor, notes });
  const t1 = performance.now();
  const result = await screen(o.db, o.pipeline, o.sinks);
  // what the detectors have judged is kept as rollups; raw readings beyond store.raw_days go
  const watermark = await dataWatermarkMs(o.db);
  if (watermark !== undefined) {
    const kept = await applyRetention(o.db, o.pipeline.store, lastCompleteDay(watermark));
    if (kept.deleted.readings) notes.push(`retention: ${kept.deleted.readings.toLocaleString('en-US')} raw readings before ${formatDate(kept.rawFromMs!)} deleted (store.raw_days ${o.pipeline.store.raw_days}); the rollups keep them`);
  }
  const t2 = performance.now();
  for (const s of o.sinks) await s.close();
  const byDetector = await casesByDetector(o.db);
  const reg = await referenceCounts(o.db);
  const totals = ingestor.totals();
  const elapsed = (t2 - t0) / 1000;
  return {
    ...totals,
    meters_in_registry: reg.meters,
    sites_in_registry: reg.sites,
    cases_by_detector: byDetector,
    open_cases: Object.values(byDetector).reduce((a, b) => a + b, 0),
    new_cases: result.newCases.length,
    updated_cases: result.updatedCases.length,
    leads: result.leads,
    elapsed_s: Math.round(elapsed * 100) / 100,
    ingest_s: Math.round((t1 - t0) / 10) / 100,
    detect_s: Math.round((t2 - t1) / 10) / 100,
    readings_per_s: Math.round(totals.read / Math.max((t1 - t0) / 1000, 1e-3)),
    rejects_file: o.rejects.path,
    notes,
    screen: result,
  };
}
