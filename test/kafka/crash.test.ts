/**
 * A worker killed with SIGKILL at 20 seeded random points while a late, out-of-order feed streams
 * in, then restarted, ends with the same
 * readings (none lost, none counted twice) and the same cases as an uninterrupted run; the cases
 * topic may carry a case twice, but only as an identical re-send.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { openDb } from '../../src/store/db.js';
import { backfill } from '../../src/pipeline/backfill.js';
import { parsePipeline } from '../../src/config/pipeline.js';
import { MemoryRejectSink } from '../../src/sinks/rejects.js';
import { loadCases } from '../../src/store/caseStore.js';
import { writeDistrict } from '../../src/fixtures/districtFiles.js';
import { DISTRICT_READING_FILES } from '../../src/fixtures/district.js';
import { rng } from '../../src/fixtures/district.js';
import { tempDir } from '../helpers.js';
import { arrivalOrder, committedTotal, createTopic, districtFeed, kafka, lastDataDay, produceJson, readTopic, smallDistrict, testPipeline, topicEnd, waitCaughtUp, waitFor } from './helpers.js';
import { freePort } from '../../src/kafka/localBroker.js';

const ROOT = join(import.meta.dirname, '..', '..');
const tmp = tempDir();
afterAll(() => tmp.cleanup());

function startWorker(pipelineFile: string, dbPath: string): ChildProcess {
  return spawn(process.execPath, [join(ROOT, 'bin', 'powerscreen.js'), 'run', '--pipeline', pipelineFile, '--db', dbPath, '--meters', join(tmp.dir, 'data', 'meters.csv'), '--sites', join(tmp.dir, 'data', 'sites.csv'), '--idle-close', '2'], {
    stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, POWERSCREEN_LOG_LEVEL: 'error' },
  });
}
const exited = (p: ChildProcess) => new Promise<number | null>((r) => (p.exitCode !== null || p.signalCode ? r(p.exitCode) : p.once('exit', (c) => r(c))));

/** Seeded: a failure names its seed and reproduces with POWERSCREEN_CRASH_SEED. */
const SEED = Number(process.env.POWERSCREEN_CRASH_SEED ?? 42);
const KILLS = 20;

describe('crash safety', () => {
  it(`SIGKILL at ${KILLS} random points (seed ${SEED}) of a late, out-of-order feed loses nothing, counts nothing twice and forks no case id`, async () => {
    const district = smallDistrict();
    writeDistrict(district, join(tmp.dir, 'data'));
    // the uninterrupted reference
    const ref = await openDb(join(tmp.dir, 'ref.duckdb'));
    await backfill({
      readings: DISTRICT_READING_FILES.map((f) => join(tmp.dir, 'data', f)), meters: join(tmp.dir, 'data', 'meters.csv'), sites: join(tmp.dir, 'data', 'sites.csv'),
      db: ref, pipeline: parsePipeline({}), rejects: new MemoryRejectSink(), sinks: [],
    });
    const refTotals = (await ref.con.runAndReadAll(`select count(*) n, round(sum(kwh), 3) kwh from readings`)).getRowObjectsJS()[0]!;
    const refCases = (await loadCases(ref)).map((c) => c.case_id).sort();
    ref.close();

    const port = await freePort();
    // a killed member holds its partition until its session times out: a short session keeps 20 restarts quick
    const pipeline = testPipeline({ source: { batch_rows: 100000 }, worker: { http_port: port, stats_interval_s: 3600 } });
    pipeline.kafka.session_timeout_s = 10;
    // small fetches: many batches, so the kills land mid-stream
    const file = join(tmp.dir, 'pipeline.json');
    writeFileSync(file, JSON.stringify({ ...pipeline, kafka: { ...pipeline.kafka, max_bytes_per_partition: 256 * 1024 } }));
    await createTopic(pipeline.kafka.topics.readings);
    const p = kafka().producer();
    await p.connect();
    const feed = districtFeed(district);
    // readings arrive late and out of order (within the allowed lateness), as a real feed delivers them
    await produceJson(p, pipeline.kafka.topics.readings, arrivalOrder(feed.records, (pipeline.worker.allowed_lateness_min - 10) * 60_000, SEED), feed.invalid);
    await p.disconnect();

    const dbPath = join(tmp.dir, 'worker.duckdb');
    const rand = rng(SEED);
    let kills = 0;
    const total = await topicEnd(pipeline.kafka.topics.readings);
    for (let i = 0; i < KILLS; i++) {
      const w = startWorker(file, dbPath);
      // kill i lands at a random point within the i-th of KILLS slices of the stream (by the group's
      // progress), so every kill is mid-stream however fast the machine ingests
      const at = total * (0.02 + (0.9 / KILLS) * (i + 0.8 * rand()));
      await waitFor(`the worker to pass offset ${Math.round(at)}`, async () => w.exitCode !== null || (await committedTotal(pipeline.kafka.group_id, pipeline.kafka.topics.readings)) >= at, 240_000);
      if (w.exitCode !== null) throw new Error(`worker exited early with ${w.exitCode}`);
      w.kill('SIGKILL');
      await exited(w);
      kills++;
    }
    // the kills landed mid-stream: some, not all, readings were stored before the last start
    const mid = await openDb(dbPath);
    const stored = Number((await mid.con.runAndReadAll(`select count(*) n from readings`)).getRowObjectsJS()[0]!.n);
    mid.close();
    expect(stored).toBeGreaterThan(0);
    expect(stored).toBeLessThan(Number(refTotals.n));
    const w = startWorker(file, dbPath);
    await waitCaughtUp(pipeline.kafka.group_id, pipeline.kafka.topics.readings, 240_000);
    await waitFor(`the worker to close ${lastDataDay(district)}`, async () => {
      const h = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.json()).catch(() => ({}));
      return (h.closed_through ?? '') >= lastDataDay(district);
    });
    w.kill('SIGTERM');
    expect(await exited(w)).toBe(0);

    const db = await openDb(dbPath);
    const totals = (await db.con.runAndReadAll(`select count(*) n, round(sum(kwh), 3) kwh from readings`)).getRowObjectsJS()[0]!;
    const cases = await loadCases(db);
    const unpublished = (await db.con.runAndReadAll(`select count(*) n from case_outbox where published_at is null`)).getRowObjectsJS()[0]!.n;
    db.close();
    expect(kills).toBe(KILLS);
    expect(totals).toEqual(refTotals);
    expect(cases.map((c) => c.case_id).sort()).toEqual(refCases);
    expect(Number(unpublished)).toBe(0);
    // duplicates on the topic only as identical re-sends: one payload per (case_id, revision)
    const byRevision = new Map<string, string>();
    for (const m of await readTopic(pipeline.kafka.topics.cases)) {
      const c = JSON.parse(m.value!.toString());
      const k = `${c.case_id}#${c.revision}`;
      if (byRevision.has(k)) expect(m.value!.toString()).toBe(byRevision.get(k));
      byRevision.set(k, m.value!.toString());
    }
    expect(new Set([...byRevision.keys()].map((k) => k.split('#')[0])).size).toBe(refCases.length);
  }, 1_200_000);
});
