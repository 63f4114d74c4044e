import type { Command } from 'commander';
import type { TextEncoding } from '../../io/lines.js';
import { PowerscreenError } from '../../errors.js';
import { join, dirname } from 'node:path';
import { loadPipeline } from '../../config/pipeline.js';
import { openDb } from '../../store/db.js';
import { backfill, type BackfillSummary } from '../../pipeline/backfill.js';
import { JsonlRejectSink } from '../../sinks/rejects.js';
import { SnapshotCaseSink, type CaseSink } from '../../sinks/caseSink.js';
import { loadCases } from '../../store/caseStore.js';
import { createLogger } from '../../log.js';
import { endProgress, fmtInt, progressLine } from '../output.js';

export function formatBackfillSummary(s: BackfillSummary, files: number): string {
  const byDet = Object.entries(s.cases_by_detector).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  const w = (n: number) => fmtInt(n).padStart(12);
  return [
    `readings read ${w(s.read)}  from ${files} file(s)`,
    `  accepted    ${w(s.accepted)}${s.register_base ? `  (${fmtInt(s.register_base)} register base values)` : ''}`,
    `  rejected    ${w(s.rejected)}${s.rejects_file ? `  → ${s.rejects_file}` : ''}`,
    `  duplicate   ${w(s.duplicate)}`,
    `meters        ${w(s.meters)}  (registry ${fmtInt(s.meters_in_registry)}, enforcement sites ${fmtInt(s.sites_in_registry)})`,
    `cases         ${w(s.open_cases)}  (${byDet}); this run: ${s.new_cases} new, ${s.updated_cases} updated`,
    `elapsed       ${s.elapsed_s.toFixed(1).padStart(10)} s  (ingest ${s.ingest_s.toFixed(1)} s, detect ${s.detect_s.toFixed(1)} s), ${fmtInt(s.readings_per_s)} readings/s`,
    ...(s.notes ?? []).map((n) => `note: ${n}`),
  ].join('\n');
}

export function register(program: Command): void {
  program
    .command('backfill')
    .description('load history from files, run all detectors, update the case registry')
    .requiredOption('--readings <files...>', 'reading files: .csv, .jsonl, .json, .parquet, .arrow (long or wide 96-point layout; .gz ok)')
    .option('--meters <file>', 'meter registry (CSV or JSON)')
    .option('--sites <file>', 'enforcement sites from the case registry (CSV or JSON)')
    .option('--encoding <auto|utf-8|gb18030>', 'of the registry files: auto tells UTF-8 from GBK/GB18030', 'auto')
    .option('--db <file>', 'DuckDB file (default: the pipeline store.db)')
    .option('--cases-out <file>', 'write all cases, one JSON per line (readable by owner only)')
    .option('--rejects <file>', 'where invalid readings go (default: rejects.jsonl beside the database)')
    .option('--pipeline <file>', 'pipeline file (JSON)')
    .action(async (o: { readings: string[]; meters?: string; sites?: string; encoding: string; db?: string; casesOut?: string; rejects?: string; pipeline?: string }) => {
      if (!['auto', 'utf-8', 'gb18030'].includes(o.encoding)) throw new PowerscreenError('CONFIG_INVALID', `--encoding: expected auto, utf-8 or gb18030, got ${JSON.stringify(o.encoding)}`);
      const pipeline = loadPipeline(o.pipeline);
      const dbPath = o.db ?? pipeline.store.db;
      const db = await openDb(dbPath, { memoryLimit: pipeline.store.memory_limit, threads: pipeline.store.threads });
      try {
        const rejectsPath = o.rejects ?? pipeline.sinks.rejects ?? join(dirname(dbPath === ':memory:' ? '.powerscreen/x' : dbPath), 'rejects.jsonl');
        const sinks: CaseSink[] = [];
        const casesOut = o.casesOut ?? pipeline.sinks.cases_jsonl;
        if (casesOut) sinks.push(new SnapshotCaseSink(casesOut, await loadCases(db)));
        const summary = await backfill({
          readings: o.readings, meters: o.meters, sites: o.sites, encoding: o.encoding as TextEncoding, db, pipeline,
          rejects: new JsonlRejectSink(rejectsPath), sinks, log: createLogger(),
          onProgress: (p) => progressLine(`${p.file}: ${fmtInt(p.read)} readings read`),
        });
        endProgress();
        process.stdout.write(formatBackfillSummary(summary, o.readings.length) + '\n');
        if (casesOut) process.stdout.write(`cases written to ${casesOut}\n`);
      } finally {
        db.close();
      }
    });
}
