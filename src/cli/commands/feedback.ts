import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { loadPipeline } from '../../config/pipeline.js';
import { openDb } from '../../store/db.js';
import { applyFeedback, labelsFromFeedback } from '../../store/feedback.js';
import { findWorker, sayVia } from '../../console/workerLink.js';
import { toCsv } from '../../io/csv.js';
import { writePrivateFile } from '../../sinks/private.js';

export function register(program: Command): void {
  program
    .command('feedback')
    .description('record a street office verdict on a case: confirmed (on site), dismissed (nothing there), duplicate (--of another case); through the running worker when one holds the database')
    .argument('<case_id>', 'the case (案件编号 on the daily list)')
    .argument('<verdict>', 'confirmed | dismissed | duplicate')
    .option('--note <text>', 'what the inspectors found')
    .option('--of <case_id>', 'duplicate: the case this one repeats')
    .option('--db <file>', 'DuckDB file (default: the pipeline store.db)')
    .option('--pipeline <file>', 'pipeline file (JSON)')
    .action(async (caseId: string, verdict: string, o: { note?: string; of?: string; db?: string; pipeline?: string }) => {
      const dbPath = o.db ?? loadPipeline(o.pipeline).store.db;
      const by = userInfo().username;
      const worker = await findWorker(dbPath);
      sayVia(worker, dbPath);
      const say = (previous: string) => process.stdout.write(`${caseId}: ${previous} → ${verdict}${verdict === 'dismissed' ? ' (the same episode stays quiet unless its level escalates)' : ''}\n`);
      if (worker) {
        const r = await worker.post<{ previous: string }>(`/api/cases/${encodeURIComponent(caseId)}/verdict`, { verdict, ...(o.note ? { note: o.note } : {}), ...(o.of ? { duplicate_of: o.of } : {}) }, { 'x-given-by': by });
        say(r.previous);
        return;
      }
      const db = await openDb(dbPath, { mustExist: true });
      try {
        say((await applyFeedback(db, { case_id: caseId, verdict, note: o.note, duplicate_of: o.of, given_by: `cli:${by}` })).previous);
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
