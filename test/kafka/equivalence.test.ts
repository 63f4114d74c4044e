/**
 * The bundled (small) district through a real Kafka broker gives the same cases as `backfill`
 * on the same data: one JSON reading per message, and again as Arrow IPC batches.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { openDb } from '../../src/store/db.js';
import { backfill, loadReference } from '../../src/pipeline/backfill.js';
import { parsePipeline } from '../../src/config/pipeline.js';
import { MemoryRejectSink } from '../../src/sinks/rejects.js';
import { loadCases } from '../../src/store/caseStore.js';
import { Worker } from '../../src/kafka/worker.js';
import { createLogger } from '../../src/log.js';
import { writeDistrict } from '../../src/fixtures/districtFiles.js';
import { DISTRICT_READING_FILES, type District } from '../../src/fixtures/district.js';
import type { Case } from '../../src/core/types.js';
import { tempDir } from '../helpers.js';
import { arrivalOrder, createTopic, districtFeed, kafka, lastDataDay, produceArrow, produceJson, readTopic, smallDistrict, testPipeline, waitCaughtUp, waitFor } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
let district: District;
let expected: Case[];
let expectedReadings: { n: number; kwh: number };

async function readingTotals(dbPath: string) {
  const db = await openDb(dbPath);
  try {
    const r = (await db.con.runAndReadAll(`select count(*) n, round(sum(kwh), 3) kwh from readings`)).getRowObjectsJS()[0]!;
    return { n: Number(r.n), kwh: Number(r.kwh), cases: await loadCases(db) };
  } finally {
    db.close();
  }
}

async function runWorkerOver(form: 'json' | 'arrow' | 'late') {
  const pipeline = testPipeline();
  const dbPath = join(tmp.dir, `worker-${form}.duckdb`);
  const db = await openDb(dbPath);
  await loadReference(db, join(tmp.dir, 'data', 'meters.csv'), join(tmp.dir, 'data', 'sites.csv'));
  db.close();
  await createTopic(pipeline.kafka.topics.readings);
  const worker = new Worker(pipeline, { dbPath, log: createLogger('error'), idleCloseS: 2 });
  await worker.start();
  const p = kafka().producer();
  await p.connect();
  const feed = districtFeed(district);
  if (form === 'late') {
    // within the allowed lateness (less a margin), so every reading must still count as on time
    const late = arrivalOrder(feed.records, (pipeline.worker.allowed_lateness_min - 10) * 60_000, 7);
    expect(late.map((r) => r.ts)).not.toEqual(feed.records.map((r) => r.ts));
    // small sends: the shuffled readings reach the worker in many batches
    for (let i = 0; i < late.length; i += 2000) await produceJson(p, pipeline.kafka.topics.readings, late.slice(i, i + 2000));
    await produceJson(p, pipeline.kafka.topics.readings, [], feed.invalid);
  } else if (form === 'json') await produceJson(p, pipeline.kafka.topics.readings, feed.records, feed.invalid);
  else {
    await produceArrow(p, pipeline.kafka.topics.readings, feed.records);
    await produceJson(p, pipeline.kafka.topics.readings, [], feed.invalid);
  }
  await p.disconnect();
  await waitCaughtUp(pipeline.kafka.group_id, pipeline.kafka.topics.readings);
  await waitFor(`the worker to close ${lastDataDay(district)}`, () => worker.closedThrough >= lastDataDay(district));
  const counters = { ...worker.counters };
  await worker.stop();
  const published = await readTopic(pipeline.kafka.topics.cases);
  const dlq = await readTopic(pipeline.kafka.topics.dlq);
  return { counters, published, dlq, ...(await readingTotals(dbPath)), feed };
}

describe('Kafka worker ≡ backfill on the small district', () => {
  beforeAll(async () => {
    tmp = tempDir();
    district = smallDistrict();
    writeDistrict(district, join(tmp.dir, 'data'));
    const db = await openDb(join(tmp.dir, 'backfill.duckdb'));
    await backfill({
      readings: DISTRICT_READING_FILES.map((f) => join(tmp.dir, 'data', f)), meters: join(tmp.dir, 'data', 'meters.csv'), sites: join(tmp.dir, 'data', 'sites.csv'),
      db, pipeline: parsePipeline({}), rejects: new MemoryRejectSink(), sinks: [],
    });
    db.close();
    const t = await readingTotals(join(tmp.dir, 'backfill.duckdb'));
    expected = t.cases;
    expectedReadings = { n: t.n, kwh: t.kwh };
    expect(expected.length).toBeGreaterThanOrEqual(8);
  });
  afterAll(() => tmp.cleanup());

  for (const form of ['json', 'arrow', 'late'] as const) {
    it(`${{ json: 'one JSON reading per message', arrow: 'Arrow IPC batches', late: 'readings arriving late and out of order (within the allowed lateness)' }[form]}: same readings, same case ids, every case on the topic`, async () => {
      const r = await runWorkerOver(form);
      expect({ n: r.n, kwh: r.kwh }).toEqual(expectedReadings);
      expect(r.cases.map((c) => c.case_id).sort()).toEqual(expected.map((c) => c.case_id).sort());
      // the topic carries every case; the last revision of each equals the registry table
      const latest = new Map<string, Case>();
      for (const m of r.published) {
        const c = JSON.parse(m.value!.toString()) as Case;
        expect(m.key).toBe(c.case_id);
        if ((latest.get(c.case_id)?.revision ?? 0) <= c.revision) latest.set(c.case_id, c);
      }
      expect([...latest.keys()].sort()).toEqual(expected.map((c) => c.case_id).sort());
      for (const c of r.cases) expect(latest.get(c.case_id)!.revision).toBe(c.revision);
      // invalid readings are on the DLQ with a reason; nothing lost
      expect(r.dlq.length).toBe(r.counters.dlq_messages);
      expect(r.dlq.length).toBeGreaterThanOrEqual(r.feed.invalid.length);
      for (const m of r.dlq) expect(m.headers['x-error-reason']).toMatch(/^[a-z_.]+: /);
    }, 300_000);
  }
});
