/**
 * Bench scenario `start` (issue 13: "a new worker starts in ≤ 30 s with a year of peers on the
 * topic"): a worker with an empty store joins a district whose partitions all have snapshots.
 *
 * What is on the broker, as a district's running group would have left it:
 *  - the peers topic: `stale` messages older than the snapshots (the year before them; a new worker
 *    never reads them, so their number only moves the offsets), then the tail the snapshots do not
 *    hold: one day of every meter's peer rows and a closed marker per partition;
 *  - the meters topic: every meter; the sites topic: the enforcement sites; the cases topic: the
 *    cases raised so far;
 *  - one snapshot folder per readings partition, with a year of its meters' peer rows. The
 *    snapshots name no table to restore but the partition's meter list: a gained partition's
 *    rollups and raw readings are the restore the README times on its own (66 s a partition-year).
 * Timed: from `start()` to the worker's first "ready" (every registry topic read to where it ended
 * at start, owned partitions caught up); peak RSS of this process over the same span.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Producer } from 'kafkajs';
import { parsePipeline } from '../src/config/pipeline.js';
import { Worker } from '../src/kafka/worker.js';
import { createLogger } from '../src/log.js';
import { DAY_MS, formatDate, parseDate } from '../src/time.js';
import { createTopic, kafkaOf, meterId, pipelineFor, type KafkaBench } from './kafka.js';

const PARTITIONS = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sendAll(p: Producer, topic: string, messages: { key: string; value: string }[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 5000) await p.send({ topic, messages: messages.slice(i, i + 5000) });
}

/** One snapshot folder per partition: its meter list and a year of its meters' peer rows, as writePartitionSnapshot lays them out. */
async function writeSnapshots(dir: string, readingsTopic: string, peersTopic: string, meters: number, days: number, lastDay: number, peersOffset: number): Promise<void> {
  const db = await (await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: '2GB' })).connect();
  const first = formatDate(lastDay - (days - 1) * DAY_MS);
  for (let p = 0; p < PARTITIONS; p++) {
    const folder = join(dir, readingsTopic.replace(/[^\w.-]/g, '_'), `p${p}`);
    mkdirSync(folder, { recursive: true });
    const ids = `select 'M' || lpad(cast(m as varchar), 7, '0') meter_id, m from range(${p}, ${meters}, ${PARTITIONS}) t(m)`;
    await db.run(`copy (select meter_id, cast(${p} as integer) "partition" from (${ids})) to '${join(folder, 'meter_partition.parquet')}' (format parquet)`);
    await db.run(`copy (
        select meter_id, date '${first}' + cast(d as integer) as day, 8 + (m * 7 + d * 13) % 50 / 10.0 as kwh_day, true as profiled, 0.2 + (m % 17) / 10.0 as work_kw
        from (${ids}) cross join range(${days}) r(d) order by day, meter_id
      ) to '${join(folder, 'peer_daily.parquet')}' (format parquet, compression zstd)`);
    writeFileSync(join(folder, 'manifest.json'), JSON.stringify({
      version: 1, topic: readingsTopic, partition: p, next_offset: '0', watermark_ms: null, closed_day_ms: lastDay, raw_from_ms: null, judged: [],
      meters: Math.ceil((meters - p) / PARTITIONS), tables: ['meter_partition'], written_at: new Date().toISOString(),
      peers: { topic: peersTopic, offsets: [{ partition: 0, offset: String(peersOffset) }] },
    }));
  }
  db.closeSync();
}

export async function newWorkerStart(b: KafkaBench): Promise<void> {
  const meters = b.quick ? 10_000 : 100_000, days = 365, stale = b.quick ? 100_000 : 1_000_000, sites = 200, cases = 2_000;
  const snapDir = join(b.dir, 'snapshots');
  const pipeline = pipelineFor(b.brokers, { worker: { http_port: 0, stats_interval_s: 3600, snapshots: { dir: snapDir } } });
  const t = pipeline.kafka.topics;
  await createTopic(b.brokers, t.readings, PARTITIONS);
  for (const topic of [t.meters, t.sites, t.cases, t.peers, t.feedback]) await createTopic(b.brokers, topic, 1);
  const lastDay = parseDate('2026-09-30')!;
  const tGen = performance.now();
  const p = kafkaOf(b.brokers).producer();
  await p.connect();
  // the year before the snapshots: never read by a new worker, so any rows will do
  for (let i = 0; i < stale; i += 50_000) {
    await sendAll(p, t.peers, Array.from({ length: Math.min(50_000, stale - i) }, (_, k) => ({ key: `${meterId((i + k) % meters)}|old`, value: JSON.stringify({ meter_id: meterId((i + k) % meters), day: formatDate(lastDay - (1 + ((i + k) % 300)) * DAY_MS), kwh_day: 9.5, profiled: true, work_kw: 0.4 }) })));
  }
  await writeSnapshots(snapDir, t.readings, t.peers, meters, days, lastDay, stale);
  // the tail: the day after the snapshots, every meter's peer row, then each partition's marker
  const tail = formatDate(lastDay + DAY_MS);
  await sendAll(p, t.peers, Array.from({ length: meters }, (_, m) => ({ key: `${meterId(m)}|${tail}`, value: JSON.stringify({ meter_id: meterId(m), day: tail, kwh_day: 10.2, profiled: true, work_kw: 0.5 }) })));
  await sendAll(p, t.peers, Array.from({ length: PARTITIONS }, (_, q) => ({ key: `closed|${q}`, value: JSON.stringify({ partition: q, closed_through: tail }) })));
  await sendAll(p, t.meters, Array.from({ length: meters }, (_, m) => ({ key: meterId(m), value: JSON.stringify({ meter_id: meterId(m), street: `街道${m % 12}`, community: `社区${m % 240}`, category: m % 20 === 0 ? 'commercial' : 'resident', contract_kva: 8 }) })));
  await sendAll(p, t.sites, Array.from({ length: sites }, (_, i) => ({ key: `SITE-${i}`, value: JSON.stringify({ case_no: `SITE-${i}`, meter_id: meterId(i * 97), street: `街道${(i * 97) % 12}`, measure: '关停取缔', status: '整改中', power_cut_at: '2026-06-01 00:00:00' }) })));
  await sendAll(p, t.cases, Array.from({ length: cases }, (_, i) => {
    const day = `${formatDate(lastDay - (i % 60) * DAY_MS)}T00:00:00+08:00`;
    return { key: `C-${i}`, value: JSON.stringify({
      case_id: `C-${i}`, clue_source: '电力数据筛查', detector: 'step_up', family: 'workshop', problem_type: '疑似散乱污', meter_id: meterId(i * 41), site_case_no: null,
      account_name: '', address: '', street: `街道${(i * 41) % 12}`, score: 0.8, episode_start: day, window_start: day, window_end: day, detected_at: day,
      evidence: { step_up: { level_kwh: 60 } }, summary_zh: '用电量阶跃', status: 'new', revision: 1,
    }) };
  }));
  await p.disconnect();
  b.say(`new worker start: district set up (${meters.toLocaleString('en-US')} meters, ${PARTITIONS} partitions' snapshots with ${days} days of peer rows, ${stale.toLocaleString('en-US')} older peer messages before them) in ${((performance.now() - tGen) / 1000).toFixed(1)} s`);

  const w = new Worker(pipeline, { dbPath: join(b.dir, 'new-worker.duckdb'), log: createLogger('error') });
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 100);
  const t0 = performance.now();
  try {
    await w.start();
    const started = performance.now() - t0;
    const deadline = Date.now() + 600_000;
    while (w.readyAfterMs === undefined && Date.now() < deadline) await sleep(100);
    if (w.readyAfterMs === undefined) throw new Error('the new worker was not ready within 10 minutes');
    b.say(`new worker start with ${days} days of peers for ${meters.toLocaleString('en-US')} meters: start() ${(started / 1000).toFixed(1)} s, ready to judge ${(w.readyAfterMs / 1000).toFixed(1)} s after start (target ≤ 30 s); peer messages read ${w.counters.peer_messages_read.toLocaleString('en-US')} (the tail: ${(meters + PARTITIONS).toLocaleString('en-US')}); peak RSS ${Math.round(peak / 2 ** 20)} MiB (${Math.round(rss0 / 2 ** 20)} before)`);
  } finally {
    clearInterval(sampler);
    await w.stop();
  }
}
