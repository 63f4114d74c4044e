/** Several pipelines over the same labelled history: the data is read once, each pipeline judged from no cases. */
import type { Pipeline } from '../config/pipeline.js';
import { openDb, type Db } from '../store/db.js';
import { clearCases, loadCases } from '../store/caseStore.js';
import { copyStoredData } from '../store/snapshot.js';
import { MemoryRejectSink } from '../sinks/rejects.js';
import { evaluate, type Evaluation, type Label } from '../core/eval.js';
import { backfill } from './backfill.js';
import { screen } from './screen.js';

export async function evaluatePipelines(o: { readings: string[]; fromDb?: string; meters?: string; sites?: string; labels: Label[]; pipelines: { name: string; pipeline: Pipeline }[]; k: number }): Promise<{ name: string; evaluation: Evaluation }[]> {
  const db: Db = await openDb(':memory:');
  try {
    // the data is read once (from files, or copied from a stored database, which stays as it was);
    // each pipeline's detectors then run on it from an empty case registry
    if (o.fromDb) await copyStoredData(db, o.fromDb);
    if (o.readings.length || o.meters || o.sites) await backfill({ readings: o.readings, meters: o.meters, sites: o.sites, db, pipeline: o.pipelines[0]!.pipeline, rejects: new MemoryRejectSink(), sinks: [] });
    const out = [];
    for (const p of o.pipelines) {
      await clearCases(db);
      await screen(db, p.pipeline, [], { full: true });
      out.push({ name: p.name, evaluation: evaluate(await loadCases(db), o.labels, o.k) });
    }
    return out;
  } finally {
    db.close();
  }
}
