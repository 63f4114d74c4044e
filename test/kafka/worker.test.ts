/** The worker's behaviour at its edges, each against the real broker with its own topics. */
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { tableToIPC, tableFromArrays } from 'apache-arrow';
import { openDb } from '../../src/store/db.js';
import { loadReference } from '../../src/pipeline/backfill.js';
import { Worker } from '../../src/kafka/worker.js';
import { freePort, SASL_USERS } from '../../src/kafka/localBroker.js';
import { ARROW_CONTENT_TYPE } from '../../src/kafka/decode.js';
import { seriesReadings } from '../../src/core/sqlCase.js';
import { formatLocal, DAY_MS, parseDate } from '../../src/time.js';
import type { Pipeline } from '../../src/config/pipeline.js';
import { tempDir } from '../helpers.js';
import { execFile } from 'node:child_process';
import { hashPassword, saveAccounts, usersFileFor } from '../../src/console/users.js';
import { createTopic, kafka, readTopic, testPipeline, waitCaughtUp } from './helpers.js';
import { capturingLogger } from '../support/log.js';
import type { ParsedMail } from 'mailparser';
import { backfillSmallDistrict, startSmtp } from '../support/delivery.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

async function started(pipeline: Pipeline, name: string, opts: { meters?: string; idle?: number } = {}) {
  const dbPath = join(tmp.dir, `${name}.duckdb`);
  await createTopic(pipeline.kafka.topics.readings);
  const { log, lines } = capturingLogger();
  const w = new Worker(pipeline, { dbPath, log, idleCloseS: opts.idle ?? 1 });
  await w.start();
  return { w, dbPath, lines };
}

async function produce(topic: string, messages: { key?: string; value: Buffer | string; headers?: Record<string, string> }[]) {
  const p = kafka().producer();
  await p.connect();
  await p.send({ topic, messages });
  await p.disconnect();
}

const reading = (meter_id: string, ts: string, kwh: number) => JSON.stringify({ meter_id, ts, kwh });

async function storedCount(dbPath: string): Promise<number> {
  const db = await openDb(dbPath);
  try { return Number((await db.con.runAndReadAll(`select count(*) n from readings`)).getRowObjectsJS()[0]!.n); } finally { db.close(); }
}

describe('worker edges', () => {
  it('poison messages land on the DLQ with their bytes and a reason, and the worker goes on', async () => {
    const pipeline = testPipeline();
    const { w, dbPath } = await started(pipeline, 'poison');
    const arrow = Buffer.from(tableToIPC(tableFromArrays({ meter_id: ['m1', 'm2'], kwh: new Float64Array([1, 2]) }), 'stream'));
    const big = Buffer.alloc(5 * 1024 * 1024, 0x20);
    const poison = [
      { key: 'a', value: 'this is not json {' },
      { key: 'b', value: JSON.stringify({ meter_id: 3501, ts: '2026-11-21T08:15:00+08:00', kwh: 'lots' }) },
      { key: 'c', value: arrow.subarray(0, arrow.length - 24), headers: { 'content-type': ARROW_CONTENT_TYPE } },
      { key: 'd', value: big },
    ];
    for (const m of poison) await produce(pipeline.kafka.topics.readings, [m]);
    await produce(pipeline.kafka.topics.readings, [{ key: 'm9', value: reading('m9', '2026-11-21T08:15:00+08:00', 0.5) }]);
    await waitCaughtUp(pipeline.kafka.group_id, pipeline.kafka.topics.readings);
    await w.stop();
    const dlq = await readTopic(pipeline.kafka.topics.dlq);
    const byKey = new Map(dlq.map((m) => [m.key, m]));
    expect(byKey.get('a')!.headers['x-error-reason']).toMatch(/^message: not JSON/);
    expect(byKey.get('a')!.value!.toString()).toBe('this is not json {');
    expect(byKey.get('b')!.headers['x-error-reason']).toMatch(/^meter_id: expected a string/);
    expect(byKey.get('c')!.headers['x-error-reason']).toMatch(/^arrow: /);
    expect(byKey.get('c')!.headers['content-type']).toBe(ARROW_CONTENT_TYPE);
    expect(byKey.get('d')!.headers['x-error-reason']).toMatch(/^message: 5242880 bytes exceeds max_message_bytes/);
    expect(byKey.get('d')!.value!.length).toBe(big.length);
    for (const m of dlq) expect(m.headers['x-source-topic']).toBe(pipeline.kafka.topics.readings);
    expect(dlq.length).toBe(4);
    expect(await storedCount(dbPath)).toBe(1);
  }, 120_000);

  it('a bulk message of ~150k invalid elements (just under max_message_bytes) is dead-lettered once, whole, with the count; no replay loop', async () => {
    const pipeline = testPipeline();
    const { w, dbPath } = await started(pipeline, 'bulk-invalid');
    const element = JSON.stringify({ meter_id: 'X', ts: 'bad' });
    const n = Math.floor((pipeline.kafka.max_message_bytes - 1024) / (element.length + 1));
    const value = `[${Array.from({ length: n }, () => element).join(',')}]`;
    expect(value.length).toBeGreaterThan(3.9 * 1024 * 1024);
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    await produce(pipeline.kafka.topics.readings, [{ key: 'bulk', value }]);
    await produce(pipeline.kafka.topics.readings, [{ key: 'm9', value: reading('m9', '2026-11-21T08:15:00+08:00', 0.5) }]);
    await waitCaughtUp(pipeline.kafka.group_id, pipeline.kafka.topics.readings);
    const seconds = (performance.now() - t0) / 1000;
    const rssGrowthMb = (process.memoryUsage().rss - rss0) / 2 ** 20;
    const counters = { ...w.counters };
    await w.stop();
    // measured, not asserted as a time (machines are shared): printed for the closing note
    console.log(`bulk of ${n} invalid elements (${(value.length / 2 ** 20).toFixed(1)} MiB): ${seconds.toFixed(1)} s to commit, RSS +${rssGrowthMb.toFixed(0)} MiB`);
    expect(counters.readings_rejected).toBe(n);
    expect(counters.batches).toBeLessThanOrEqual(3);
    const dlq = await readTopic(pipeline.kafka.topics.dlq);
    // the message once (no replay), whole, with the first reason and the count
    expect(dlq.length).toBe(1);
    expect(dlq[0]!.value!.length).toBe(value.length);
    expect(dlq[0]!.headers['x-error-reason']).toMatch(new RegExp(`^ts: .* \\(and ${n - 1} more: ${n} of the message's ${n} elements rejected; the whole message is here\\)$`));
    expect(dlq[0]!.headers['x-rejected-elements']).toBe(String(n));
    expect(await storedCount(dbPath)).toBe(1);
  }, 300_000);

  it('SIGTERM while a rebalance is under way stops cleanly (no unhandled rejection, no exit 1)', async () => {
    const pipeline = testPipeline();
    const a = await started(pipeline, 'rebalance-a');
    await produce(pipeline.kafka.topics.readings, [{ key: 'm1', value: reading('m1', '2026-11-21T08:15:00+08:00', 0.5) }]);
    await waitCaughtUp(pipeline.kafka.group_id, pipeline.kafka.topics.readings);
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      // a second member joins: A is asked to rejoin and gets a new assignment while it stops
      const b = new Worker(pipeline, { dbPath: join(tmp.dir, 'rebalance-b.duckdb'), log: capturingLogger().log, idleCloseS: 1 });
      const joining = b.start();
      await new Promise((r) => setTimeout(r, 300));
      await a.w.stop();
      await joining;
      await new Promise((r) => setTimeout(r, 3000));
      await b.stop();
      expect(unhandled).toEqual([]);
      expect(a.lines.filter((l) => Number(l.level) >= 50)).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  }, 120_000);

  it('a site added on registry.sites while the worker runs is monitored from then on', async () => {
    const pipeline = testPipeline();
    const { w } = await started(pipeline, 'registry');
    // a site's meter: production, dark after 1 Oct, drawing again from 20 Oct — but nobody has told the worker it was cut
    const series = seriesReadings({ meter_id: 'S1', start: '2026-09-01', interval_min: 15, segments: [
      { days: 30.5, kw: 1, bands: [[8, 18, 20]], weekdays: [1, 2, 3, 4, 5, 6], wobble: 0 },
      { days: 18.8333333, kw: 0, bands: [], weekdays: [1, 2, 3, 4, 5, 6, 7], wobble: 0 },
      { days: 3, kw: 0, bands: [[8, 18, 12]], weekdays: [1, 2, 3, 4, 5, 6, 7], wobble: 0 },
    ] });
    const p = kafka().producer();
    await p.connect();
    for (let i = 0; i < series.length; i += 2000) {
      await p.send({ topic: pipeline.kafka.topics.readings, messages: [{ key: 'S1', value: JSON.stringify(series.slice(i, i + 2000).map((r) => ({ meter_id: r.meter_id, ts: formatLocal(r.ts_ms), kwh: r.kwh }))) }] });
    }
    await waitCaughtUp(pipeline.kafka.group_id, pipeline.kafka.topics.readings);
    await new Promise((r) => setTimeout(r, 3000));
    expect((await readTopic(pipeline.kafka.topics.cases, 1500)).filter((m) => m.key)).toEqual([]);
    await p.send({ topic: pipeline.kafka.topics.sites, messages: [{ key: 'GL-LIVE-1', value: JSON.stringify({ case_no: 'GL-LIVE-1', meter_id: 'S1', site_name: '某五金作坊', measure: '关停取缔', status: '已整改', power_cut_at: '2026-10-01T12:00:00+08:00' }) }] });
    await p.disconnect();
    let cases: { key: string; value: Buffer | null }[] = [];
    for (let i = 0; i < 30 && !cases.length; i++) cases = await readTopic(pipeline.kafka.topics.cases, 1000);
    await w.stop();
    expect(cases.length).toBeGreaterThan(0);
    const c = JSON.parse(cases[0]!.value!.toString());
    expect(c).toMatchObject({ detector: 'restored_power', site_case_no: 'GL-LIVE-1', meter_id: 'S1', detected_at: '2026-10-20T09:00:00+08:00', account_name: '某五金作坊' });
  }, 120_000);

  it('a new worker is ready to judge only once the meters topic is read to where it ended at start', async () => {
    const pipeline = testPipeline();
    const meters = 100_000;
    await createTopic(pipeline.kafka.topics.meters, 1, true);
    const p = kafka().producer();
    await p.connect();
    for (let i = 0; i < meters; i += 10_000) {
      await p.send({ topic: pipeline.kafka.topics.meters, messages: Array.from({ length: 10_000 }, (_, k) => ({ key: `R${i + k}`, value: JSON.stringify({ meter_id: `R${i + k}`, street: `s${(i + k) % 9}`, category: 'resident', contract_kva: 8 }) })) });
    }
    await p.disconnect();
    const { w, lines } = await started(pipeline, 'ready');
    for (let i = 0; i < 240 && w.readyAfterMs === undefined; i++) await new Promise((r) => setTimeout(r, 250));
    await w.stop();
    const ready = lines.findIndex((l) => l.msg === 'ready: registry topics and owned partitions read');
    expect(ready).toBeGreaterThan(-1);
    expect(lines[ready]!.ms_since_start).toBe(w.readyAfterMs);
    // every meter was applied before: a close before that would judge meters of no known street or contract
    const applied = lines.slice(0, ready).filter((l) => l.msg === 'registry updated' && l.topic === pipeline.kafka.topics.meters).reduce((n, l) => n + Number(l.applied), 0);
    expect(applied).toBe(meters);
  }, 120_000);

  it('a late reading for a closed day still lands and re-runs the day-level detectors', async () => {
    const pipeline = testPipeline();
    const { w, lines } = await started(pipeline, 'late', { idle: 1 });
    const day = (d: number) => formatLocal(parseDate('2026-09-01')! + (d + 1) * DAY_MS);
    const msgs: string[] = [];
    for (const m of ['L1', 'P1', 'P2', 'P3']) for (let d = 0; d < 55; d++) {
      if (m === 'L1' && d >= 40 && d < 50) continue; // these days come late
      msgs.push(JSON.stringify({ meter_id: m, ts: day(d), kwh: 8 + (d % 3), interval_min: 1440 }));
    }
    await produce(pipeline.kafka.topics.readings, msgs.map((value) => ({ value })));
    await waitCaughtUp(pipeline.kafka.group_id, pipeline.kafka.topics.readings);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await readTopic(pipeline.kafka.topics.cases, 1000)).toEqual([]);
    // ten days of a workshop's consumption arrive late, after their days were closed
    await produce(pipeline.kafka.topics.readings, Array.from({ length: 10 }, (_, i) => ({ value: JSON.stringify({ meter_id: 'L1', ts: day(40 + i), kwh: 90, interval_min: 1440 }) })));
    await waitCaughtUp(pipeline.kafka.group_id, pipeline.kafka.topics.readings);
    let cases: { value: Buffer | null }[] = [];
    for (let i = 0; i < 20 && !cases.length; i++) cases = await readTopic(pipeline.kafka.topics.cases, 1000);
    await w.stop();
    expect(cases.map((m) => JSON.parse(m.value!.toString())).map((c) => [c.meter_id, c.detector, c.episode_start])).toEqual([['L1', 'step_up', '2026-10-11T00:00:00+08:00']]);
    // the late days were judged again for L1 and its peer group (the four meters), not from scratch
    expect(lines.filter((l) => String(l.msg).startsWith('late inputs')).map((l) => l.rejudged_meters)).toContain(4);
  }, 120_000);

  it('a restarted worker reads its own peer rows and only the tail of the peers topic, and still judges with them', async () => {
    const pipeline = testPipeline();
    const first = await started(pipeline, 'peers-tail', { idle: 1 });
    const day = (d: number) => formatLocal(parseDate('2026-09-01')! + (d + 1) * DAY_MS);
    const days = (from: number, to: number, kwh: (m: string, d: number) => number) =>
      ['L1', 'P1', 'P2', 'P3'].flatMap((m) => Array.from({ length: to - from }, (_, i) => ({ key: m, value: JSON.stringify({ meter_id: m, ts: day(from + i), kwh: kwh(m, from + i), interval_min: 1440 }) })));
    await produce(pipeline.kafka.topics.readings, days(0, 45, (_m, d) => 8 + (d % 3)));
    await waitCaughtUp(pipeline.kafka.group_id, pipeline.kafka.topics.readings);
    // the day close publishes the meters' peer rows and a marker
    let onTopic = 0;
    for (let i = 0; i < 30 && onTopic < 4 * 44; i++) onTopic = (await readTopic(pipeline.kafka.topics.peers, 1000)).length;
    await first.w.stop();
    expect(onTopic).toBeGreaterThanOrEqual(4 * 44);
    const { log, lines } = capturingLogger();
    const again = new Worker(pipeline, { dbPath: first.dbPath, log, idleCloseS: 1 });
    await again.start();
    // ten days of a workshop on L1: step_up judges them against peer rows and markers read before the restart
    await produce(pipeline.kafka.topics.readings, days(45, 55, (m, d) => (m === 'L1' ? 90 : 8 + (d % 3))));
    await waitCaughtUp(pipeline.kafka.group_id, pipeline.kafka.topics.readings);
    let cases: { value: Buffer | null }[] = [];
    for (let i = 0; i < 30 && !cases.length; i++) cases = await readTopic(pipeline.kafka.topics.cases, 1000);
    const read = again.counters.peer_messages_read;
    await again.stop();
    expect(lines.some((l) => l.msg === 'peers topic read from where the store left off')).toBe(true);
    // what the first run left on the topic is not read again: only what was published since
    expect(read).toBeLessThan(onTopic / 2);
    expect(cases.map((m) => JSON.parse(m.value!.toString())).map((c) => [c.meter_id, c.detector, c.episode_start])).toEqual([['L1', 'step_up', '2026-10-16T00:00:00+08:00']]);
  }, 180_000);

  it('a worker that gains a partition restores it from the snapshot and replays only the messages after it', async () => {
    const snapDir = join(tmp.dir, 'snapshots');
    const pipeline = testPipeline({ worker: { http_port: 0, stats_interval_s: 3600, snapshots: { dir: snapDir } } });
    await createTopic(pipeline.kafka.topics.readings, 2);
    const first = await started(pipeline, 'snap-a', { idle: 1 });
    const day = (d: number) => formatLocal(parseDate('2026-09-01')! + (d + 1) * DAY_MS);
    const meters = ['L1', 'P1', 'P2', 'P3', 'Q1', 'Q2'];
    const days = (from: number, to: number, kwh: (m: string, d: number) => number) =>
      meters.flatMap((m) => Array.from({ length: to - from }, (_, i) => ({ key: m, value: JSON.stringify({ meter_id: m, ts: day(from + i), kwh: kwh(m, from + i), interval_min: 1440 }) })));
    await produce(pipeline.kafka.topics.readings, days(0, 45, (_m, d) => 8 + (d % 3)));
    await waitCaughtUp(pipeline.kafka.group_id, pipeline.kafka.topics.readings);
    const { readSnapshotManifest } = await import('../../src/store/partitionSnapshot.js');
    const manifests = () => [0, 1].map((p) => readSnapshotManifest(snapDir, pipeline.kafka.topics.readings, p));
    for (let i = 0; i < 60 && !manifests().every((m) => m && m.closed_day_ms >= parseDate('2026-10-14')!); i++) await new Promise((r) => setTimeout(r, 500));
    await first.w.stop();
    const snaps = manifests();
    expect(snaps.every((m) => m !== undefined)).toBe(true);
    expect(snaps.reduce((n, m) => n + m!.meters, 0)).toBe(meters.length);
    expect(snaps.reduce((n, m) => n + Number(m!.next_offset), 0)).toBe(meters.length * 45);
    // each names where its writer stood on the peers topic
    expect(snaps.every((m) => m!.peers?.topic === pipeline.kafka.topics.peers && m!.peers.offsets.length === 1)).toBe(true);
    const peersOnTopic = (await readTopic(pipeline.kafka.topics.peers, 1000)).length;
    // ten more days arrive while no worker runs; a worker with an empty database takes over
    await produce(pipeline.kafka.topics.readings, days(45, 55, (m, d) => (m === 'L1' ? 90 : 8 + (d % 3))));
    const { log, lines } = capturingLogger();
    const dbPath = join(tmp.dir, 'snap-b.duckdb');
    const second = new Worker(pipeline, { dbPath, log, idleCloseS: 1 });
    await second.start();
    await waitCaughtUp(pipeline.kafka.group_id, pipeline.kafka.topics.readings);
    let cases: { value: Buffer | null }[] = [];
    for (let i = 0; i < 30 && !cases.some((c) => JSON.parse(c.value!.toString()).meter_id === 'L1'); i++) cases = await readTopic(pipeline.kafka.topics.cases, 1000);
    const read = second.counters.readings_read;
    const peersRead = second.counters.peer_messages_read;
    await second.stop();
    expect(lines.filter((l) => l.msg === 'partition restored from its snapshot; replaying the messages after it')).toHaveLength(2);
    // the new worker took the peer rows from the snapshots and read the peers topic only after them
    expect(lines.some((l) => l.msg === 'peer rows loaded from the partitions\' snapshots; peers topic read from their offsets')).toBe(true);
    expect(peersOnTopic).toBeGreaterThanOrEqual(meters.length * 44);
    expect(peersRead).toBeLessThan(peersOnTopic / 2);
    // only the tail was read from Kafka; the history came from the snapshots
    expect(read).toBe(meters.length * 10);
    // raw readings from the snapshots' raw tail (worker.snapshots.raw_days) on; the rollups below hold every day
    const rawFrom = Math.max(...snaps.map((m) => m!.raw_from_ms!));
    const rawDays = Array.from({ length: 55 }, (_, d) => parseDate('2026-09-01')! + (d + 1) * DAY_MS).filter((t) => t > rawFrom).length;
    expect(rawDays).toBeLessThan(55);
    expect(await storedCount(dbPath)).toBe(meters.length * rawDays);
    const db = await openDb(dbPath);
    try {
      const daily = (await db.con.runAndReadAll(`select count(*) n, sum(kwh) kwh from meter_daily`)).getRowObjectsJS()[0]!;
      let total = 0;
      for (const m of meters) for (let d = 0; d < 55; d++) total += m === 'L1' && d >= 45 ? 90 : 8 + (d % 3);
      expect(Number(daily.n)).toBe(meters.length * 55);
      expect(Number(daily.kwh)).toBeCloseTo(total, 6);
    } finally {
      db.close();
    }
    // one case (its revisions grow as the days come in), as a worker that had read everything raises
    const l1 = cases.map((m) => JSON.parse(m.value!.toString())).filter((c) => c.meter_id === 'L1');
    expect([...new Set(l1.map((c) => `${c.case_id}|${c.detector}|${c.episode_start}`))]).toEqual([expect.stringMatching(/\|step_up\|2026-10-16T00:00:00\+08:00$/)]);
  }, 240_000);

  it.each([
    ['plain', SASL_USERS.plain],
    ['scram-sha-256', SASL_USERS.scram],
  ] as const)('connects through a SASL listener (%s)', async (mechanism, user) => {
    const sasl = inject('kafkaSaslBrokers');
    expect(sasl, 'the test broker has a SASL listener').not.toBe('');
    const base = testPipeline();
    const pipeline = { ...base, kafka: { ...base.kafka, brokers: [sasl], sasl: { mechanism, username: user.username, password: user.password } } } as Pipeline;
    const { w, dbPath } = await started(pipeline, `sasl-${mechanism}`);
    await produce(pipeline.kafka.topics.readings, [{ key: 'm1', value: reading('m1', '2026-11-21T08:15:00+08:00', 0.4) }]);
    await waitCaughtUp(pipeline.kafka.group_id, pipeline.kafka.topics.readings);
    await w.stop();
    expect(await storedCount(dbPath)).toBe(1);
  }, 120_000);

  it('a wrong SASL password fails to start with a clear error', async () => {
    const base = testPipeline();
    const pipeline = { ...base, kafka: { ...base.kafka, brokers: [inject('kafkaSaslBrokers')], connect_timeout_s: 2, sasl: { mechanism: 'plain', username: 'powerscreen', password: 'wrong' } } } as Pipeline;
    const { log } = capturingLogger();
    const w = new Worker(pipeline, { dbPath: join(tmp.dir, 'badauth.duckdb'), log });
    await expect(w.start()).rejects.toThrow(/unreachable: .*(SASL|[Aa]uthentication)/);
  }, 60_000);

  it('a broker that is down at start: a clear log line, retries with backoff, then a clear error', async () => {
    const port = await freePort();
    const base = testPipeline();
    const pipeline = { ...base, kafka: { ...base.kafka, brokers: [`127.0.0.1:${port}`], connect_timeout_s: 4 } } as Pipeline;
    const { log, lines } = capturingLogger();
    const w = new Worker(pipeline, { dbPath: join(tmp.dir, 'down.duckdb'), log });
    await expect(w.start()).rejects.toThrow(new RegExp(`Kafka brokers 127\\.0\\.0\\.1:${port} unreachable`));
    const retries = lines.filter((l) => l.msg === 'Kafka unreachable, retrying');
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(retries[0]).toMatchObject({ brokers: [`127.0.0.1:${port}`], retry_in_s: 1 });
  }, 60_000);

  it('serves the console while readings stream: no lock fight, pages and the CLI see new cases, a verdict goes to the feedback topic', async () => {
    const port = await freePort();
    const base = testPipeline();
    const pipeline = { ...base, worker: { ...base.worker, http_port: port } } as Pipeline;
    const { w, dbPath } = await started(pipeline, 'console', { idle: 1 });
    saveAccounts(usersFileFor(dbPath), [{ username: 'district', role: 'district', hash: await hashPassword('console-pass-1'), created_at: '2026-11-23T00:00:00+08:00' }]);
    const day = (d: number) => formatLocal(parseDate('2026-09-01')! + (d + 1) * DAY_MS);
    const msgs: string[] = [];
    for (const m of ['L1', 'P1', 'P2', 'P3']) for (let d = 0; d < 55; d++) if (!(m === 'L1' && d >= 40)) msgs.push(JSON.stringify({ meter_id: m, ts: day(d), kwh: 8 + (d % 3), interval_min: 1440 }));
    await produce(pipeline.kafka.topics.readings, msgs.map((value) => ({ value })));
    await waitCaughtUp(pipeline.kafka.group_id, pipeline.kafka.topics.readings);
    // a browser session: login form, CSRF cookie, session cookie
    const base_url = `http://127.0.0.1:${port}`;
    const jar = new Map<string, string>();
    const get = async (path: string, init: RequestInit = {}) => {
      const r = await fetch(base_url + path, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
      for (const c of r.headers.getSetCookie()) { const [kv] = c.split(';'); jar.set(kv!.slice(0, kv!.indexOf('=')), kv!.slice(kv!.indexOf('=') + 1)); }
      return r;
    };
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await (await get('/login')).text())![1]!;
    const login = await get('/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ username: 'district', password: 'console-pass-1', _csrf: csrf }).toString() });
    expect(login.status).toBe(303);
    const quiet = await (await get('/list?days=60')).text();
    expect(quiet).toContain('数据截至 <b>2026-10-2');
    expect(quiet).not.toContain('data-case=');
    // the CLI beside the running worker goes through its API (the worker holds the DuckDB lock)
    const cli = (...a: string[]) => new Promise<{ code: number; out: string; err: string }>((res) => execFile(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'powerscreen.js'), ...a], { encoding: 'utf8' }, (e, out, err) => res({ code: e ? Number(e.code ?? 1) : 0, out, err })));
    const before = await cli('report', 'daily', '--db', dbPath, '--days', '60');
    expect(before.err).toContain('via the running worker');
    expect(before.code, before.err).toBe(0);
    // a workshop's days arrive: the page shows the new case without a restart
    await produce(pipeline.kafka.topics.readings, Array.from({ length: 15 }, (_, i) => ({ value: JSON.stringify({ meter_id: 'L1', ts: day(40 + i), kwh: 90, interval_min: 1440 }) })));
    let page = '';
    for (let i = 0; i < 60 && !page.includes('data-case='); i++) {
      await new Promise((r) => setTimeout(r, 1000));
      page = await (await get('/list?days=60')).text();
    }
    const caseId = /data-case="([^"]+)"/.exec(page)![1]!;
    expect((await cli('report', 'daily', '--db', dbPath, '--days', '60')).out).toContain(caseId);
    const fb = await cli('feedback', caseId, 'confirmed', '--note', '现场核实', '--db', dbPath);
    expect(fb.code, fb.err).toBe(0);
    const verdicts = (await readTopic(pipeline.kafka.topics.feedback, 1500)).map((m) => JSON.parse(m.value!.toString()));
    expect(verdicts).toMatchObject([{ case_id: caseId, verdict: 'confirmed', note: '现场核实' }]);
    expect(verdicts[0].verdict_id).toMatch(/^[0-9a-f-]{36}$/);
    // the worker re-reads its own verdict from the topic: applied once, not twice
    await new Promise((r) => setTimeout(r, 2000));
    await w.stop();
    const db = await openDb(dbPath);
    try {
      expect(Number((await db.con.runAndReadAll(`select count(*) n from case_feedback where case_id = $id`, { id: caseId })).getRowObjectsJS()[0]!.n)).toBe(1);
    } finally { db.close(); }
  }, 180_000);

  it('serves /healthz and /metrics while running', async () => {
    const port = await freePort();
    const base = testPipeline();
    const pipeline = { ...base, worker: { ...base.worker, http_port: port } } as Pipeline;
    const { w } = await started(pipeline, 'ops');
    await produce(pipeline.kafka.topics.readings, [{ key: 'm1', value: reading('m1', '2026-11-21T08:15:00+08:00', 0.4) }]);
    await waitCaughtUp(pipeline.kafka.group_id, pipeline.kafka.topics.readings);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', running: true });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/^powerscreen_readings_read 1$/m);
    expect(metrics).toMatch(/^powerscreen_consumer_lag\{partition="0"\} 0$/m);
    await w.stop();
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  }, 60_000);

  it('writes the daily list itself at the configured time, once the store reaches its day', async () => {
    const pipeline = testPipeline();
    const dir = join(tmp.dir, 'reports');
    const p2 = { ...pipeline, worker: { ...pipeline.worker, report_dir: dir, report_time: '07:00' } } as Pipeline;
    const dbPath = join(tmp.dir, 'report.duckdb');
    const db = await openDb(dbPath);
    await loadReference(db, join(import.meta.dirname, '..', '..', 'fixtures', 'small', 'meters.csv'));
    db.close();
    await createTopic(p2.kafka.topics.readings);
    const { log, lines } = capturingLogger();
    const w = new Worker(p2, { dbPath, log, nowLocal: () => parseDate('2026-11-22')! + 7 * 3600_000 + 60_000 });
    await w.start();
    // the list is due, but the store does not reach its day yet: not written, and not given up on
    for (let i = 0; i < 20 && !lines.some((l) => String(l.msg).startsWith('daily list not written')); i++) await new Promise((r) => setTimeout(r, 250));
    expect(lines.filter((l) => String(l.msg).startsWith('daily list not written'))).toHaveLength(1);
    await produce(p2.kafka.topics.readings, [{ key: 'm1', value: reading('3501020000902', '2026-11-21T08:15:00+08:00', 0.4) }]);
    for (let i = 0; i < 40 && !lines.some((l) => l.msg === 'daily list written'); i++) await new Promise((r) => setTimeout(r, 250));
    await w.stop();
    const csvFile = join(dir, 'suspects-2026-11-21.csv');
    const htmlFile = join(dir, 'suspects-2026-11-21.html');
    // the files themselves, not the log line: owner-only, the CSV with its BOM and 排查明细表 header
    const csv = readFileSync(csvFile, 'utf8');
    const csvLines = csv.split(/\r?\n/);
    expect(csvLines[0]).toBe('\uFEFF散乱污企业（场所）排查明细表 — 电力数据筛查 2026-11-21');
    expect(csvLines[2]!.startsWith('序号,报送日期,街道（镇）、管委会,社区/网格,案件编号')).toBe(true);
    expect(readFileSync(htmlFile, 'utf8')).toContain('排查明细表 — 电力数据筛查 2026-11-21');
    for (const f of [csvFile, htmlFile]) expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(lines.filter((l) => l.msg === 'daily list written')).toHaveLength(1);
  }, 60_000);

  it('e-mails each street its new cases at the configured time, and counts what it sent', async () => {
    // a real SMTP server on a socket; the database holds the small district's cases (a backfill)
    const mails: ParsedMail[] = [];
    const smtpPort = await freePort();
    const smtp = await startSmtp(smtpPort, mails);
    try {
      const dbPath = join(tmp.dir, 'deliver.duckdb');
      await backfillSmallDistrict(dbPath);
      const pipeline = testPipeline({ delivery: { time: '07:30', smtp: { host: '127.0.0.1', port: smtpPort, from: 'powerscreen@district.example' }, recipients: { 鼓东街道: ['gudong@street.example'] } } });
      await createTopic(pipeline.kafka.topics.readings);
      const { log } = capturingLogger();
      const w = new Worker(pipeline, { dbPath, log, nowLocal: () => parseDate('2026-10-21')! + 7 * 3600_000 + 31 * 60_000 });
      await w.start();
      for (let i = 0; i < 80 && w.counters.deliveries_sent < 1; i++) await new Promise((r) => setTimeout(r, 250));
      await w.stop();
      expect(w.counters.deliveries_sent).toBe(1);
      expect(w.counters.delivery_failures).toBe(0);
      expect(mails).toHaveLength(1);
      expect(mails[0]!.subject).toBe('【电力数据筛查】鼓东街道 新线索（2026-10-20） 1 条');
    } finally {
      await smtp.close();
    }
  }, 90_000);
});

describe('state restore', () => {
  it('a worker whose DuckDB holds nothing for a partition replays it from the earliest retained offset', async () => {
    const pipeline = testPipeline();
    const first = await started(pipeline, 'restore-a');
    const msgs = Array.from({ length: 500 }, (_, i) => ({ key: 'm1', value: reading('m1', formatLocal(parseDate('2026-11-01')! + (i + 1) * 900_000), 0.1) }));
    await produce(pipeline.kafka.topics.readings, msgs);
    await waitCaughtUp(pipeline.kafka.group_id, pipeline.kafka.topics.readings);
    await first.w.stop();
    expect(await storedCount(first.dbPath)).toBe(500);
    // the same group, a new database: the group has committed everything, yet the history comes back
    const { log, lines } = capturingLogger();
    const dbPath = join(tmp.dir, 'restore-b.duckdb');
    const second = new Worker(pipeline, { dbPath, log, idleCloseS: 1 });
    await second.start();
    await produce(pipeline.kafka.topics.readings, [{ key: 'm1', value: reading('m1', formatLocal(parseDate('2026-11-10')! + 900_000), 0.1) }]);
    await waitCaughtUp(pipeline.kafka.group_id, pipeline.kafka.topics.readings);
    await second.stop();
    expect(lines.some((l) => l.msg === 'no stored state for this partition: replaying it from the earliest retained offset')).toBe(true);
    expect(await storedCount(dbPath)).toBe(501);
  }, 120_000);
});
