import type { Command } from 'commander';
import { loadPipeline } from '../../config/pipeline.js';
import { openDb } from '../../store/db.js';
import { applyFeedback, labelsFromFeedback } from '../../store/feedback.js';
import { toCsv } from '../../io/csv.js';
import { writePrivateFile } from '../../sinks/private.js';

export function register(program: Command): void {
  program
    .command('feedback')
    .description('record a street office verdict on a case: confirmed (on site), dismissed (nothing there), duplicate')
    .argument('<case_id>', 'the case (案件编号 on the daily list)')
    .argument('<verdict>', 'confirmed | dismissed | duplicate')
    .option('--note <text>', 'what the inspectors found')
    .option('--db <file>', 'DuckDB file (default: the pipeline store.db)')
    .option('--pipeline <file>', 'pipeline file (JSON)')
    .action(async (caseId: string, verdict: string, o: { note?: string; db?: string; pipeline?: string }) => {
      const db = await openDb(o.db ?? loadPipeline(o.pipeline).store.db, { mustExist: true });
      try {
        const r = await applyFeedback(db, caseId, verdict, o.note);
        process.stdout.write(`${caseId}: ${r.previous} → ${verdict}${verdict === 'dismissed' ? ' (the same episode stays quiet unless its level escalates)' : ''}\n`);
      } finally {
        db.close();
      }
    });
  program
    .command('labels-from-feedback')
    .description('write verified cases as labels (meter_id, kind, onset, verdict) for `powerscreen eval --labels`: confirmed are events, dismissed known negatives')
    .requiredOption('--out <file>', 'labels CSV')
    .option('--db <file>', 'DuckDB file (default: the pipeline store.db)')
    .option('--pipeline <file>', 'pipeline file (JSON)')
    .action(async (o: { out: string; db?: string; pipeline?: string }) => {
      const db = await openDb(o.db ?? loadPipeline(o.pipeline).store.db, { mustExist: true });
      try {
        const labels = await labelsFromFeedback(db);
        writePrivateFile(o.out, toCsv(['meter_id', 'kind', 'onset', 'verdict'], labels.map((l) => [l.meter_id, l.kind, l.onset, l.verdict])));
        const dismissed = labels.filter((l) => l.verdict === 'dismissed').length;
        process.stdout.write(`${labels.length} label(s) written to ${o.out} (${labels.length - dismissed} confirmed, ${dismissed} dismissed: eval counts precision over these verified cases)\n`);
      } finally {
        db.close();
      }
    });
}
