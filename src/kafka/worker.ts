/**
 * The streaming worker: Kafka in, the same screening core as backfill, cases out.
 *
 * Exactly-once into DuckDB: each batch's readings and the partition's next offset are written in
 * one DuckDB transaction, and only then is the offset committed to Kafka. On (re)assignment the
 * consumer seeks to the offsets DuckDB holds, and messages below them are skipped, so a crash at
 * any point neither loses a batch nor stores it twice. Cases go through an outbox table written in
 * the same transaction as the case registry, so a crash between commit and produce republishes.
 *
 * Scale-out: several workers in one consumer group, each with its own DuckDB file, share the
 * readings topic's partitions. A worker holds only its partitions' meters; what it must know beyond
 * them arrives on topics every worker reads whole:
 *  - registry.meters / registry.sites / registry.feedback (reference data);
 *  - the cases topic: every case any worker raised, so a worker that gains a partition knows the
 *    cases already raised for its meters (re-detecting one is then "unchanged", not a new case);
 *  - the peers topic (one partition): each worker's meters' peer_daily rows, then a marker per
 *    readings partition saying it is prepared through a day. Day-level detectors judge a day only
 *    when every partition is, so peer medians cover all meters, as one worker holding all would.
 * A partition gained is replayed from the earliest retained offset (state rebuilt) and nothing is
 * judged until that replay and the cases topic are caught up; a partition lost has its meters'
 * readings and rollups dropped.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { Kafka, type Consumer, type EachBatchPayload, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { Pipeline } from '../config/pipeline.js';
import { openDb, type Db } from '../store/db.js';
import { ReadingStore } from '../store/readingStore.js';
import { upsertMeters, upsertSites } from '../store/reference.js';
import { markPublished, mergeCases, pendingOutbox } from '../store/caseStore.js';
import { refreshPeers, type PeerRow } from '../store/detectors.js';
import { applyPeerRows } from '../store/peers.js';
import { applyFeedback } from '../store/feedback.js';
import { Ingestor } from '../pipeline/ingest.js';
import { screen, lastCompleteDay } from '../pipeline/screen.js';
import { MemoryRejectSink } from '../sinks/rejects.js';
import { meterSchema, siteSchema } from '../contracts/registry.js';
import { decodeMessage } from './decode.js';
import { createKafka, brokersOf, kafkaConfig } from './client.js';
import { startOpsServer } from './ops.js';
import { PowerscreenError } from '../errors.js';
import { DAY_MS, MINUTE_MS, formatDate, nowLocalMs, parseDate } from '../time.js';
import { dailyList } from '../cli/commands/report.js';
import { writePrivateFile } from '../sinks/private.js';
import type { RawBatch } from '../io/readers.js';
import type { Reading } from '../contracts/reading.js';
import type { Case, Detector } from '../core/types.js';

const SITE_DETECTORS: Detector[] = ['restored_power', 'resumed_production'];

export interface WorkerOptions {
  dbPath: string;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** Close complete days after this long without new readings (wall clock); 0 = never. */
  idleCloseS?: number;
  /** Wall clock for the daily report (tests move it). */
  nowLocal?: () => number;
}

export class Worker {
  readonly kafka: Kafka;
  private db!: Db;
  private store!: ReadingStore;
  private ingestor!: Ingestor;
  private consumer!: Consumer;
  private registry!: Consumer;
  private producer!: Producer;
  private server: Server | undefined;
  private timers: NodeJS.Timeout[] = [];
  private lock: Promise<unknown> = Promise.resolve();
  private offsets = new Map<number, bigint>();
  /** Partitions whose seek has not yet taken effect: a batch fetched before it is dropped (kafkajs refetches). */
  private pendingSeek = new Map<number, bigint>();
  private watermarks = new Map<number, number>();
  private lags = new Map<number, number>();
  private monitored = new Set<string>();
  private lastClosedDay = -Infinity;
  /** The last day this worker's partitions are prepared through (peer rows published, markers sent). */
  private lastPreparedDay = -Infinity;
  /** Readings arrived for a day already prepared: the next close re-prepares and re-judges. */
  private lateSinceClose = false;
  /** Another worker's peer rows changed for a day already judged: the next close re-judges. */
  private peersChangedSinceClose = false;
  /** Readings partitions' prepared-through days, as read back from the peers topic (all workers'). */
  private peerMarks = new Map<number, number>();
  /** Readings partitions that held no data at the last assignment: they hold a day back only once they have a marker. */
  private emptyPartitions = new Set<number>();
  private partitionCount = 0;
  /** Catch-up targets after an assignment: nothing is judged until they are reached. */
  private replayTargets = new Map<number, bigint>();
  private casesTargets = new Map<number, bigint>();
  private casesPositions = new Map<number, bigint>();
  private wasRestoring = false;
  /** Partitions were gained: publish markers for them at the next close even if the day has not moved. */
  private mustPrepare = false;
  private lastReadingAt = Date.now();
  private lastReportDate = '';
  private stopping = false;
  private running = false;
  /** performance.now() when the first batch came in (the bench times ingest from there). */
  firstBatchAtMs: number | undefined;
  readonly counters = { readings_read: 0, readings_accepted: 0, readings_rejected: 0, readings_duplicate: 0, dlq_messages: 0, batches: 0, cases_published: 0, screens: 0 };

  constructor(readonly pipeline: Pipeline, readonly opts: WorkerOptions) {
    this.kafka = createKafka(pipeline, opts.log, opts.env);
  }

  private get topics() { return this.pipeline.kafka.topics; }

  /** All DuckDB work goes through one queue: one connection, no interleaving. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }

  async start(): Promise<void> {
    const log = this.opts.log;
    this.db = await openDb(this.opts.dbPath, { memoryLimit: this.pipeline.store.memory_limit, threads: this.pipeline.store.threads });
    this.store = new ReadingStore(this.db);
    this.ingestor = new Ingestor(this.store, new MemoryRejectSink(), this.pipeline.source.interval_min);
    await this.loadState();
    await this.connectWithBackoff();
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
    await this.publishOutbox();
    await this.startRegistry();
    this.consumer = this.kafka.consumer({
      groupId: this.pipeline.kafka.group_id,
      maxBytesPerPartition: this.pipeline.kafka.max_bytes_per_partition,
      maxBytes: this.pipeline.kafka.max_bytes_per_partition * 4,
      sessionTimeout: this.pipeline.kafka.session_timeout_s * 1000,
      heartbeatInterval: 3000,
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => { void this.onAssigned(e.payload.memberAssignment); });
    this.consumer.on(this.consumer.events.CRASH, (e) => log.error({ error: String(e.payload.error), restart: e.payload.restart }, 'consumer crashed'));
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topics.readings, fromBeginning: true });
    await this.consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch: (p) => this.serial(() => this.onBatch(p)) });
    this.running = true;
    if (this.pipeline.worker.http_port) this.server = await startOpsServer(this.pipeline.worker.http_port, { counters: this.counters, gauges: this.gauges(), healthy: () => this.health() });
    this.timers.push(setInterval(() => void this.tick().catch((e) => log.error({ error: String(e) }, 'tick failed')), 1000));
    this.timers.push(setInterval(() => this.logStats(), this.pipeline.worker.stats_interval_s * 1000));
    log.info({ brokers: brokersOf(this.pipeline, this.opts.env), topic: this.topics.readings, group: this.pipeline.kafka.group_id, db: this.opts.dbPath }, 'worker started');
  }

  private async loadState(): Promise<void> {
    for (const [p, o] of await this.store.loadOffsets(this.topics.readings)) {
      this.offsets.set(p, o.next_offset);
      if (o.watermark_ms !== undefined) this.watermarks.set(p, o.watermark_ms);
    }
    for (const r of (await this.db.con.runAndReadAll(`select key, value from worker_state`)).getRowObjectsJS()) {
      if (r.key === 'last_closed_day') this.lastClosedDay = Number(r.value);
      if (r.key === 'last_prepared_day') this.lastPreparedDay = Number(r.value);
    }
    await this.refreshMonitored();
  }

  private async refreshMonitored(): Promise<void> {
    const rows = (await this.db.con.runAndReadAll(`select distinct meter_id from sites where power_cut_at is not null or halt_ordered_at is not null`)).getRowObjectsJS();
    this.monitored = new Set(rows.map((r) => String(r.meter_id)));
  }

  private async connectWithBackoff(): Promise<void> {
    // fail fast per attempt: the loop below does the (logged) backing off
    const admin = new Kafka({ ...kafkaConfig(this.pipeline, this.opts.log, this.opts.env), retry: { retries: 0 } }).admin();
    const deadline = Date.now() + this.pipeline.kafka.connect_timeout_s * 1000;
    for (let wait = 1000; ; wait = Math.min(wait * 2, 30_000)) {
      try {
        await admin.connect();
        break;
      } catch (e) {
        const brokers = brokersOf(this.pipeline, this.opts.env);
        if (this.stopping || Date.now() + wait > deadline) {
          this.opts.log.error({ brokers, error: (e as Error).message }, 'Kafka unreachable, giving up');
          throw new PowerscreenError('BROKER_UNAVAILABLE', `Kafka brokers ${brokers.join(',')} unreachable: ${(e as Error).message}`);
        }
        this.opts.log.warn({ brokers, retry_in_s: wait / 1000, error: (e as Error).message }, 'Kafka unreachable, retrying');
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    try {
      const existing = new Set(await admin.listTopics());
      const compact = [{ name: 'cleanup.policy', value: 'compact' }];
      const wanted = [
        { topic: this.topics.readings }, { topic: this.topics.dlq }, { topic: this.topics.cases },
        { topic: this.topics.meters, configEntries: compact }, { topic: this.topics.sites, configEntries: compact }, { topic: this.topics.feedback, configEntries: compact },
        // one partition: a partition's marker must follow the peer rows it vouches for. Compacted,
        // and deleted after 400 days (longer than any detector window): markers are re-sent daily
        { topic: this.topics.peers, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact,delete' }, { name: 'retention.ms', value: String(400 * 86_400_000) }] },
      ].filter((t) => !existing.has(t.topic));
      if (wanted.length) await admin.createTopics({ topics: wanted, waitForLeaders: true }).catch((e) => this.opts.log.warn({ error: String(e) }, 'could not create topics'));
    } finally {
      await admin.disconnect();
    }
  }

  /** Reference data, cases and peers: every worker reads all of it (its own throwaway group). */
  private async startRegistry(): Promise<void> {
    this.registry = this.kafka.consumer({ groupId: `${this.pipeline.kafka.group_id}-registry-${randomUUID()}` });
    await this.registry.connect();
    await this.registry.subscribe({ topics: [this.topics.meters, this.topics.sites, this.topics.feedback, this.topics.cases, this.topics.peers], fromBeginning: true });
    await this.registry.run({
      eachBatch: ({ batch }) => this.serial(async () => {
        if (batch.topic === this.topics.feedback) return this.applyFeedbackBatch(batch.messages);
        if (batch.topic === this.topics.cases) return this.applyCasesBatch(batch.partition, batch.messages, batch.lastOffset());
        if (batch.topic === this.topics.peers) return this.applyPeersBatch(batch.messages);
        const isSite = batch.topic === this.topics.sites;
        const good: unknown[] = [];
        const dead: { value: Buffer | null; key: Buffer | null; reason: string }[] = [];
        for (const m of batch.messages) {
          if (!m.value) continue; // tombstone: the registry deleted the entry; keep history for old cases
          try {
            const r = (isSite ? siteSchema : meterSchema).safeParse(JSON.parse(m.value.toString('utf8')));
            if (r.success) good.push(r.data);
            else dead.push({ value: m.value, key: m.key, reason: `${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}` });
          } catch (e) {
            dead.push({ value: m.value, key: m.key, reason: `message: not JSON (${(e as Error).message})` });
          }
        }
        if (dead.length) await this.sendDlq(dead.map((d) => ({ ...d, topic: batch.topic, partition: batch.partition, offset: '' })));
        if (isSite) {
          await upsertSites(this.db, good as never);
          await this.refreshMonitored();
          // a new or changed site is checked at once against what the store already holds
          if (good.length) await this.runScreen(SITE_DETECTORS);
        } else await upsertMeters(this.db, good as never);
        this.opts.log.info({ topic: batch.topic, applied: good.length, rejected: dead.length }, 'registry updated');
      }),
    });
  }

  /** Cases from the cases topic (this worker's own come back too: stored only when newer). */
  private async applyCasesBatch(partition: number, messages: { value: Buffer | null }[], lastOffset: string): Promise<void> {
    const cases: Case[] = [];
    for (const m of messages) {
      if (!m.value) continue;
      try {
        cases.push(JSON.parse(m.value.toString('utf8')) as Case);
      } catch (e) {
        this.opts.log.warn({ topic: this.topics.cases, error: (e as Error).message }, 'case message not JSON; skipped');
      }
    }
    const stored = await mergeCases(this.db, cases, Date.now());
    this.casesPositions.set(partition, BigInt(lastOffset) + 1n);
    if (stored) this.opts.log.debug({ stored }, 'cases from other workers stored');
    await this.afterRestore();
  }

  /** Peer rows and partition markers from the peers topic. */
  private async applyPeersBatch(messages: { key: Buffer | null; value: Buffer | null }[]): Promise<void> {
    const rows: PeerRow[] = [];
    const marks: { partition: number; day: number }[] = [];
    for (const m of messages) {
      if (!m.value) continue;
      let v: Record<string, unknown>;
      try {
        v = JSON.parse(m.value.toString('utf8')) as Record<string, unknown>;
      } catch {
        this.opts.log.warn({ topic: this.topics.peers, key: m.key?.toString() }, 'peer message not JSON; skipped');
        continue;
      }
      if (typeof v.closed_through === 'string') marks.push({ partition: Number(v.partition), day: parseDate(v.closed_through)! });
      else rows.push({ meter_id: String(v.meter_id), day_ms: parseDate(String(v.day))!, kwh_day: v.kwh_day as number | null, profiled: Boolean(v.profiled), work_kw: v.work_kw as number | null });
    }
    // rows first: a marker vouches for the rows before it
    const changedDays = await applyPeerRows(this.db, rows);
    if (changedDays.some((d) => d <= this.lastClosedDay)) this.peersChangedSinceClose = true;
    for (const k of marks) if (k.day > (this.peerMarks.get(k.partition) ?? -Infinity)) this.peerMarks.set(k.partition, k.day);
    if (marks.length || this.peersChangedSinceClose) await this.closeDays(false);
  }

  /** Verdicts from registry.feedback (key case_id, value {case_id, verdict, note}); a case another worker owns is skipped. */
  private async applyFeedbackBatch(messages: { value: Buffer | null; key: Buffer | null }[]): Promise<void> {
    for (const m of messages) {
      if (!m.value) continue;
      try {
        const f = JSON.parse(m.value.toString('utf8')) as { case_id?: string; verdict?: string; note?: string };
        await applyFeedback(this.db, String(f.case_id), String(f.verdict), f.note);
        this.opts.log.info({ case_id: f.case_id, verdict: f.verdict }, 'feedback applied');
      } catch (e) {
        this.opts.log.warn({ key: m.key?.toString(), error: (e as Error).message }, 'feedback not applied');
      }
    }
  }

  /**
   * On (re)assignment: seek to the offsets DuckDB holds. A partition DuckDB knows nothing of (a new
   * worker, a lost database file) is replayed from the earliest retained offset, so its history is
   * rebuilt before its days are judged, instead of starting where the group last committed.
   */
  private async onAssigned(assignment: Record<string, number[]>): Promise<void> {
    const parts = assignment[this.topics.readings] ?? [];
    await this.serial(async () => {
      const stored = await this.store.loadOffsets(this.topics.readings);
      if (parts.some((p) => !this.offsets.has(p))) this.mustPrepare = true;
      // a partition this worker held and no longer has: another worker owns it now
      const lost = [...new Set([...stored.keys(), ...this.offsets.keys()])].filter((p) => !parts.includes(p));
      if (lost.length) {
        const meters = await this.store.dropPartitions(this.topics.readings, lost);
        for (const p of lost) {
          this.offsets.delete(p);
          this.pendingSeek.delete(p);
          this.watermarks.delete(p);
          this.lags.delete(p);
          this.replayTargets.delete(p);
        }
        this.ingestor.resetRegisterState();
        this.opts.log.info({ partitions: lost, meters }, 'partitions lost in a rebalance: their meters\' state dropped');
      }
      const admin = this.kafka.admin();
      await admin.connect();
      let readings: { partition: number; low: string; high: string }[];
      let cases: { partition: number; high: string }[];
      try {
        readings = await admin.fetchTopicOffsets(this.topics.readings);
        cases = await admin.fetchTopicOffsets(this.topics.cases);
      } finally {
        await admin.disconnect();
      }
      this.partitionCount = readings.length;
      this.emptyPartitions = new Set(readings.filter((x) => x.high === '0').map((x) => x.partition));
      // the cases raised so far must be known before anything is judged again
      this.casesTargets = new Map(cases.map((x) => [x.partition, BigInt(x.high)]));
      for (const p of parts) {
        const r = readings.find((x) => x.partition === p);
        const low = BigInt(r?.low ?? '0');
        const have = stored.get(p)?.next_offset;
        // never below what the topic still retains
        const from = have === undefined || have < low ? low : have;
        if (have === undefined) this.opts.log.info({ partition: p, from_offset: String(from) }, 'no stored state for this partition: replaying it from the earliest retained offset');
        this.offsets.set(p, from);
        this.replayTargets.set(p, BigInt(r?.high ?? '0'));
        this.pendingSeek.set(p, from);
        this.consumer.seek({ topic: this.topics.readings, partition: p, offset: String(from) });
      }
      this.wasRestoring = this.restoring();
    });
    this.opts.log.info({ partitions: parts }, 'partitions assigned');
  }

  /** Still catching up after an assignment (a replay, or cases other workers raised): judge nothing yet. */
  private restoring(): boolean {
    for (const [p, target] of this.replayTargets) if ((this.offsets.get(p) ?? 0n) < target) return true;
    for (const [p, target] of this.casesTargets) if ((this.casesPositions.get(p) ?? 0n) < target) return true;
    return false;
  }

  /** Once caught up, judge what the catch-up held back. */
  private async afterRestore(): Promise<void> {
    if (!this.wasRestoring || this.restoring()) return;
    this.wasRestoring = false;
    this.opts.log.info({ partitions: [...this.offsets.keys()] }, 'caught up: judging again');
    await this.runScreen(SITE_DETECTORS);
    await this.closeDays(false);
  }

  private async onBatch({ batch, resolveOffset, heartbeat }: EachBatchPayload): Promise<void> {
    if (batch.isEmpty()) return;
    this.firstBatchAtMs ??= performance.now();
    const partition = batch.partition;
    // fetched before a rebalance took the partition away: its new owner stores it
    if (!this.offsets.has(partition)) return;
    this.emptyPartitions.delete(partition);
    const want = this.pendingSeek.get(partition);
    if (want !== undefined) {
      if (BigInt(batch.firstOffset()!) !== want) return; // fetched from the group's offset before our seek
      this.pendingSeek.delete(partition);
    }
    const next = this.offsets.get(partition) ?? 0n;
    const messages = batch.messages.filter((m) => BigInt(m.offset) >= next); // below: already in DuckDB
    const last = BigInt(batch.lastOffset());
    this.lags.set(partition, Number(batch.offsetLag()));
    if (messages.length) {
      const raw: RawBatch = { records: [], rows: [], broken: [] };
      const valid: Reading[] = [];
      const dead: DeadLetter[] = [];
      const byRecordOffset = new Map<number, (typeof messages)[number]>();
      for (const m of messages) {
        const d = decodeMessage(m.value, m.headers as Record<string, unknown>, this.pipeline.kafka.max_message_bytes, this.pipeline.source.interval_min);
        if (!d.ok) {
          dead.push({ topic: batch.topic, partition, offset: m.offset, key: m.key, value: m.value, reason: d.reason, headers: m.headers as Record<string, unknown> });
          continue;
        }
        for (const rec of d.records) {
          raw.records.push(rec);
          raw.rows.push(Number(m.offset));
        }
        if (d.readings) for (const r of d.readings) valid.push(r);
        byRecordOffset.set(Number(m.offset), m);
      }
      const prepared = await this.ingestor.prepare(raw, `${batch.topic}/${partition}`, valid);
      for (const r of prepared.rejects) {
        const m = byRecordOffset.get(r.row);
        // a single-reading message is dead-lettered with its original bytes; an element of a bulk message as its JSON
        const single = m && raw.rows.filter((x) => x === r.row).length === 1;
        dead.push({ topic: batch.topic, partition, offset: String(r.row), key: m?.key ?? null, value: single ? m!.value : Buffer.from(JSON.stringify(r.record)), reason: r.reason, headers: single ? (m!.headers as Record<string, unknown>) : {} });
      }
      await this.sendDlq(dead);
      await heartbeat();
      let wm = this.watermarks.get(partition) ?? -Infinity;
      for (const r of prepared.readings) if (r.ts_ms > wm) wm = r.ts_ms;
      await this.ingestor.commit(prepared, [{ topic: batch.topic, partition, next_offset: last + 1n, watermark_ms: Number.isFinite(wm) ? wm : undefined }]);
      if (Number.isFinite(wm)) this.watermarks.set(partition, wm);
      // a reading for a day already prepared (peer rows published) or judged
      const settled = Math.max(this.lastClosedDay, this.lastPreparedDay);
      if (prepared.readings.some((r) => r.ts_ms <= settled + DAY_MS)) this.lateSinceClose = true;
      this.counters.readings_read += prepared.read;
      this.counters.readings_rejected += prepared.rejects.length;
      this.counters.dlq_messages += dead.length;
      if (prepared.readings.length) this.lastReadingAt = Date.now();
      const t = this.ingestor.totals();
      this.counters.readings_accepted = t.accepted;
      this.counters.readings_duplicate = t.duplicate;
      this.offsets.set(partition, last + 1n);
      resolveOffset(batch.lastOffset());
      await this.consumer.commitOffsets([{ topic: batch.topic, partition, offset: String(last + 1n) }]);
      await heartbeat();
      if (this.wasRestoring) await this.afterRestore();
      // stream-time detection: a monitored site is checked as soon as its readings arrive
      else if (prepared.readings.some((r) => this.monitored.has(r.meter_id))) await this.runScreen(SITE_DETECTORS);
      await this.closeDays(false);
    } else {
      resolveOffset(batch.lastOffset());
      await this.consumer.commitOffsets([{ topic: batch.topic, partition, offset: String(last + 1n) }]);
    }
    this.counters.batches++;
  }

  /**
   * Day-level detection in two steps. Prepare: once this worker's slowest partition's watermark
   * passes a day's end plus the allowed lateness (or the feed has gone idle), its meters' peer rows
   * are computed and published, then a marker per owned partition. Judge: once every partition's
   * marker (any worker's) has passed a day, the day-level detectors run through it.
   */
  private async closeDays(idle: boolean): Promise<void> {
    if (!this.watermarks.size || this.restoring()) return;
    const wm = Math.min(...this.watermarks.values());
    const lateness = idle ? 0 : this.pipeline.worker.allowed_lateness_min * MINUTE_MS;
    const day = Math.max(lastCompleteDay(wm - lateness), this.lastPreparedDay);
    if (day > this.lastPreparedDay || this.lateSinceClose || this.mustPrepare) {
      // only the days since the last prepare, unless late readings or gained meters changed older ones
      const full = this.lateSinceClose || this.mustPrepare || !Number.isFinite(this.lastPreparedDay);
      const rows = await refreshPeers(this.db, this.pipeline.detectors, { lastCompleteDayMs: day, sinceDayMs: full ? undefined : this.lastPreparedDay + DAY_MS });
      await this.publishPeers(rows, day);
      if (this.lateSinceClose) this.peersChangedSinceClose = true;
      this.lateSinceClose = false;
      this.mustPrepare = false;
      this.lastPreparedDay = day;
      await this.db.con.run(`insert or replace into worker_state values ('last_prepared_day', $v)`, { v: String(day) });
    }
    let judge = Infinity;
    for (let p = 0; p < this.partitionCount; p++) {
      const mark = this.peerMarks.get(p);
      // a partition that has never held data and has no marker yet does not hold the day back
      if (mark !== undefined || !this.emptyPartitions.has(p)) judge = Math.min(judge, mark ?? -Infinity);
    }
    if (!Number.isFinite(judge)) return;
    // peer rows are ready only through what this worker prepared itself
    judge = Math.min(judge, this.lastPreparedDay);
    if (judge <= this.lastClosedDay && !this.peersChangedSinceClose) return;
    judge = Math.max(judge, this.lastClosedDay);
    this.peersChangedSinceClose = false;
    await this.runScreen(undefined, judge, true);
    this.lastClosedDay = judge;
    await this.db.con.run(`insert or replace into worker_state values ('last_closed_day', $v)`, { v: String(judge) });
    this.opts.log.info({ closed_day: formatDate(judge) }, 'day-level detectors ran');
  }

  /** This worker's changed peer rows, then a marker per owned partition (one-partition topic: in order). */
  private async publishPeers(rows: readonly PeerRow[], day: number): Promise<void> {
    const topic = this.topics.peers;
    for (let i = 0; i < rows.length; i += 5000) {
      await this.producer.send({
        topic,
        messages: rows.slice(i, i + 5000).map((r) => ({
          key: `${r.meter_id}|${formatDate(r.day_ms)}`,
          value: JSON.stringify({ meter_id: r.meter_id, day: formatDate(r.day_ms), kwh_day: r.kwh_day, profiled: r.profiled, work_kw: r.work_kw }),
        })),
      });
    }
    const closed = formatDate(day);
    await this.producer.send({ topic, messages: [...this.offsets.keys()].map((p) => ({ key: `closed|${p}`, value: JSON.stringify({ partition: p, closed_through: closed }) })) });
  }

  private async runScreen(only?: Detector[], lastCompleteDayMs?: number, peersReady = false): Promise<void> {
    if (this.restoring()) return;
    // site detectors judge raw readings up to now; day-level ones only closed days
    const r = await screen(this.db, this.pipeline, [], { only, outbox: true, peersReady, lastCompleteDayMs: lastCompleteDayMs ?? (only ? undefined : this.lastClosedDay) });
    this.counters.screens++;
    if (r.newCases.length || r.updatedCases.length) this.opts.log.info({ new_cases: r.newCases.length, updated_cases: r.updatedCases.length, detectors: only ?? 'all' }, 'cases changed');
    await this.publishOutbox();
  }

  private async publishOutbox(): Promise<void> {
    for (;;) {
      const rows = await pendingOutbox(this.db, 500);
      if (!rows.length) return;
      await this.producer.send({
        topic: this.topics.cases,
        messages: rows.map((r) => ({ key: r.case_id, value: r.payload, headers: { 'case-revision': String(r.revision), 'content-type': 'application/json' } })),
      });
      await markPublished(this.db, rows.map((r) => r.seq));
      this.counters.cases_published += rows.length;
    }
  }

  private async sendDlq(dead: DeadLetter[]): Promise<void> {
    if (!dead.length) return;
    await this.producer.send({
      topic: this.topics.dlq,
      messages: dead.map((d) => ({
        key: d.key,
        value: d.value,
        headers: {
          ...Object.fromEntries(Object.entries(d.headers ?? {}).filter(([, v]) => v !== undefined).map(([k, v]) => [k, Buffer.isBuffer(v) ? v : String(v)])),
          'x-error-reason': d.reason,
          'x-source-topic': d.topic,
          'x-source-partition': String(d.partition),
          'x-source-offset': d.offset,
        },
      })),
    });
    for (const d of dead) this.opts.log.warn({ topic: d.topic, partition: d.partition, offset: d.offset, reason: d.reason }, 'dead-lettered');
  }

  private async tick(): Promise<void> {
    if (this.stopping || !this.running) return;
    const idle = this.opts.idleCloseS ?? 0;
    if (idle > 0 && Date.now() - this.lastReadingAt >= idle * 1000) await this.serial(() => this.closeDays(true));
    const now = (this.opts.nowLocal ?? nowLocalMs)();
    const [hh, mm] = this.pipeline.worker.report_time.split(':').map(Number);
    const today = formatDate(now);
    const due = now >= parseDate(today)! + (hh! * 60 + mm!) * MINUTE_MS;
    // one worker of a group writes the list (every worker holds every case): partition 0's owner
    if (due && this.lastReportDate !== today && this.offsets.has(0)) {
      this.lastReportDate = today;
      await this.serial(() => this.writeDailyReport(formatDate(parseDate(today)! - DAY_MS)));
    }
  }

  /** The daily list the street offices receive, written by the worker (a report command cannot open a DuckDB file the worker holds). */
  async writeDailyReport(date: string): Promise<string[]> {
    const dir = this.pipeline.worker.report_dir;
    const files: string[] = [];
    for (const format of ['csv', 'html'] as const) {
      const r = await dailyList(this.db, { date, format });
      const f = join(dir, `suspects-${date}.${format}`);
      writePrivateFile(f, r.text);
      files.push(f);
    }
    this.opts.log.info({ date, files }, 'daily list written');
    return files;
  }

  private gauges(): Record<string, Record<string, number>> {
    const self = this;
    return {
      get watermark_seconds() { return Object.fromEntries([...self.watermarks].map(([p, w]) => [String(p), Math.round((w - 8 * 3600_000) / 1000)])); },
      get consumer_lag() { return Object.fromEntries([...self.lags].map(([p, l]) => [String(p), l])); },
    } as Record<string, Record<string, number>>;
  }

  /** The last local day the day-level detectors have judged ('' before the first close). */
  get closedThrough(): string {
    return Number.isFinite(this.lastClosedDay) ? formatDate(this.lastClosedDay) : '';
  }

  private health() {
    return { ok: this.running && !this.stopping, detail: { running: this.running, stopping: this.stopping, partitions: [...this.offsets.keys()], batches: this.counters.batches, closed_through: this.closedThrough, pending_cases: this.counters.cases_published } };
  }

  private logStats(): void {
    this.opts.log.info({
      ...this.counters,
      lag: Object.fromEntries(this.lags),
      watermark: Object.fromEntries([...this.watermarks].map(([p, w]) => [p, new Date(w).toISOString().slice(0, 16)])),
    }, 'stats');
  }

  /** Finish the batch in hand, commit, publish what is pending, close everything. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    await this.consumer?.disconnect().catch(() => undefined);
    await this.registry?.disconnect().catch(() => undefined);
    await this.serial(() => this.publishOutbox()).catch((e) => this.opts.log.warn({ error: String(e) }, 'outbox not fully published; it is republished on restart'));
    await this.producer?.disconnect().catch(() => undefined);
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.db?.close();
    this.running = false;
    this.opts.log.info(this.counters, 'worker stopped');
  }
}

interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  reason: string;
  headers?: Record<string, unknown>;
}
