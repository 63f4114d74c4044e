import type { Command } from 'commander';
import { loadPipeline } from '../../config/pipeline.js';
import { openDb } from '../../store/db.js';
import { dailyList, type DailyListOptions } from '../../report/dailyList.js';
import { writePrivateFile } from '../../sinks/private.js';
import { PowerscreenError } from '../../errors.js';
import { parseDate } from '../../time.js';

export function register(program: Command): void {
  const report = program.command('report').description('reports for the district office');
  report
    .command('daily')
    .description('the suspect list (排查明细表 columns), grouped by street')
    .option('--db <file>', 'DuckDB file (default: the pipeline store.db)')
    .option('--date <YYYY-MM-DD>', 'report date (default: the latest day with readings)')
    .option('--days <n>', 'cover this many days ending at --date (7 = the weekly list)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 366) throw new PowerscreenError('CONFIG_INVALID', `--days: expected a whole number 1…366, got ${JSON.stringify(v)}`);
      return n;
    })
    .option('--street <name>', 'only this street (街道/镇)')
    .option('--format <csv|md|html>', 'output format', 'md')
    .option('--out <file>', 'write to this file (readable by owner only) instead of stdout')
    .option('--pipeline <file>', 'pipeline file (JSON)')
    .action(async (o: { db?: string; date?: string; days?: number; street?: string; format: string; out?: string; pipeline?: string }) => {
      if (!['csv', 'md', 'html'].includes(o.format)) throw new PowerscreenError('CONFIG_INVALID', `--format: expected csv, md or html, got ${JSON.stringify(o.format)}`);
      // options first: a bad date is named as such, whether or not the database exists
      if (o.date !== undefined && parseDate(o.date) === undefined) throw new PowerscreenError('CONFIG_INVALID', `--date: expected YYYY-MM-DD, got ${JSON.stringify(o.date)}`);
      const pipeline = loadPipeline(o.pipeline);
      const db = await openDb(o.db ?? pipeline.store.db, { mustExist: true });
      try {
        const r = await dailyList(db, { date: o.date, days: o.days, street: o.street, format: o.format as DailyListOptions['format'] });
        if (o.out) {
          writePrivateFile(o.out, r.text);
          process.stdout.write(`${r.rows} case(s) for ${r.date} written to ${o.out}\n`);
        } else process.stdout.write(r.text);
      } finally {
        db.close();
      }
    });
}
