/**
 * Kafka scenarios of `npm run bench`, against a real broker (KAFKA_BROKERS, else the Maven-jar
 * KRaft broker): ingest throughput against the client's and DuckDB's own ceilings, the worker's
 * peak memory under a backlog, and end-to-end latency from a restoring reading to its case.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { tableToIPC, Table, vectorFromArray, Utf8, Float64, TimestampMillisecond } from 'apache-arrow';
import { parsePipeline, type Pipeline } from '../src/config/pipeline.js';
import { Worker } from '../src/kafka/worker.js';
import { ARROW_CONTENT_TYPE } from '../src/kafka/decode.js';
import { createLogger } from '../src/log.js';
import { openDb } from '../src/store/db.js';
import { upsertMeters, upsertSites } from '../src/store/reference.js';
import { meterSchema, siteSchema } from '../src/contracts/registry.js';
import { freePort } from '../src/kafka/localBroker.js';
import { formatLocal, parseDate } from '../src/time.js';

const ROOT = join(import.meta.dirname, '..');
const START = parseDate('2026-09-01')!;
const Q = 900_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface KafkaBench { brokers: string; dir: string; quick: boolean; say: (s: string) => void }

export function pipelineFor(brokers: string, extra: Record<string, unknown> = {}): Pipeline {
  const id = randomUUID().slice(0, 8);
  return parsePipeline({
    kafka: {
      brokers: [brokers], group_id: `bench-${id}`, connect_timeout_s: 30,
      topics: { readings: `b-readings-${id}`, dlq: `b-dlq-${id}`, cases: `b-cases-${id}`, meters: `b-meters-${id}`, sites: `b-sites-${id}`, feedback: `b-feedback-${id}`, peers: `b-peers-${id}` },
    },
    worker: { http_port: 0, stats_interval_s: 3600 },
    ...extra,
  });
}

export const kafkaOf = (brokers: string) => new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING });

export async function createTopic(brokers: string, topic: string, partitions: number): Promise<void> {
  const admin = kafkaOf(brokers).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();
}

export const meterId = (m: number) => `M${String(m).padStart(7, '0')}`;
const kwhOf = (m: number, k: number) => Math.round((0.05 + ((m * 7919 + k * 104729) % 1000) / 4000) * 1000) / 1000;

/** Interval k (1-based) of `meters` meters as JSON reading objects. */
function intervalJson(meters: number, k: number, m0 = 0): string[] {
  const ts = `${formatLocal(START + k * Q).slice(0, 19)}+08:00`;
  const out: string[] = [];
  for (let m = m0; m < m0 + meters; m++) out.push(`{"meter_id":"${meterId(m)}","ts":"${ts}","kwh":${kwhOf(m, k)}}`);
  return out;
}

function arrowMessage(ids: string[], tsMs: number[], kwh: number[]): Buffer {
  const table = new Table({
    meter_id: vectorFromArray(ids, new Utf8()),
    ts: vectorFromArray(tsMs, new TimestampMillisecond()),
    kwh: vectorFromArray(kwh, new Float64()),
  });
  return Buffer.from(tableToIPC(table, 'stream'));
}

/** `intervals` 15-min intervals of `meters` meters as Arrow IPC messages of `size` readings. */
async function produceArrowIntervals(p: Producer, topic: string, meters: number, intervals: number, size: number): Promise<number> {
  let n = 0;
  for (let k = 1; k <= intervals; k++) {
    const msgs = [];
    for (let m0 = 0; m0 < meters; m0 += size) {
      const ids: string[] = [], ts: number[] = [], kwh: number[] = [];
      for (let m = m0; m < Math.min(meters, m0 + size); m++) { ids.push(meterId(m)); ts.push(START + k * Q); kwh.push(kwhOf(m, k)); }
      msgs.push({ key: ids[0]!, value: arrowMessage(ids, ts, kwh), headers: { 'content-type': ARROW_CONTENT_TYPE } });
      n += ids.length;
    }
    for (let i = 0; i < msgs.length; i += 20) await p.send({ topic, messages: msgs.slice(i, i + 20) });
  }
  return n;
}

/**
 * A consumer that only decodes (and, given `onBatch`, hands each batch's decoded values over, as
 * to an appender): the client's own ceiling. Returns seconds to see `n` readings.
 */
async function bareConsumer<T>(brokers: string, pipeline: Pipeline, topic: string, n: number, decode: (v: Buffer) => T | undefined, onBatch?: (rows: T[]) => Promise<void>): Promise<number> {
  const c = kafkaOf(brokers).consumer({ groupId: `bare-${randomUUID()}`, maxBytesPerPartition: pipeline.kafka.max_bytes_per_partition, maxBytes: pipeline.kafka.max_bytes_per_partition * 4 });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  let seen = 0, t0 = 0, t1 = 0;
  await c.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      if (!t0) t0 = performance.now();
      const rows: T[] = [];
      for (const m of batch.messages) {
        const r = decode(m.value!);
        if (onBatch && r !== undefined) rows.push(r);
        seen++;
      }
      await onBatch?.(rows);
      if (seen >= n && !t1) t1 = performance.now();
    },
  });
  while (!t1) await sleep(50);
  await c.disconnect();
  return (t1 - t0) / 1000;
}

/**
 * The worker over the same topic, from its first batch to its last reading stored, and the CPU
 * this process spent meanwhile (main thread and DuckDB's threads; the broker is another process)
 * per reading: on a machine of C cores no overlap of the worker's steps can go beyond C / that.
 */
async function workerIngest(pipeline: Pipeline, dbPath: string, n: number): Promise<{ s: number; cpuUsPerReading: number }> {
  const w = new Worker(pipeline, { dbPath, log: createLogger('error') });
  await w.start();
  while (w.firstBatchAtMs === undefined) await sleep(5);
  const cpu0 = process.cpuUsage();
  while (w.counters.readings_read < n) await sleep(20);
  const t = (performance.now() - w.firstBatchAtMs) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // a batch is one store transaction: its fixed cost per reading falls as batches grow
  console.log(`  (worker: ${w.counters.batches} batches, ${Math.round(n / Math.max(w.counters.batches, 1)).toLocaleString('en-US')} readings a batch on average)`);
  await w.stop();
  return { s: t, cpuUsPerReading: (cpu.user + cpu.system) / n };
}

/** What the CPU per reading allows on this machine's cores, however the steps overlapped. */
const cpuCeiling = (cpuUsPerReading: number) =>
  `worker CPU ${cpuUsPerReading.toFixed(2)} µs a reading, so at most ${Math.round(availableParallelism() * 1e6 / cpuUsPerReading).toLocaleString('en-US')}/s on ${availableParallelism()} cores however its steps overlapped`;

/** A fresh two-partition readings topic filled by `fill` (which returns the readings it sent). */
async function backlog(b: KafkaBench, fill: (p: Producer, topic: string) => Promise<number>): Promise<{ pipeline: Pipeline; topic: string; n: number }> {
  const pipeline = pipelineFor(b.brokers);
  const topic = pipeline.kafka.topics.readings;
  await createTopic(b.brokers, topic, 2);
  const p = kafkaOf(b.brokers).producer();
  await p.connect();
  try {
    return { pipeline, topic, n: await fill(p, topic) };
  } finally {
    await p.disconnect();
  }
}

export async function kafkaJsonIngest(b: KafkaBench): Promise<void> {
  const meters = b.quick ? 2000 : 10_000, intervals = b.quick ? 100 : 96;
  const { pipeline, topic, n } = await backlog(b, async (p, topic) => {
    let sent = 0;
    for (let k = 1; k <= intervals; k++) {
      const lines = intervalJson(meters, k);
      for (let i = 0; i < lines.length; i += 5000) await p.send({ topic, messages: lines.slice(i, i + 5000).map((v, j) => ({ key: meterId(i + j), value: v })) });
      sent += lines.length;
    }
    return sent;
  });
  const tBare = await bareConsumer(b.brokers, pipeline, topic, n, (v) => JSON.parse(v.toString('utf8')) as unknown);
  // the ceiling: a consumer that only decodes and appends each batch to DuckDB (a plain
  // readings-shaped table, no validation, de-duplication, rollups or offsets)
  const db = await openDb(join(b.dir, 'json-ref.duckdb'));
  await db.con.run(`create table plain (meter_id varchar, ts timestamp, interval_min smallint, kwh double)`);
  const { DuckDBTimestampValue } = await import('@duckdb/node-api');
  type Json = { meter_id: string; ts: string; kwh: number };
  const tAppend = await bareConsumer<Json>(b.brokers, pipeline, topic, n, (v) => JSON.parse(v.toString('utf8')) as Json, async (rows) => {
    const app = await db.con.createAppender('plain');
    for (const r of rows) {
      app.appendVarchar(r.meter_id);
      app.appendTimestamp(new DuckDBTimestampValue(BigInt(Date.parse(r.ts)) * 1000n));
      app.appendSmallInt(15);
      app.appendDouble(r.kwh);
      app.endRow();
    }
    app.closeSync();
  });
  db.close();
  const { s: tWorker, cpuUsPerReading } = await workerIngest(pipeline, join(b.dir, 'json-worker.duckdb'), n);
  b.say(`Kafka ingest, one JSON reading a message (${n.toLocaleString('en-US')} messages, 2 partitions): worker ${Math.round(n / tWorker).toLocaleString('en-US')}/s (${tWorker.toFixed(2)} s); bare kafkajs consumer that decodes and appends to DuckDB ${Math.round(n / tAppend).toLocaleString('en-US')}/s (${tAppend.toFixed(2)} s), ratio ${(tAppend / tWorker).toFixed(2)} (target ≥ 0.5); one that only decodes ${Math.round(n / tBare).toLocaleString('en-US')}/s (${tBare.toFixed(2)} s), ratio ${(tBare / tWorker).toFixed(2)}; ${cpuCeiling(cpuUsPerReading)}`);
}

export async function kafkaArrowIngest(b: KafkaBench): Promise<void> {
  const meters = b.quick ? 10_000 : 100_000, intervals = b.quick ? 100 : 96;
  const { pipeline, n } = await backlog(b, (p, topic) => produceArrowIntervals(p, topic, meters, intervals, 5000));
  const { s: tWorker, cpuUsPerReading } = await workerIngest(pipeline, join(b.dir, 'arrow-worker.duckdb'), n);
  // the reference: DuckDB's appender taking the same rows into a plain readings-shaped table
  const db = await openDb(join(b.dir, 'arrow-ref.duckdb'));
  await db.con.run(`create table plain (meter_id varchar, ts timestamp, interval_min smallint, kwh double)`);
  const { DuckDBTimestampValue } = await import('@duckdb/node-api');
  const t0 = performance.now();
  for (let k = 1; k <= intervals; k++) {
    const app = await db.con.createAppender('plain');
    const ts = new DuckDBTimestampValue(BigInt(START + k * Q) * 1000n);
    for (let m = 0; m < meters; m++) {
      app.appendVarchar(meterId(m));
      app.appendTimestamp(ts);
      app.appendSmallInt(15);
      app.appendDouble(kwhOf(m, k));
      app.endRow();
    }
    app.closeSync();
  }
  const tRef = (performance.now() - t0) / 1000;
  db.close();
  b.say(`Kafka ingest, Arrow IPC messages of 5,000 readings (${n.toLocaleString('en-US')} readings, ${meters.toLocaleString('en-US')} meters): worker ${Math.round(n / tWorker).toLocaleString('en-US')}/s (${tWorker.toFixed(2)} s); DuckDB appender alone ${Math.round(n / tRef).toLocaleString('en-US')}/s (${tRef.toFixed(2)} s); ratio ${(tRef / tWorker).toFixed(2)} (target ≥ 0.5 and ≥ 1 M/s); ${cpuCeiling(cpuUsPerReading)}`);
}

/** Peak RSS of a `powerscreen run` process consuming a backlog of `intervals` × 100k meters. */
async function peakRss(b: KafkaBench, meters: number, intervals: number): Promise<{ peakMiB: number; n: number; s: number }> {
  const { pipeline, n } = await backlog(b, (p, topic) => produceArrowIntervals(p, topic, meters, intervals, 5000));
  const file = join(b.dir, `${pipeline.kafka.group_id}.json`);
  writeFileSync(file, JSON.stringify(pipeline));
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'powerscreen.js'), 'run', '--pipeline', file, '--db', join(b.dir, `${pipeline.kafka.group_id}.duckdb`), '--http-port', String(port), '--idle-close', '0'], { stdio: 'ignore', env: { ...process.env, POWERSCREEN_LOG_LEVEL: 'error' } });
  let peak = 0;
  for (;;) {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      peak = Math.max(peak, Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
    } catch { /* not started yet */ }
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => '');
    const read = Number(/powerscreen_readings_read(?:_total)?\s+(\d+)/.exec(metrics)?.[1] ?? 0);
    if (read >= n) break;
    if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}`);
    await sleep(100);
  }
  const s = (performance.now() - t0) / 1000;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { peakMiB: peak, n, s };
}

export async function workerMemory(b: KafkaBench): Promise<void> {
  const meters = 100_000;
  const sizes = b.quick ? [4, 12, 36] : [24, 96];
  const out = [];
  for (const k of sizes) out.push(await peakRss(b, meters, k));
  const [a, z] = [out[0]!, out.at(-1)!];
  for (const o of out) b.say(`worker peak RSS, 100,000 meters, backlog of ${o.n.toLocaleString('en-US')} readings (Arrow): ${o.peakMiB.toFixed(0)} MiB (consumed in ${o.s.toFixed(1)} s incl. start)`);
  b.say(`worker memory growth: ${(z.n / a.n).toFixed(0)}× backlog → ${(z.peakMiB / a.peakMiB).toFixed(2)}× peak RSS (target ≤ 2 GiB, flat)`);
}

/**
 * A steady district feed (one 15-min interval of every meter each `tickMs`, JSON arrays of 500)
 * with cut sites whose meters start drawing again at staggered intervals. Latency: from producing
 * the reading that completes a case's evidence (its detected_at) to the case on the cases topic.
 */
export async function endToEndLatency(b: KafkaBench): Promise<void> {
  const meters = b.quick ? 2000 : 10_000, sites = 20, tickMs = 500;
  const historyIntervals = 96 * 2; // two days before the cuts
  const cutAt = START + historyIntervals * Q;
  const pipeline = pipelineFor(b.brokers);
  await createTopic(b.brokers, pipeline.kafka.topics.readings, 2);
  const dbPath = join(b.dir, 'latency.duckdb');
  const db = await openDb(dbPath);
  await upsertMeters(db, Array.from({ length: meters }, (_, m) => meterSchema.parse({ meter_id: meterId(m), street: `s${m % 10}`, category: m < sites ? 'industrial' : 'resident' })));
  await upsertSites(db, Array.from({ length: sites }, (_, i) => siteSchema.parse({ case_no: `SITE-${i}`, meter_id: meterId(i), street: 's0', measure: '关停取缔', status: '整改中', power_cut_at: formatLocal(cutAt).slice(0, 19) })));
  db.close();
  const w = new Worker(pipeline, { dbPath, log: createLogger('error') });
  await w.start();
  const arrivals = new Map<string, number>();
  const c = kafkaOf(b.brokers).consumer({ groupId: `lat-${randomUUID()}` });
  await c.connect();
  await c.subscribe({ topic: pipeline.kafka.topics.cases, fromBeginning: true });
  await c.run({ eachMessage: async ({ message }) => {
    const v = JSON.parse(message.value!.toString());
    if (!arrivals.has(v.case_id)) arrivals.set(v.case_id, Date.now());
  } });
  const p = kafkaOf(b.brokers).producer();
  await p.connect();
  const producedAt = new Map<number, number>(); // interval end (local ms) → wall ms when sent
  // site i draws production load from interval restoreAt(i) on; 0 between the cut and then
  const restoreAt = (i: number) => historyIntervals + 8 + i * 6;
  const last = restoreAt(sites - 1) + 24;
  // history (before the cut) goes as a backlog; the measured part is paced
  for (let k = 1; k <= last; k++) {
    const t = Date.now();
    const rows = [];
    for (let m = 0; m < meters; m++) {
      let kwh = kwhOf(m, k);
      if (m < sites) kwh = k <= historyIntervals ? 10 : k < restoreAt(m) ? 0 : 8;
      rows.push({ meter_id: meterId(m), ts: `${formatLocal(START + k * Q).slice(0, 19)}+08:00`, kwh });
    }
    const messages = [];
    for (let i = 0; i < rows.length; i += 500) messages.push({ key: String(i), value: JSON.stringify(rows.slice(i, i + 500)) });
    await p.send({ topic: pipeline.kafka.topics.readings, messages });
    producedAt.set(START + k * Q, Date.now());
    if (k > historyIntervals) await sleep(Math.max(0, tickMs - (Date.now() - t)));
  }
  await p.disconnect();
  const deadline = Date.now() + 60_000;
  while (arrivals.size < sites && Date.now() < deadline) await sleep(200);
  await c.disconnect();
  const { loadCases } = await import('../src/store/caseStore.js');
  await w.stop();
  const db2 = await openDb(dbPath);
  const cases = (await loadCases(db2)).filter((x) => x.detector === 'restored_power');
  db2.close();
  const lat: number[] = [];
  for (const x of cases) {
    const sent = producedAt.get(Date.parse(x.detected_at) + 8 * 3600_000);
    const got = arrivals.get(x.case_id);
    if (sent !== undefined && got !== undefined) lat.push(got - sent);
  }
  lat.sort((a, z) => a - z);
  const q = (f: number) => lat[Math.min(lat.length - 1, Math.floor(f * lat.length))]!;
  b.say(`end-to-end, restoring reading produced → case on the cases topic (${meters.toLocaleString('en-US')} meters, one interval of all every ${tickMs} ms = ${Math.round(meters * 1000 / tickMs).toLocaleString('en-US')} readings/s, ${sites} restored sites): ${lat.length}/${sites} measured, median ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${lat.at(-1)} ms`);
}
