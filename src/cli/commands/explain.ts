import type { Command } from 'commander';
import { loadPipeline } from '../../config/pipeline.js';
import { openDb } from '../../store/db.js';
import { gatherExplainData } from '../../store/explainQuery.js';
import { explain, renderHtml, renderSvg, type Explanation } from '../../report/explain.js';
import { findWorker, sayVia } from '../../console/workerLink.js';
import { writePrivateFile } from '../../sinks/private.js';
import { PowerscreenError } from '../../errors.js';

export function register(program: Command): void {
  program
    .command('explain')
    .description("one meter's series, baseline band, peer percentile, change points, enforcement history and cases (HTML/SVG chart or JSON)")
    .argument('<meter_id>', 'the meter')
    .option('--db <file>', 'DuckDB file (default: the pipeline store.db)')
    .option('--out <file>', 'write a chart: .html (self-contained page) or .svg')
    .option('--days <n>', 'days of full-resolution load in the lower panel', '14')
    .option('--json', 'print the data as JSON')
    .option('--pipeline <file>', 'pipeline file (JSON)')
    .action(async (meterId: string, o: { db?: string; out?: string; days: string; json?: boolean; pipeline?: string }) => {
      if (o.out && !/\.(html|svg)$/.test(o.out)) throw new PowerscreenError('CONFIG_INVALID', `--out: expected a .html or .svg file, got ${o.out}`);
      const dbPath = o.db ?? loadPipeline(o.pipeline).store.db;
      const worker = await findWorker(dbPath);
      sayVia(worker, dbPath);
      const db = worker ? undefined : await openDb(dbPath, { mustExist: true });
      try {
        const e = worker
          ? await worker.json<Explanation>(`/api/explain/${encodeURIComponent(meterId)}?days=${Number(o.days)}`)
          : explain(await gatherExplainData(db!, meterId, Number(o.days)));
        if (o.out) {
          writePrivateFile(o.out, o.out.endsWith('.svg') ? renderSvg(e) : renderHtml(e));
          process.stdout.write(`${meterId}: ${e.daily.length} days, ${e.change_points.length} change point(s), ${e.cases.length} case(s) → ${o.out}\n`);
        }
        if (o.json || !o.out) process.stdout.write(JSON.stringify(e, null, 2) + '\n');
      } finally {
        db?.close();
      }
    });
}
