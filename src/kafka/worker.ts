/**
 * The streaming worker: Kafka in, the same screening core as backfill, cases out.
 *
 * Exactly-once into DuckDB: each batch's readings and the partition's next offset are written in
 * one DuckDB transaction, and only then is the offset committed to Kafka. On (re)assignment the
 * consumer seeks to the offsets DuckDB holds, and messages below them are skipped, so a crash at
 * any point neither loses a batch nor stores it twice. Cases go through an outbox table written in
 * the same transaction as the case registry, so a crash between commit and produce republishes.
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
import { markPublished, pendingOutbox } from '../store/caseStore.js';
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
import type { Detector } from '../core/types.js';

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
  /** Readings arrived for a day already closed: the next close re-runs the day-level detectors. */
  private lateSinceClose = false;
  private lastReadingAt = Date.now();
  private lastReportDate = '';
  private stopping = false;
  private running = false;
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
      sessionTimeout: 30_000,
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
    const r = (await this.db.con.runAndReadAll(`select value from worker_state where key = 'last_closed_day'`)).getRowObjectsJS()[0];
    if (r) this.lastClosedDay = Number(r.value);
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
      ].filter((t) => !existing.has(t.topic));
      if (wanted.length) await admin.createTopics({ topics: wanted, waitForLeaders: true }).catch((e) => this.opts.log.warn({ error: String(e) }, 'could not create topics'));
    } finally {
      await admin.disconnect();
    }
  }

  /** Reference data from compacted topics: every worker reads all of it (its own throwaway group). */
  private async startRegistry(): Promise<void> {
    this.registry = this.kafka.consumer({ groupId: `${this.pipeline.kafka.group_id}-registry-${randomUUID()}` });
    await this.registry.connect();
    await this.registry.subscribe({ topics: [this.topics.meters, this.topics.sites, this.topics.feedback], fromBeginning: true });
    await this.registry.run({
      eachBatch: ({ batch }) => this.serial(async () => {
        if (batch.topic === this.topics.feedback) return this.applyFeedbackBatch(batch.messages);
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
      if (!parts.length) return;
      const stored = await this.store.loadOffsets(this.topics.readings);
      const admin = this.kafka.admin();
      await admin.connect();
      let earliest: Map<number, bigint>;
      try {
        earliest = new Map((await admin.fetchTopicOffsets(this.topics.readings)).map((x) => [x.partition, BigInt(x.low)]));
      } finally {
        await admin.disconnect();
      }
      for (const p of parts) {
        const low = earliest.get(p) ?? 0n;
        const have = stored.get(p)?.next_offset;
        // never below what the topic still retains
        const from = have === undefined || have < low ? low : have;
        if (have === undefined) this.opts.log.info({ partition: p, from_offset: String(from) }, 'no stored state for this partition: replaying it from the earliest retained offset');
        this.offsets.set(p, from);
        this.pendingSeek.set(p, from);
        this.consumer.seek({ topic: this.topics.readings, partition: p, offset: String(from) });
      }
    });
    this.opts.log.info({ partitions: parts }, 'partitions assigned');
  }

  private async onBatch({ batch, resolveOffset, heartbeat }: EachBatchPayload): Promise<void> {
    if (batch.isEmpty()) return;
    const partition = batch.partition;
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
      const dead: DeadLetter[] = [];
      const byRecordOffset = new Map<number, (typeof messages)[number]>();
      for (const m of messages) {
        const d = decodeMessage(m.value, m.headers as Record<string, unknown>, this.pipeline.kafka.max_message_bytes);
        if (!d.ok) {
          dead.push({ topic: batch.topic, partition, offset: m.offset, key: m.key, value: m.value, reason: d.reason, headers: m.headers as Record<string, unknown> });
          continue;
        }
        for (const rec of d.records) {
          raw.records.push(rec);
          raw.rows.push(Number(m.offset));
        }
        byRecordOffset.set(Number(m.offset), m);
      }
      const prepared = await this.ingestor.prepare(raw, `${batch.topic}/${partition}`);
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
      if (prepared.readings.some((r) => r.ts_ms <= this.lastClosedDay + DAY_MS)) this.lateSinceClose = true;
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
      // stream-time detection: a monitored site is checked as soon as its readings arrive
      if (prepared.readings.some((r) => this.monitored.has(r.meter_id))) await this.runScreen(SITE_DETECTORS);
      await this.closeDays(false);
    } else {
      resolveOffset(batch.lastOffset());
      await this.consumer.commitOffsets([{ topic: batch.topic, partition, offset: String(last + 1n) }]);
    }
    this.counters.batches++;
  }

  /** Day-level detectors run once the slowest partition's watermark passes a day's end plus the allowed lateness (or the feed has gone idle). */
  private async closeDays(idle: boolean): Promise<void> {
    if (!this.watermarks.size) return;
    const wm = Math.min(...this.watermarks.values());
    const lateness = idle ? 0 : this.pipeline.worker.allowed_lateness_min * MINUTE_MS;
    const day = Math.max(lastCompleteDay(wm - lateness), this.lastClosedDay);
    if (day <= this.lastClosedDay && !this.lateSinceClose) return;
    this.lateSinceClose = false;
    await this.runScreen(undefined, day);
    this.lastClosedDay = day;
    await this.db.con.run(`insert or replace into worker_state values ('last_closed_day', $v)`, { v: String(day) });
    this.opts.log.info({ closed_day: formatDate(day) }, 'day-level detectors ran');
  }

  private async runScreen(only?: Detector[], lastCompleteDayMs?: number): Promise<void> {
    // site detectors judge raw readings up to now; day-level ones only closed days
    const r = await screen(this.db, this.pipeline, [], { only, outbox: true, lastCompleteDayMs: lastCompleteDayMs ?? (only ? undefined : this.lastClosedDay) });
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
    if (due && this.lastReportDate !== today) {
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
