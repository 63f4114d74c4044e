import type { Command } from 'commander';
import { loadPipeline } from '../../config/pipeline.js';
import { evaluatePipelines } from '../../pipeline/evaluate.js';
import { readTable } from '../../io/readers.js';
import { parseLabels, type Evaluation, type Label } from '../../core/eval.js';
import { PowerscreenError } from '../../errors.js';
import { formatLocal } from '../../time.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { findWorker, sayVia } from '../../console/workerLink.js';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`.padStart(7);
const hours = (x: number | null) => (x === null ? '—' : `${x} h`).padStart(9);

/** How many of the slowest found labels the text report names (`--json` has them all). */
const SLOWEST_SHOWN = 5;

export function formatEvaluation(e: Evaluation, name: string): string {
  const row = (label: string, f: Evaluation['site']) =>
    `  ${label.padEnd(18)}${String(f.labels).padStart(7)}${String(f.found).padStart(7)}${String(f.cases).padStart(7)}${pct(f.recall)}${pct(f.precision)}${pct(f.f1)}${hours(f.median_delay_h)}${hours(f.worst_delay_h)}`;
  const lines = [
    `pipeline ${name}`,
    `  ${'family'.padEnd(18)} labels  found  cases  recall   prec.     F1   median    worst`,
    row('restored/resumed', e.site),
    row('workshop', e.workshop),
    row('overall', e.overall),
    `  daily list, k = ${e.daily.k} a day over ${e.daily.days} day(s): precision@k ${pct(e.daily.precision_at_k).trim()}, MAP@k ${pct(e.daily.map_at_k).trim()}`,
  ];
  if (e.overall.verified_precision !== null) {
    lines.push(`  precision over verified cases ${pct(e.overall.verified_precision).trim()} (${e.overall.true_cases} confirmed-true, ${e.overall.dismissed_cases} dismissed; ${e.overall.unverified_cases} cases not yet verified are left out)`);
  }
  for (const [label, f] of [['restored/resumed', e.site], ['workshop', e.workshop], ['overall', e.overall]] as const) {
    const bands = f.calibration.filter((b) => b.cases).map((b) => `${b.from.toFixed(1)}–${b.to.toFixed(1)}: ${pct(b.precision!).trim()} of ${b.cases}`);
    if (bands.length) lines.push(`  precision by score, ${label}: ${bands.join(' | ')}`);
  }
  if (e.overall.missed.length) {
    lines.push(`  missed labels (${e.overall.missed.length}):`);
    for (const l of e.overall.missed) lines.push(`    ${l.meter_id}  ${l.kind.padEnd(9)} onset ${formatLocal(l.onset_ms)}`);
  }
  // the slowest found labels: where a delay target is missed, these are the meters to look at
  const slowest = [...e.overall.found_labels].sort((a, b) => b.delay_h - a.delay_h || a.meter_id.localeCompare(b.meter_id)).slice(0, SLOWEST_SHOWN);
  if (slowest.length) {
    lines.push(`  slowest found labels (${slowest.length} of ${e.overall.found_labels.length}):`);
    for (const l of slowest) lines.push(`    ${l.meter_id}  ${l.kind.padEnd(9)} onset ${formatLocal(l.onset_ms)}  raised ${formatLocal(l.detected_at_ms)}${hours(l.delay_h)} after  ${l.detector}  ${l.case_id}`);
  }
  if (e.overall.false_cases.length) {
    lines.push(`  false cases (${e.overall.false_cases.length}):`);
    for (const c of e.overall.false_cases) lines.push(`    ${c.case_id}  ${c.meter_id}  ${c.detector.padEnd(18)} score ${c.score.toFixed(2)}  ${c.summary_zh}`);
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('run the detectors over labelled history: precision, recall, F1, precision@k, MAP@k, delays, false cases')
    .option('--readings <files...>', 'reading files')
    .option('--db <file>', 'reuse the readings and registry stored in this database instead of reading files (it is not changed)')
    .option('--meters <file>', 'meter registry')
    .option('--sites <file>', 'enforcement sites')
    .requiredOption('--labels <file>', 'labels CSV/JSON: meter_id, kind (restored|workshop), onset')
    .option('--pipeline <file>', 'pipeline file (JSON)')
    .option('--compare <file>', 'a second pipeline to evaluate side by side on the same data')
    .option('--k <n>', 'inspection capacity: cases a day on the daily list', '20')
    .option('--json', 'print JSON')
    .action(async (o: { readings?: string[]; db?: string; meters?: string; sites?: string; labels: string; pipeline?: string; compare?: string; k: string; json?: boolean }) => {
      if (!o.readings?.length && !o.db) throw new PowerscreenError('CONFIG_INVALID', '--readings or --db: give the reading files, or a database that already holds them');
      const k = Number(o.k);
      if (!Number.isInteger(k) || k < 1) throw new PowerscreenError('CONFIG_INVALID', `--k: expected a whole number ≥ 1, got ${JSON.stringify(o.k)}`);
      const { rows } = await readTable(o.labels, 'labels');
      let labels: Label[];
      try { labels = parseLabels(rows, o.labels); } catch (e) { throw new PowerscreenError('INPUT_MALFORMED', (e as Error).message); }
      const pipelines = [{ name: o.pipeline ?? '(defaults)', pipeline: loadPipeline(o.pipeline) }];
      if (o.compare) pipelines.push({ name: o.compare, pipeline: loadPipeline(o.compare) });
      // a worker holding --db writes a snapshot of it for eval to read: never a lock fight
      const worker = o.db ? await findWorker(o.db) : undefined;
      if (o.db) sayVia(worker, o.db);
      let fromDb = o.db;
      let snapshotDir: string | undefined;
      if (worker) {
        snapshotDir = mkdtempSync(join(dirname(resolve(o.db!)), '.eval-snapshot-'));
        fromDb = (await worker.post<{ file: string }>('/api/snapshot', { file: join(snapshotDir, 'snapshot.duckdb') })).file;
      }
      let results: Awaited<ReturnType<typeof evaluatePipelines>>;
      try {
        results = await evaluatePipelines({ readings: o.readings ?? [], fromDb, meters: o.meters, sites: o.sites, labels, pipelines, k });
      } finally {
        if (snapshotDir) rmSync(snapshotDir, { recursive: true, force: true });
      }
      if (o.json) {
        process.stdout.write(JSON.stringify(results.map((r) => ({ pipeline: r.name, ...r.evaluation, overall: { ...r.evaluation.overall, missed: r.evaluation.overall.missed.map((l) => ({ meter_id: l.meter_id, kind: l.kind, onset: formatLocal(l.onset_ms) })), found_labels: r.evaluation.overall.found_labels.map((l) => ({ meter_id: l.meter_id, kind: l.kind, onset: formatLocal(l.onset_ms), detected_at: formatLocal(l.detected_at_ms), delay_h: l.delay_h, detector: l.detector, case_id: l.case_id })), false_cases: r.evaluation.overall.false_cases.map((c) => ({ case_id: c.case_id, meter_id: c.meter_id, detector: c.detector, score: c.score, evidence: c.evidence, summary_zh: c.summary_zh })) }, site: { ...r.evaluation.site, false_cases: undefined, found_labels: undefined, missed: r.evaluation.site.missed.length }, workshop: { ...r.evaluation.workshop, false_cases: undefined, found_labels: undefined, missed: r.evaluation.workshop.missed.length } })), null, 2) + '\n');
        return;
      }
      process.stdout.write(results.map((r) => formatEvaluation(r.evaluation, r.name)).join('\n\n') + '\n');
      if (results.length === 2) {
        const [a, b] = results.map((r) => r.evaluation);
        const d = (x: number, y: number) => `${y - x >= 0 ? '+' : ''}${((y - x) * 100).toFixed(1)} pt`;
        const h = (x: number | null, y: number | null) => (x === null || y === null ? '—' : `${y - x >= 0 ? '+' : ''}${(y - x).toFixed(1)} h`);
        const delays = (['site', 'workshop'] as const).map((f) => `${f} ${h(a![f].median_delay_h, b![f].median_delay_h)}`).join(', ');
        process.stdout.write(`\n${results[1]!.name} vs ${results[0]!.name}: overall recall ${d(a!.overall.recall, b!.overall.recall)}, precision ${d(a!.overall.precision, b!.overall.precision)}, F1 ${d(a!.overall.f1, b!.overall.f1)}, precision@k ${d(a!.daily.precision_at_k, b!.daily.precision_at_k)}; median delay ${delays}; cases ${a!.overall.cases} → ${b!.overall.cases}\n`);
      }
    });
}
