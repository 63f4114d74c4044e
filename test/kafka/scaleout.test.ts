/**
 * Scale-out: several `powerscreen run` processes in one consumer group over a six-partition
 * readings topic, each with its own DuckDB file, end with exactly the cases one process holding
 * everything ends with (backfill on the same data; equivalence.test.ts shows one worker ≡ backfill):
 * three workers from the start, one of three SIGKILLed mid-stream, a third added mid-stream.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { openDb } from '../../src/store/db.js';
import { backfill } from '../../src/pipeline/backfill.js';
import { parsePipeline, type Pipeline } from '../../src/config/pipeline.js';
import { MemoryRejectSink } from '../../src/sinks/rejects.js';
import { loadCases } from '../../src/store/caseStore.js';
import { writeDistrict } from '../../src/fixtures/districtFiles.js';
import { DISTRICT_READING_FILES, type District } from '../../src/fixtures/district.js';
import type { Case } from '../../src/core/types.js';
import { materiallyEqual } from '../../src/core/cases.js';
import { freePort } from '../../src/kafka/localBroker.js';
import { tempDir } from '../helpers.js';
import { committedTotal, createTopic, districtFeed, kafka, lastDataDay, produceJson, readTopic, smallDistrict, testPipeline, topicEnd, waitFor } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const PARTITIONS = 6;
const tmp = tempDir();
let district: District;
let readingsTopic: string;
let reference: { cases: Case[]; readings: number; kwh: number };

const spawned: ChildProcess[] = [];

interface RunningWorker { name: string; proc: ChildProcess; port: number; db: string; log: string }

/**
 * A case as the street office sees it: everything but bookkeeping (revision, names joined on read).
 * Its evidence is compared as the product compares it (materiallyEqual): a worker keeps a case
 * whose new figures differ from its stored ones by rounding noise only (parallel float sums), and
 * the evidence of the last flagged day (stop 39) is judged again when its peers' rows come in.
 */
const essence = (c: Case) => JSON.stringify({
  case_id: c.case_id, detector: c.detector, meter_id: c.meter_id, site_case_no: c.site_case_no, score: c.score.toFixed(6),
  episode_start: c.episode_start, window_start: c.window_start, window_end: c.window_end, detected_at: c.detected_at,
});

/** The same cases as the reference, evidence key by key up to rounding noise. */
function expectReferenceCases(cases: readonly Case[]): void {
  expect(cases.map(essence).sort()).toEqual(reference.cases.map(essence).sort());
  const differing = cases.flatMap((c) => {
    const r = reference.cases.find((x) => x.case_id === c.case_id)!;
    const detectors = Object.keys({ ...r.evidence, ...c.evidence }) as (keyof Case['evidence'])[];
    return detectors.filter((d) => !materiallyEqual(c.evidence[d], r.evidence[d]))
      .map((d) => `${c.case_id} ${d}: ${JSON.stringify(c.evidence[d])} ≠ ${JSON.stringify(r.evidence[d])}`);
  });
  expect(differing).toEqual([]);
}

function scenarioPipeline(): { pipeline: Pipeline; file: string } {
  const base = testPipeline({ worker: { http_port: 0, stats_interval_s: 3600 } });
  const pipeline = parsePipeline({
    ...base,
    // small fetches: many batches, so kills and joins land mid-stream; short sessions: quick rebalances
    kafka: { ...base.kafka, topics: { ...base.kafka.topics, readings: readingsTopic }, max_bytes_per_partition: 128 * 1024, session_timeout_s: 10 },
  });
  const file = join(tmp.dir, `${pipeline.kafka.group_id}.json`);
  writeFileSync(file, JSON.stringify(pipeline));
  return { pipeline, file };
}

async function startWorker(file: string, name: string): Promise<RunningWorker> {
  const port = await freePort();
  const db = join(tmp.dir, `${name}.duckdb`);
  // the worker's log (no personal data goes to logs): shown when a wait times out
  const log = join(tmp.dir, `${name}.log`);
  const fd = openSync(log, 'w');
  const proc = spawn(process.execPath, [
    join(ROOT, 'bin', 'powerscreen.js'), 'run', '--pipeline', file, '--db', db,
    '--meters', join(tmp.dir, 'data', 'meters.csv'), '--sites', join(tmp.dir, 'data', 'sites.csv'), '--idle-close', '3', '--http-port', String(port),
  ], { stdio: ['ignore', fd, fd], env: { ...process.env, POWERSCREEN_LOG_LEVEL: 'info' } });
  closeSync(fd);
  spawned.push(proc);
  return { name, proc, port, db, log };
}

const exited = (p: ChildProcess) => new Promise<number | null>((r) => (p.exitCode !== null || p.signalCode ? r(p.exitCode) : p.once('exit', (c) => r(c))));

async function health(w: RunningWorker): Promise<{ partitions?: number[]; closed_through?: string; [k: string]: unknown }> {
  return fetch(`http://127.0.0.1:${w.port}/healthz`).then((r) => r.json()).catch(() => ({}));
}

const committed = (group: string) => committedTotal(group, readingsTopic);
const totalMessages = () => topicEnd(readingsTopic);

/** Wait until the live workers own all partitions between them and each has judged the last data day. */
async function waitDone(workers: RunningWorker[], group: string): Promise<void> {
  const total = await totalMessages();
  try {
    await waitFor('the group to consume every message and every worker to close the last day', async () => {
      if ((await committed(group)) < total) return false;
      const hs = await Promise.all(workers.map(health));
      const owned = hs.flatMap((h) => h.partitions ?? []);
      return owned.length === PARTITIONS && new Set(owned).size === PARTITIONS && hs.every((h) => (h.closed_through ?? '') >= lastDataDay(district));
    }, 300_000);
  } catch (e) {
    // what each worker says and last logged: a stall here must be diagnosable from the CI log alone
    const states = await Promise.all(workers.map(async (w) => `${w.name}: ${JSON.stringify(await health(w))}\n${readFileSync(w.log, 'utf8').split('\n').slice(-25).join('\n')}`));
    throw new Error(`${(e as Error).message}; committed ${await committed(group)} of ${total}, last data day ${lastDataDay(district)}\n${states.join('\n')}`, { cause: e });
  }
}

async function stopAll(workers: RunningWorker[]): Promise<void> {
  for (const w of workers) w.proc.kill('SIGTERM');
  for (const w of workers) expect(await exited(w.proc)).toBe(0);
}

/** What the group produced and what each surviving worker holds. */
async function outcome(pipeline: Pipeline, workers: RunningWorker[]) {
  const messages = await readTopic(pipeline.kafka.topics.cases);
  const perWorker = [];
  for (const w of workers) {
    const db = await openDb(w.db);
    try {
      const t = (await db.con.runAndReadAll(`select count(*) n, coalesce(sum(kwh), 0) kwh from readings`)).getRowObjectsJS()[0]!;
      const meters = (await db.con.runAndReadAll(`select distinct meter_id from readings`)).getRowObjectsJS().map((r) => String(r.meter_id));
      perWorker.push({ name: w.name, readings: Number(t.n), kwh: Number(t.kwh), meters, cases: await loadCases(db) });
    } finally {
      db.close();
    }
  }
  return { messages: messages.map((m) => JSON.parse(m.value!.toString()) as Case), raw: messages.map((m) => m.value!.toString()), perWorker };
}

/** The checks every scenario makes. */
function expectSameAsOneWorker(o: Awaited<ReturnType<typeof outcome>>) {
  // the cases topic, latest revision per case: exactly the reference cases
  const latest = new Map<string, Case>();
  for (const c of o.messages) if ((latest.get(c.case_id)?.revision ?? 0) <= c.revision) latest.set(c.case_id, c);
  expectReferenceCases([...latest.values()]);
  // none created twice: a case id appears once at revision 1, and a re-send of a revision is identical
  const firsts = o.messages.filter((c) => c.revision === 1).map((c) => c.case_id);
  const byRevision = new Map<string, string>();
  o.messages.forEach((c, i) => {
    const k = `${c.case_id}#${c.revision}`;
    if (byRevision.has(k)) expect(o.raw[i]).toBe(byRevision.get(k));
    byRevision.set(k, o.raw[i]!);
  });
  expect(new Set(firsts).size).toBe(reference.cases.length);
  // every worker holds every case (it can write the full daily list) …
  for (const w of o.perWorker) expectReferenceCases(w.cases);
  // … but only its own partitions' readings: together exactly the reference, no meter held twice
  expect(o.perWorker.reduce((a, w) => a + w.readings, 0)).toBe(reference.readings);
  expect(o.perWorker.reduce((a, w) => a + w.kwh, 0)).toBeCloseTo(reference.kwh, 3);
  const meters = o.perWorker.flatMap((w) => w.meters);
  expect(new Set(meters).size).toBe(meters.length);
  for (const w of o.perWorker) expect(w.readings).toBeGreaterThan(0);
}

describe('several workers in one consumer group', () => {
  beforeAll(async () => {
    district = smallDistrict();
    writeDistrict(district, join(tmp.dir, 'data'));
    const db = await openDb(join(tmp.dir, 'reference.duckdb'));
    await backfill({
      readings: DISTRICT_READING_FILES.map((f) => join(tmp.dir, 'data', f)), meters: join(tmp.dir, 'data', 'meters.csv'), sites: join(tmp.dir, 'data', 'sites.csv'),
      db, pipeline: parsePipeline({}), rejects: new MemoryRejectSink(), sinks: [],
    });
    const t = (await db.con.runAndReadAll(`select count(*) n, sum(kwh) kwh from readings`)).getRowObjectsJS()[0]!;
    reference = { cases: await loadCases(db), readings: Number(t.n), kwh: Number(t.kwh) };
    db.close();
    expect(reference.cases.length).toBeGreaterThanOrEqual(8);
    // cases carry peer-based evidence (street-and-category medians), compared below: peers must cross workers
    expect(reference.cases.filter((c) => 'step_up' in c.evidence && 'industrial_profile' in c.evidence).length).toBeGreaterThanOrEqual(3);
    // one readings topic for all scenarios (each has its own group and output topics)
    readingsTopic = testPipeline().kafka.topics.readings;
    await createTopic(readingsTopic, PARTITIONS);
    const p = kafka().producer();
    await p.connect();
    const feed = districtFeed(district);
    await produceJson(p, readingsTopic, feed.records, feed.invalid);
    await p.disconnect();
  }, 300_000);
  afterAll(() => {
    // a failed scenario leaves its workers running (they would retry a stopped broker for ever)
    for (const p of spawned) if (p.exitCode === null && !p.signalCode) p.kill('SIGKILL');
    tmp.cleanup();
  });

  it('three workers over six partitions produce exactly the cases one worker produces', async () => {
    const { pipeline, file } = scenarioPipeline();
    const workers = await Promise.all(['a', 'b', 'c'].map((n) => startWorker(file, `three-${n}`)));
    await waitDone(workers, pipeline.kafka.group_id);
    const owned = await Promise.all(workers.map(health));
    for (const h of owned) expect(h.partitions!.length).toBe(2);
    await stopAll(workers);
    expectSameAsOneWorker(await outcome(pipeline, workers));
  }, 600_000);

  it('a worker killed mid-stream: the group rebalances, no case lost, none created twice', async () => {
    const { pipeline, file } = scenarioPipeline();
    const workers = await Promise.all(['a', 'b', 'c'].map((n) => startWorker(file, `kill-${n}`)));
    const total = await totalMessages();
    // kill once the group is well into the stream, but not through it
    await waitFor('a third of the stream consumed', async () => (await committed(pipeline.kafka.group_id)) >= total / 3, 300_000);
    const victim = workers[1]!;
    const before = await health(victim);
    victim.proc.kill('SIGKILL');
    await exited(victim.proc);
    const atKill = await committed(pipeline.kafka.group_id);
    expect(before.partitions!.length).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(total);
    const survivors = workers.filter((w) => w !== victim);
    await waitDone(survivors, pipeline.kafka.group_id);
    await stopAll(survivors);
    expectSameAsOneWorker(await outcome(pipeline, survivors));
  }, 600_000);

  it('a worker added mid-stream takes partitions over; no case lost, none created twice', async () => {
    const { pipeline, file } = scenarioPipeline();
    const workers = await Promise.all(['a', 'b'].map((n) => startWorker(file, `add-${n}`)));
    const total = await totalMessages();
    await waitFor('a third of the stream consumed', async () => (await committed(pipeline.kafka.group_id)) >= total / 3, 300_000);
    const added = await startWorker(file, 'add-c');
    workers.push(added);
    await waitFor('the new worker to own partitions', async () => ((await health(added)).partitions ?? []).length > 0, 120_000);
    expect(await committed(pipeline.kafka.group_id)).toBeLessThan(total);
    await waitDone(workers, pipeline.kafka.group_id);
    await stopAll(workers);
    expectSameAsOneWorker(await outcome(pipeline, workers));
  }, 600_000);
});
