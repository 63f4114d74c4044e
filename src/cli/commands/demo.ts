import type { Command } from 'commander';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadPipeline } from '../../config/pipeline.js';
import { openDb } from '../../store/db.js';
import { DEMO_PIPELINE } from '../../paths.js';
import { backfill } from '../../pipeline/backfill.js';
import { JsonlRejectSink } from '../../sinks/rejects.js';
import { SnapshotCaseSink } from '../../sinks/caseSink.js';
import { DISTRICT_READING_FILES } from '../../fixtures/district.js';
import { loadDistrict, writeDistrict } from '../../fixtures/districtFiles.js';
import { toDailyFeeds } from '../../fixtures/dailyFeeds.js';
import { loadCases } from '../../store/caseStore.js';
import { scoreFamily, type Label } from '../../core/eval.js';
import { parseLocalMs } from '../../time.js';
import { formatBackfillSummary } from './backfill.js';
import { dailyList } from '../../report/dailyList.js';
import { createLogger } from '../../log.js';
import { endProgress, fmtInt, progressLine } from '../output.js';

export interface DemoResult {
  summaryText: string;
  listText: string;
  accuracyText: string;
  dbPath: string;
}

export interface DemoOptions {
  pipelineFile?: string;
  quiet?: boolean;
  /** The district spec to generate (default fixtures/district.json). */
  specFile?: string;
  /** Every meter's readings delivered as daily values, as a power company with a daily export sends them. */
  dailyFeeds?: boolean;
}

export async function runDemo(outDir: string, opts: DemoOptions = {}): Promise<DemoResult> {
  const pipeline = loadPipeline(opts.pipelineFile ?? DEMO_PIPELINE);
  const dataDir = join(outDir, 'data');
  const dbPath = join(outDir, 'demo.duckdb');
  if (!opts.quiet) progressLine('generating the synthetic district…');
  const district = loadDistrict(opts.specFile);
  writeDistrict(district, dataDir);
  if (opts.dailyFeeds) await toDailyFeeds(dataDir);
  // a demo starts from nothing, so two runs give the same result
  rmSync(dbPath, { force: true });
  rmSync(dbPath + '.wal', { force: true });
  rmSync(join(outDir, 'rejects.jsonl'), { force: true });
  const db = await openDb(dbPath, { memoryLimit: pipeline.store.memory_limit });
  try {
    const readings = DISTRICT_READING_FILES.map((f) => join(dataDir, f));
    const summary = await backfill({
      readings, meters: join(dataDir, 'meters.csv'), sites: join(dataDir, 'sites.csv'), db, pipeline,
      rejects: new JsonlRejectSink(join(outDir, 'rejects.jsonl')),
      sinks: [new SnapshotCaseSink(join(outDir, 'cases.jsonl'))],
      log: createLogger(),
      onProgress: opts.quiet ? undefined : (p) => progressLine(`backfill: ${fmtInt(p.read)} readings read`),
    });
    if (!opts.quiet) endProgress();
    const list = await dailyList(db, { days: 7, format: 'md' });
    const cases = await loadCases(db);
    const labels: Label[] = district.truth.filter((t) => t.kind).map((t) => ({ meter_id: t.meter_id, kind: t.kind as Label['kind'], onset_ms: parseLocalMs(t.onset)! }));
    const site = scoreFamily(cases, labels, 'site');
    const work = scoreFamily(cases, labels, 'workshop');
    const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
    const accuracyText = [
      `against the generator's ground truth (${labels.length} labelled events):`,
      `  restored/resumed  recall ${pct(site.recall)} (${site.found}/${site.labels}), precision ${pct(site.precision)} (${site.true_cases}/${site.cases}), median delay ${site.median_delay_h ?? '—'} h, worst ${site.worst_delay_h ?? '—'} h`,
      `  workshop          recall ${pct(work.recall)} (${work.found}/${work.labels}), precision ${pct(work.precision)} (${work.true_cases}/${work.cases}), median delay ${work.median_delay_h ?? '—'} h`,
    ].join('\n');
    return { summaryText: formatBackfillSummary(summary, readings.length), listText: list.text, accuracyText, dbPath };
  } finally {
    db.close();
  }
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('generate a synthetic district, run the whole path on an embedded DuckDB file, print the weekly list')
    .option('--out <dir>', 'working folder for the demo data, database and outputs', '.powerscreen/demo')
    .option('--pipeline <file>', 'pipeline file (default pipelines/demo.json)')
    .option('--spec <file>', 'district spec to generate (default fixtures/district.json; fixtures/district-shapes*.json are the shape library and its seasons)')
    .option('--daily-feeds', 'deliver every meter\'s readings as daily values (the 15-minute ones summed per day), to tune the daily-feed detectors')
    .action(async (o: { out: string; pipeline?: string; spec?: string; dailyFeeds?: boolean }) => {
      const r = await runDemo(o.out, { pipelineFile: o.pipeline, specFile: o.spec, dailyFeeds: o.dailyFeeds });
      process.stdout.write(r.listText + '\n');
      process.stdout.write(r.summaryText + '\n' + r.accuracyText + '\n');
      process.stdout.write(`\ndatabase: ${r.dbPath}; try: npx powerscreen report daily --db ${r.dbPath} --days 7 --format html --out ${o.out}/list.html\n`);
      process.stdout.write([
        '', 'the district console on the demo database:',
        `  printf %s 'choose-a-password' | npx powerscreen users add admin --role district --db ${r.dbPath}`,
        `  npx powerscreen serve --db ${r.dbPath}      # then open http://127.0.0.1:9464/list and log in as admin`, '',
      ].join('\n'));
    });
}
