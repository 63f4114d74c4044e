import type { Command } from 'commander';
import { loadPipeline } from '../../config/pipeline.js';
import { openDb } from '../../store/db.js';
import { dailyList, type DailyListOptions } from '../../report/dailyList.js';
import { quarterCounts, quarterRange, type QuarterCounts } from '../../store/districtStats.js';
import { renderQuarterly } from '../../report/quarterly.js';
import { findWorker, sayVia } from '../../console/workerLink.js';
import { writePrivateFile } from '../../sinks/private.js';
import { PowerscreenError } from '../../errors.js';
import { parseDate } from '../../time.js';

function output(text: string, out: string | undefined, summary: string): void {
  if (out) {
    writePrivateFile(out, text);
    process.stdout.write(`${summary} written to ${out}\n`);
  } else process.stdout.write(text);
}

export function register(program: Command): void {
  const report = program.command('report').description('reports for the district office (through the running worker when one holds the database)');
  report
    .command('daily')
    .description('the suspect list (排查明细表, 附件1 columns), grouped by street')
    .option('--db <file>', 'DuckDB file (default: the pipeline store.db)')
    .option('--date <YYYY-MM-DD>', 'report date (default: the latest day with readings)')
    .option('--days <n>', 'cover this many days ending at --date (7 = the weekly list)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 366) throw new PowerscreenError('CONFIG_INVALID', `--days: expected a whole number 1…366, got ${JSON.stringify(v)}`);
      return n;
    })
    .option('--from <YYYY-MM-DD>', 'first day of a date range ending at --date (instead of --days)')
    .option('--street <name>', 'only this street (街道/镇)')
    .option('--format <csv|md|html>', 'output format', 'md')
    .option('--out <file>', 'write to this file (readable by owner only) instead of stdout')
    .option('--pipeline <file>', 'pipeline file (JSON)')
    .action(async (o: { db?: string; date?: string; days?: number; from?: string; street?: string; format: string; out?: string; pipeline?: string }) => {
      if (!['csv', 'md', 'html'].includes(o.format)) throw new PowerscreenError('CONFIG_INVALID', `--format: expected csv, md or html, got ${JSON.stringify(o.format)}`);
      // options first: a bad date is named as such, whether or not the database exists
      for (const [k, v] of [['--date', o.date], ['--from', o.from]] as const) if (v !== undefined && parseDate(v) === undefined) throw new PowerscreenError('CONFIG_INVALID', `${k}: expected YYYY-MM-DD, got ${JSON.stringify(v)}`);
      const pipeline = loadPipeline(o.pipeline);
      const dbPath = o.db ?? pipeline.store.db;
      const worker = await findWorker(dbPath);
      sayVia(worker, dbPath);
      if (worker) {
        const q = new URLSearchParams(Object.entries({ date: o.date, days: o.days?.toString(), from: o.from, street: o.street, format: o.format }).filter(([, v]) => v !== undefined) as [string, string][]);
        const r = await worker.text(`/api/report/daily?${q}`);
        output(r.text, o.out, `${r.headers.get('x-rows')} case(s) for ${r.headers.get('x-date')}`);
        return;
      }
      const db = await openDb(dbPath, { mustExist: true });
      try {
        const r = await dailyList(db, { date: o.date, days: o.days, from: o.from, street: o.street, format: o.format as DailyListOptions['format'] }, pipeline.report.district);
        output(r.text, o.out, `${r.rows} case(s) for ${r.date}`);
      } finally {
        db.close();
      }
    });
  report
    .command('quarterly')
    .description('附件2 counts per street: leads from 电力数据筛查, rebounds with their 反弹案件编号, sites watched, verdicts')
    .requiredOption('--quarter <YYYYQn>', 'e.g. 2026Q4')
    .option('--db <file>', 'DuckDB file (default: the pipeline store.db)')
    .option('--format <md|csv|json>', 'output format', 'md')
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--pipeline <file>', 'pipeline file (JSON)')
    .action(async (o: { quarter: string; db?: string; format: string; out?: string; pipeline?: string }) => {
      const range = quarterRange(o.quarter);
      if (!range) throw new PowerscreenError('CONFIG_INVALID', `--quarter: expected YYYYQn (e.g. 2026Q4), got ${JSON.stringify(o.quarter)}`);
      if (!['md', 'csv', 'json'].includes(o.format)) throw new PowerscreenError('CONFIG_INVALID', `--format: expected md, csv or json, got ${JSON.stringify(o.format)}`);
      const pipeline = loadPipeline(o.pipeline);
      const dbPath = o.db ?? pipeline.store.db;
      const worker = await findWorker(dbPath);
      sayVia(worker, dbPath);
      let rows: QuarterCounts[];
      if (worker) rows = (await worker.json<{ streets: QuarterCounts[] }>(`/api/quarterly?quarter=${o.quarter}`)).streets;
      else {
        const db = await openDb(dbPath, { mustExist: true });
        try { rows = await quarterCounts(db, range.from, range.to); } finally { db.close(); }
      }
      const title = `${pipeline.report.district || ''}散乱污企业（场所）综合整治情况季度调度表 — ${o.quarter}（${range.from} 至 ${range.to}）`;
      output(renderQuarterly(rows, o.format as 'md' | 'csv' | 'json', { title, quarter: o.quarter, ...range }), o.out, `${rows.length} street(s) for ${o.quarter}`);
    });
}
