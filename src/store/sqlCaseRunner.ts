/**
 * Runs a given/expect case (../core/sqlCase.ts) on in-memory DuckDB: once over all its days, and
 * closed day by day as a worker closes them. For test/sql/detectors.test.ts and `powerscreen sql-test`.
 */
import { DAY_MS, lastCompleteDay } from '../time.js';
import { openDb, type Db } from './db.js';
import { ReadingStore } from './readingStore.js';
import { upsertMeters, upsertSites } from './reference.js';
import { runDetector, runDetectors } from './detectors.js';
import { storedFlagRows } from './judgeState.js';
import { parsePipeline, readJsonFile, type Pipeline } from '../config/pipeline.js';
import { loadRegistry, type DetectorRegistry } from '../config/detectorRegistry.js';
import { caseReference, describeLead, leadMatches, seriesReadings, sqlCaseSchema, type SqlCase } from '../core/sqlCase.js';

/** A case file, checked: a clear error naming the file and the field otherwise. */
export function loadSqlCase(file: string): SqlCase {
  return readJsonFile(file, sqlCaseSchema, 'case');
}

/** An in-memory store holding the case's meters and sites. */
async function openCaseDb(c: SqlCase): Promise<Db> {
  const db = await openDb(':memory:', { threads: 1 });
  try {
    const { meters, sites } = caseReference(c);
    await upsertMeters(db, meters);
    await upsertSites(db, sites);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/** Every detector's settings: a pipeline's, or the defaults its headers give; the case's params over its own. */
type Settings = Pipeline['detectors'];
function caseSettings(c: SqlCase, registry: DetectorRegistry, base?: Settings): Settings {
  // the case's params checked as a pipeline's are (a misspelt one would otherwise test the default),
  // over the headers' defaults; one parse, since each reads the detector folder
  const checked = parsePipeline({ detectors_dir: registry.dir, detectors: { [c.detector]: c.params } }, 'the case\'s params').detectors;
  if (!base) return checked;
  const own = Object.fromEntries(Object.keys(c.params).map((k) => [k, checked[c.detector]![k]]));
  return { ...base, [c.detector]: { ...base[c.detector]!, ...own } };
}

/**
 * Run one given/expect case on in-memory DuckDB. Returns a description of every mismatch
 * (empty when the case holds). `registry` lets a test run detectors from another folder; `base`
 * starts from a pipeline's settings (an analyst's tuned parameters) instead of the headers' defaults.
 */
export async function runSqlCase(c: SqlCase, registry: DetectorRegistry = loadRegistry(), base?: Settings): Promise<string[]> {
  const spec = registry.get(c.detector);
  if (!spec) return [`${c.description}: no detector ${c.detector} in ${registry.dir}`];
  const db = await openCaseDb(c);
  try {
    const readings = c.given.series.flatMap(seriesReadings);
    await new ReadingStore(db).append(readings);
    const watermark = Math.max(...readings.map((r) => r.ts_ms));
    const leads = await runDetector(db, spec, caseSettings(c, registry, base)[c.detector]!, { lastCompleteDayMs: lastCompleteDay(watermark) }, undefined, registry);
    const actual = leads as unknown as Record<string, unknown>[];
    const problems: string[] = [];
    for (const e of c.expect) {
      if (!actual.some((a) => leadMatches(e, a))) problems.push(`${c.description}\nexpected ${JSON.stringify(e)}\ngot ${actual.map(describeLead).join('\n    ') || 'no leads'}`);
    }
    const unexpected = actual.filter((a) => !c.expect.some((e) => leadMatches(e, a)));
    if (unexpected.length) problems.push(`${c.description}\nunexpected leads: ${unexpected.map(describeLead).join('\n')}`);
    return problems;
  } finally {
    db.close();
  }
}

/**
 * The case closed day by day, as a worker closes it (each close judges only the days since the
 * last, plus what their windows read), against one judgement of all its days: the flags each store
 * keeps must be the same. Empty when they are, or when the detector is not judged incrementally.
 */
export async function runSqlCaseDayByDay(c: SqlCase, registry: DetectorRegistry = loadRegistry(), base?: Settings): Promise<string[]> {
  const spec = registry.get(c.detector);
  if (!spec || spec.runs !== 'day' || !spec.incremental) return [];
  const readings = c.given.series.flatMap(seriesReadings);
  const settings = caseSettings(c, registry, base);
  const dayOf = (ts: number) => Math.floor((ts - 1) / DAY_MS) * DAY_MS;
  const last = lastCompleteDay(Math.max(...readings.map((r) => r.ts_ms)));
  const flags = async (closes: number[]) => {
    const db = await openCaseDb(c);
    try {
      const store = new ReadingStore(db);
      let from = -Infinity;
      for (const day of closes) {
        await store.append(readings.filter((r) => dayOf(r.ts_ms) > from && dayOf(r.ts_ms) <= day));
        await (await runDetectors(db, settings, { lastCompleteDayMs: day, incremental: true }, [c.detector], registry)).commit();
        from = day;
      }
      return await storedFlagRows(db, c.detector);
    } finally {
      db.close();
    }
  };
  // every day for up to 60 days; a longer case every few days (each close still judges only its own)
  const first = dayOf(Math.min(...readings.map((r) => r.ts_ms)));
  const step = Math.ceil((last - first) / DAY_MS / 60) * DAY_MS;
  const days: number[] = [];
  for (let d = first; d < last; d += step) days.push(d);
  days.push(last);
  const [once, daily] = [await flags([last]), await flags(days)];
  const onlyOnce = once.filter((f) => !daily.includes(f)), onlyDaily = daily.filter((f) => !once.includes(f));
  if (!onlyOnce.length && !onlyDaily.length) return [];
  return [`${c.description}\nclosed day by day, the flags differ from one judgement of every day:\n  only in one judgement: ${onlyOnce.slice(0, 5).join('\n    ')}\n  only day by day: ${onlyDaily.slice(0, 5).join('\n    ')}`];
}
