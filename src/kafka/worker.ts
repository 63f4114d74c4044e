/**
 * The streaming worker: Kafka in, the same screening core as backfill, cases out. This file only
 * wires the parts, each tested alone:
 *  - PartitionTracker (../worker/partitions.ts): owned partitions, seeks, replay and catch-up, and
 *    (../worker/registryProgress.ts) how far the registry topics are read;
 *  - DayClose (../worker/dayClose.ts): when to prepare peer rows and when to judge a day;
 *  - topicAdmin: reaching the brokers, topics, offsets; registryFeed: reference data, verdicts,
 *    cases and peers every worker reads whole; Publisher: outbox, DLQ, peers;
 *  - PartitionSnapshots (../worker/snapshots.ts): writing owned partitions' state, loading a gained one's;
 *  - Outbound (../worker/outbound.ts): when the daily list is written and e-mail/webhooks go out;
 *  - the store (DuckDB) and the screening core (pipeline/screen.ts).
 *
 * Exactly-once into DuckDB: each batch's readings and the partition's next offset are written in
 * one DuckDB transaction, and only then is the offset committed to Kafka. Cases go through an
 * outbox table written in the same transaction as the case registry, so a crash between commit and
 * produce republishes. Several workers in one group share the readings partitions; see README
 * "Scaling" for how state moves.
 * About 470 lines and one thing: the class is only the reactions to Kafka events (start, batches,
 * assignments, registry feed, closes, timers), each a few calls into the parts above; splitting it
 * further would spread one event's handling across files. What it waits for before judging (the
 * registry topics read, partitions caught up) is PartitionTracker's and RegistryProgress's.
 */
import { join } from 'node:path';
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { registryOf, type Pipeline } from '../config/pipeline.js';
import type { DetectorRegistry } from '../config/detectorRegistry.js';
import { openDb, serialQueue, type Db } from '../store/db.js';
import { clearJudgeHorizon, ReadingStore, setJudgeHorizon } from '../store/readingStore.js';
import { monitoredMeters, upsertMeters, upsertSites } from '../store/reference.js';
import { mergeCases, pendingOutboxCount } from '../store/caseStore.js';
import { refreshPeers } from '../store/detectors.js';
import { applyPeerRows } from '../store/peers.js';
import { applyFeedback } from '../store/feedback.js';
import { loadPeersRead, loadWorkerDays, savePeersRead, saveWorkerDay } from '../store/workerState.js';
import { applyRetention } from '../store/retention.js';
import { Ingestor } from '../pipeline/ingest.js';
import { screen } from '../pipeline/screen.js';
import { dailyList } from '../report/dailyList.js';
import { writePrivateFile } from '../sinks/private.js';
import { PartitionTracker } from '../worker/partitions.js';
import { DayClose } from '../worker/dayClose.js';
import { PartitionSnapshots } from '../worker/snapshots.js';
import { createKafka, brokersOf } from './client.js';
import { startConsole, type RunningConsole } from '../console/server.js';
import { Deliverer, transportsFor } from '../delivery/deliverer.js';
import { connectWithBackoff, fetchOffsets } from './topicAdmin.js';
import { startRegistryFeed, type RegistryHandlers } from './registryFeed.js';
import { Publisher } from './publisher.js';
import { storeBatch, type ReadingMessage } from './readingsBatch.js';
import { MINUTE_MS, formatDate, nowLocalMs } from '../time.js';
import { Outbound } from '../worker/outbound.js';
import { closedThrough, gauges, health, statsLine, type WorkerView } from './workerOps.js';
import type { Detector } from '../core/types.js';

/** How long a registry feed that keeps fetching but hands over nothing is waited for (RegistryProgress). */
const REGISTRY_QUIET_MS = 30_000;

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
  private registry!: DetectorRegistry;
  private consumer!: Consumer;
  private registryFeed!: Consumer;
  private producer: Producer | undefined;
  private publisher!: Publisher;
  private server: RunningConsole | undefined;
  private timers: NodeJS.Timeout[] = [];
  private readonly partitions = new PartitionTracker();
  private readonly days = new DayClose();
  private monitored = new Set<string>();
  private outboxPending = 0;
  /** Set when the readings or registry consumer crashed and will not restart: /healthz says so. */
  private consumerDown: string | undefined;
  private lastReadingAt = Date.now();
  private lastBrokerContactAt = Date.now();
  private lastCloseAt: number | undefined;
  private restoringSince: number | undefined;
  /** Site meters the last site check judged only up to a gap that may still fill. */
  private heldBack = 0;
  /** Partition snapshots, when worker.snapshots is set. */
  private snapshots: PartitionSnapshots | undefined;
  private deliverer: Deliverer | undefined;
  private outbound!: Outbound;
  private stopping = false;
  private running = false;
  private startedAtMs = performance.now();
  /** How long after start() the registry topics and owned partitions were first read (the bench reads it). */
  readyAfterMs: number | undefined;
  /** performance.now() when the first batch came in (the bench times ingest from there). */
  firstBatchAtMs: number | undefined;
  readonly counters = { readings_read: 0, readings_accepted: 0, readings_rejected: 0, readings_duplicate: 0, dlq_messages: 0, batches: 0, cases_published: 0, screens: 0, peer_messages_read: 0, deliveries_sent: 0, delivery_failures: 0 };

  constructor(readonly pipeline: Pipeline, readonly opts: WorkerOptions) {
    this.kafka = createKafka(pipeline, opts.log, opts.env);
  }

  private get topics() { return this.pipeline.kafka.topics; }
  private get log() { return this.opts.log; }

  /** All DuckDB work goes through one queue: one connection, no interleaving. */
  private serial = serialQueue();

  async start(): Promise<void> {
    this.startedAtMs = performance.now();
    this.registry = registryOf(this.pipeline);
    this.db = await openDb(this.opts.dbPath, { memoryLimit: this.pipeline.store.memory_limit, threads: this.pipeline.store.threads });
    this.store = new ReadingStore(this.db);
    this.ingestor = new Ingestor(this.store, this.pipeline.source.interval_min, { countMeters: false });
    const snapshots = this.pipeline.worker.snapshots;
    if (snapshots) this.snapshots = new PartitionSnapshots(this.db, snapshots, this.topics.readings, this.log);
    const stored = await this.store.loadOffsets(this.topics.readings);
    this.partitions.restore(stored);
    const watermarks = new Map([...stored].filter(([, o]) => o.watermark_ms !== undefined).map(([p, o]) => [p, o.watermark_ms!]));
    this.days.restore({ watermarks, ...(await loadWorkerDays(this.db)) });
    this.monitored = await monitoredMeters(this.db);
    await connectWithBackoff(this.pipeline, this.log, this.opts.env, () => this.stopping);
    const producer = this.kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    this.publisher = new Publisher(producer, this.topics, this.log);
    this.producer = producer;
    await this.publishOutbox();
    const { meters, sites, feedback, cases, peers } = this.topics;
    // the peer rows and markers this DuckDB holds already: the peers topic is read from there on
    let peersRead = await loadPeersRead(this.db, peers);
    // a new store: the other partitions' peer rows from their snapshots, not a year of messages
    // the topics' ends, once: how many readings partitions the snapshots must cover, and how far the registry must be read
    const ends = await fetchOffsets(this.kafka, this.topics, this.log);
    if (!peersRead.offsets.length && await this.snapshots?.peersAtStart(async () => ends.readings.length, peers)) peersRead = await loadPeersRead(this.db, peers);
    this.days.marks(peersRead.marks);
    const startAt = peersRead.offsets.map((o) => ({ topic: peers, ...o }));
    if (startAt.length) this.log.info({ topic: peers, from_offsets: Object.fromEntries(startAt.map((o) => [o.partition, String(o.offset)])) }, 'peers topic read from where the store left off');
    // nothing is judged before the registry topics are read to where they end now
    this.partitions.awaitRegistry(Date.now(), ends.registry, startAt);
    this.registryFeed = await startRegistryFeed(this.kafka, this.pipeline.kafka.group_id, { meters, sites, feedback, cases, peers }, this.registryHandlers(), this.serial, this.log, startAt);
    this.consumer = this.kafka.consumer({
      groupId: this.pipeline.kafka.group_id,
      maxBytesPerPartition: this.pipeline.kafka.max_bytes_per_partition,
      maxBytes: this.pipeline.kafka.max_bytes_per_partition * 4,
      sessionTimeout: this.pipeline.kafka.session_timeout_s * 1000,
      heartbeatInterval: 3000,
    });
    // a rebalance can land while the worker stops (SIGTERM): then there is nothing to restore, and
    // an error must be logged, never left as an unhandled rejection that exits 1
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      this.onAssigned(e.payload.memberAssignment).catch((err) => {
        if (!this.stopping) this.log.error({ error: String(err) }, 'handling a partition assignment failed');
      });
    });
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      this.log.error({ error: String(e.payload.error), restart: e.payload.restart }, 'consumer crashed');
      if (!e.payload.restart) this.consumerDown = `readings consumer crashed: ${String(e.payload.error)}`;
    });
    // any answer from the broker (a fetch, empty or not, or a heartbeat) shows it is reachable
    const contact = () => { this.lastBrokerContactAt = Date.now(); };
    this.consumer.on(this.consumer.events.FETCH, contact);
    this.consumer.on(this.consumer.events.HEARTBEAT, contact);
    this.registryFeed.on(this.registryFeed.events.FETCH, () => this.partitions.registry.fetched());
    this.registryFeed.on(this.registryFeed.events.CRASH, (e) => {
      this.log.error({ error: String(e.payload.error), restart: e.payload.restart }, 'registry consumer crashed');
      if (!e.payload.restart) this.consumerDown = `registry consumer crashed: ${String(e.payload.error)}`;
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topics.readings, fromBeginning: true });
    await this.consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch: (p) => this.serial(() => this.onBatch(p)) });
    this.running = true;
    const view: WorkerView = { partitions: this.partitions, days: this.days, counters: this.counters, running: () => this.running, stopping: () => this.stopping, outboxPending: () => this.outboxPending, down: () => this.consumerDown,
      lastBrokerContactMs: () => this.lastBrokerContactAt, lastCloseAtMs: () => this.lastCloseAt, restoringSinceMs: () => this.restoringSince,
      limits: { brokerSilenceS: this.pipeline.worker.broker_silence_s, maxRestoreMin: this.pipeline.worker.max_restore_min, latenessMs: this.pipeline.worker.allowed_lateness_min * MINUTE_MS },
    };
    const transports = await transportsFor(this.pipeline, this.opts.env);
    if (transports.email || transports.webhook) {
      this.deliverer = new Deliverer({ pipeline: this.pipeline, withDb: (fn) => this.serial(() => fn(this.db)), transports, log: this.log, now: this.opts.nowLocal });
    }
    this.outbound = new Outbound({
      reportTime: this.pipeline.worker.report_time,
      nowLocal: this.opts.nowLocal ?? nowLocalMs,
      now: Date.now,
      ownsPartition0: () => this.partitions.owns(0),
      lastReadingAt: () => this.lastReadingAt,
      writeList: (date) => this.serial(() => this.writeDailyReport(date)),
      ...(this.deliverer && { deliver: deliverVia(this.deliverer, this.counters) }),
      log: this.log,
    });
    if (this.pipeline.worker.http_port) await this.startConsole(view);
    this.timers.push(setInterval(() => void this.tick().catch((e) => this.log.error({ error: String(e) }, 'tick failed')), 1000));
    this.timers.push(setInterval(() => this.log.info(statsLine(view), 'stats'), this.pipeline.worker.stats_interval_s * 1000));
    this.log.info({ brokers: brokersOf(this.pipeline, this.opts.env), topic: this.topics.readings, group: this.pipeline.kafka.group_id, db: this.opts.dbPath }, 'worker started');
  }

  /** The console and its API beside /healthz and /metrics: database work goes through the worker's one queue. */
  private async startConsole(view: WorkerView): Promise<void> {
    const stallMs = this.pipeline.console.stall_after_min * 60_000;
    this.server = await startConsole(this.pipeline, this.opts.dbPath, this.pipeline.worker.http_host, this.pipeline.worker.http_port, {
      withDb: (fn) => this.serial(() => fn(this.db)),
      mode: 'live',
      unit: this.pipeline.report.district,
      ops: { counters: this.counters, gauges: gauges(view), healthy: () => health(view) },
      stalled: () => this.consumerDown ?? (Date.now() - this.lastReadingAt > stallMs ? `${Math.round((Date.now() - this.lastReadingAt) / 60_000)} 分钟未收到电表读数` : undefined),
      onVerdict: (v) => this.publisher.publishVerdict(v),
      notices: () => this.deliverer?.notices ?? [],
    });
    this.log.info({ url: `${this.server.url}/list` }, 'console listening');
  }

  private registryHandlers(): RegistryHandlers {
    return {
      meters: async (rows) => {
        await upsertMeters(this.db, rows);
        this.ingestor.referenceChanged();
      },
      sites: async (rows) => {
        await upsertSites(this.db, rows);
        this.monitored = await monitoredMeters(this.db);
        // a new or changed site is checked at once against what the store already holds
        if (rows.length) await this.runScreen(this.registry.siteDetectors());
      },
      feedback: async (verdicts) => {
        for (const f of verdicts) {
          try {
            const r = await applyFeedback(this.db, f);
            if (r.applied) this.log.info({ case_id: f.case_id, verdict: f.verdict }, 'feedback applied');
          } catch (e) {
            // a verdict for a case another worker has not yet published here, or an unknown verdict
            this.log.warn({ case_id: f.case_id, error: (e as Error).message }, 'feedback not applied');
          }
        }
      },
      cases: async (cases) => {
        // every case any worker raised (this worker's own come back too: stored only when newer)
        const stored = await mergeCases(this.db, cases, Date.now());
        if (stored) this.log.debug({ stored }, 'cases from other workers stored');
      },
      peers: async (rows, marks, at) => {
        // rows first: a marker vouches for the rows before it
        this.days.peerRowsChanged(await applyPeerRows(this.db, rows, this.registry.peerReaders()));
        this.days.marks(marks);
        await savePeersRead(this.db, this.topics.peers, at.partition, at.nextOffset, marks);
        this.counters.peer_messages_read += at.messages;
        if (marks.length || this.days.reJudgeWanted) await this.closeDays(false);
      },
      dead: (letters) => this.sendDlq(letters),
      batchStarted: () => this.partitions.registry.batchStarted(),
      read: async (topic, partition, next) => {
        this.partitions.registry.read(topic, partition, next, Date.now());
        if (this.partitions.justCaughtUp()) await this.onCaughtUp();
      },
    };
  }

  /** On (re)assignment: drop lost partitions' state, seek gained ones to what DuckDB holds (or replay them). */
  private async onAssigned(assignment: Record<string, number[]>): Promise<void> {
    const parts = assignment[this.topics.readings] ?? [];
    await this.serial(async () => {
      if (this.stopping) return;
      const stored = await this.store.loadOffsets(this.topics.readings);
      const gained = this.partitions.gains(parts);
      const lost = this.partitions.lostOn(parts, stored.keys());
      if (lost.length) {
        const meters = await this.store.dropPartitions(this.topics.readings, lost);
        this.partitions.forget(lost);
        this.days.lost(lost);
        this.snapshots?.forget(lost);
        this.ingestor.resetRegisterState();
        this.log.info({ partitions: lost, meters }, 'partitions lost in a rebalance: their meters\' state dropped');
      }
      // a gained partition this store knows nothing of starts from its snapshot, if one was written
      const restored = new Set<number>();
      for (const p of this.snapshots ? parts.filter((x) => !stored.has(x)) : []) {
        const m = await this.snapshots!.restore(p);
        if (!m) continue;
        stored.set(p, { next_offset: BigInt(m.next_offset), watermark_ms: m.watermark_ms ?? undefined });
        if (m.watermark_ms !== null) this.days.restore({ watermarks: new Map([[p, m.watermark_ms]]) });
        this.days.restoredFromSnapshot(m.closed_day_ms);
        this.ingestor.resetRegisterState();
        restored.add(p);
      }
      const offsets = await fetchOffsets(this.kafka, this.topics, this.log, this.pipeline.kafka.group_id);
      this.days.assigned({ partitionCount: offsets.readings.length, emptyPartitions: offsets.readings.filter((x) => x.high === '0').map((x) => x.partition),
        // a partition restored from its snapshot holds its peer rows: not a gain that recomputes every day
        gained: gained && parts.some((p) => !this.partitions.owns(p) && !restored.has(p)) });
      for (const s of this.partitions.plan(parts, stored, offsets.readings, offsets.registry, Date.now(), offsets.committed)) {
        if (s.replay) this.log.info({ partition: s.partition, from_offset: String(s.offset) }, 'no stored state for this partition: replaying it from the earliest retained offset');
        if (s.needed) this.consumer.seek({ topic: this.topics.readings, partition: s.partition, offset: String(s.offset) });
      }
    });
    this.log.info({ partitions: parts }, 'partitions assigned');
  }

  /** Once caught up after an assignment, judge what the catch-up held back. */
  private async onCaughtUp(): Promise<void> {
    if (!this.noteReady()) this.log.info({ partitions: this.partitions.owned() }, 'caught up: judging again');
    await this.runScreen(this.registry.siteDetectors());
    await this.closeDays(false);
  }

  /** The first time nothing is left to catch up on since start: logged once, with how long it took. */
  private noteReady(): boolean {
    if (this.readyAfterMs !== undefined || !this.running || this.partitions.restoring()) return false;
    this.readyAfterMs = Math.round(performance.now() - this.startedAtMs);
    this.log.info({ ms_since_start: this.readyAfterMs, partitions: this.partitions.owned() }, 'ready: registry topics and owned partitions read');
    return true;
  }

  private async onBatch({ batch, resolveOffset, heartbeat }: EachBatchPayload): Promise<void> {
    // stopping: not stored, not committed, so the group's next owner reads it again
    if (batch.isEmpty() || this.stopping) return;
    this.firstBatchAtMs ??= performance.now();
    const partition = batch.partition;
    // fetched before a rebalance took the partition away: its new owner stores it
    if (!this.partitions.owns(partition)) return;
    this.days.sawData(partition);
    const messages = this.partitions.admit(partition, batch.firstOffset()!, batch.messages as ReadingMessage[]);
    if (messages === 'skip') return; // fetched from the group's offset before our seek: kafkajs refetches
    const last = BigInt(batch.lastOffset());
    this.partitions.fetched(partition, Number(batch.offsetLag()));
    if (messages.length) {
      const prepared = await storeBatch({
        ingestor: this.ingestor, sendDlq: (d) => this.sendDlq(d), heartbeat, watermarkMs: this.days.watermarkOf().get(partition),
        maxMessageBytes: this.pipeline.kafka.max_message_bytes, defaultIntervalMin: this.pipeline.source.interval_min,
        notAfterMs: (this.opts.nowLocal ?? nowLocalMs)() + this.pipeline.worker.max_clock_skew_min * MINUTE_MS,
      }, batch.topic, partition, messages, last + 1n);
      this.days.stored(partition, prepared.readings.map((r) => r.ts_ms));
      this.counters.readings_read += prepared.read;
      this.counters.readings_rejected += prepared.rejects.length;
      if (prepared.readings.length) this.lastReadingAt = Date.now();
      const t = this.ingestor.totals();
      this.counters.readings_accepted = t.accepted;
      this.counters.readings_duplicate = t.duplicate;
      this.partitions.stored(partition, last + 1n);
      resolveOffset(batch.lastOffset());
      await this.consumer.commitOffsets([{ topic: batch.topic, partition, offset: String(last + 1n) }]);
      await heartbeat();
      if (this.partitions.justCaughtUp()) await this.onCaughtUp();
      // stream-time detection: a monitored site is checked as soon as its readings arrive
      else if (prepared.readings.some((r) => this.monitored.has(r.meter_id))) await this.runScreen(this.registry.siteDetectors());
      await this.closeDays(false);
    } else {
      resolveOffset(batch.lastOffset());
      await this.consumer.commitOffsets([{ topic: batch.topic, partition, offset: String(last + 1n) }]);
    }
    this.counters.batches++;
  }

  /** Prepare (peer rows, markers) and judge whatever DayClose says is due. */
  private async closeDays(idle: boolean): Promise<void> {
    if (!this.days.watermarkOf().size || this.partitions.restoring()) return;
    const step = this.days.nextPrepare(idle, this.pipeline.worker.allowed_lateness_min * MINUTE_MS);
    if (step) {
      // published a page at a time as each slice is computed: a year's first prepare does not hold them all
      await refreshPeers(this.db, this.pipeline.detectors, { lastCompleteDayMs: step.day, sinceDayMs: step.sinceDayMs }, this.registry, { onChanged: (rows) => this.publisher.publishPeerRows(rows) });
      await this.publisher.publishPeersClosed(step.day, this.partitions.owned());
      this.days.prepared(step.day);
      await saveWorkerDay(this.db, 'lastPreparedDay', step.day);
    }
    const judge = this.days.nextJudge();
    if (judge === undefined) return;
    await this.runScreen(undefined, judge, true, idle);
    this.days.judged(judge);
    this.lastCloseAt = Date.now();
    await saveWorkerDay(this.db, 'lastClosedDay', judge);
    this.log.info({ closed_day: formatDate(judge) }, 'day-level detectors ran');
    // what the closed days were judged on lives on in the rollups; raw beyond store.raw_days goes
    const kept = await applyRetention(this.db, this.pipeline.store, judge);
    if (kept.deleted.readings || kept.deleted.meter_hourly) this.log.info({ raw_from: kept.rawFromMs === undefined ? null : formatDate(kept.rawFromMs), ...kept.deleted }, 'retention');
    // the owned partitions' state, for a worker that gains one of them later
    await this.snapshots?.afterClose(judge, this.partitions.owned(), { topic: this.topics.peers, published: this.publisher.peersPublished });
  }

  private async runScreen(only?: Detector[], lastCompleteDayMs?: number, peersReady = false, judgeAll = false): Promise<void> {
    if (this.partitions.restoring()) return;
    // site meters missing an interval that may still arrive are judged up to the gap (arrival
    // order must not decide where an episode starts); an idle feed waits for nothing
    if (judgeAll) {
      await clearJudgeHorizon(this.db);
      this.heldBack = 0;
    } else this.heldBack = await setJudgeHorizon(this.db, this.pipeline.worker.allowed_lateness_min);
    // site detectors judge raw readings up to now; day-level ones only closed days
    const r = await screen(this.db, this.pipeline, [], { only, outbox: true, peersReady, lastCompleteDayMs: lastCompleteDayMs ?? (only ? undefined : this.days.closedThrough) });
    this.counters.screens++;
    const rejudged = Math.max(0, ...Object.values(r.rejudgedMeters));
    if (rejudged) this.log.info({ rejudged_meters: rejudged }, 'late inputs: their meters and peer groups judged again');
    if (r.newCases.length || r.updatedCases.length) this.log.info({ new_cases: r.newCases.length, updated_cases: r.updatedCases.length, detectors: only ?? 'all' }, 'cases changed');
    await this.publishOutbox();
  }

  private async publishOutbox(): Promise<void> {
    try {
      await this.publisher.publishOutbox(this.db);
    } finally {
      this.counters.cases_published = this.publisher.casesPublished;
      this.outboxPending = await pendingOutboxCount(this.db);
    }
  }

  private async sendDlq(letters: Parameters<Publisher['sendDlq']>[0]): Promise<void> {
    await this.publisher.sendDlq(letters);
    this.counters.dlq_messages = this.publisher.deadLetters;
  }

  private async tick(): Promise<void> {
    if (this.stopping || !this.running) return;
    if (!this.partitions.restoring()) this.restoringSince = undefined;
    else this.restoringSince ??= Date.now();
    this.noteReady();
    // a compacted registry topic can end past its last readable message: waited for, then let go
    const unreadable = this.partitions.registry.releaseIfQuiet(Date.now(), REGISTRY_QUIET_MS);
    if (unreadable.length) {
      this.log.warn({ unreadable }, 'registry topic ends past its last readable message (compacted away): treated as read');
      if (this.partitions.justCaughtUp()) await this.serial(() => this.onCaughtUp());
    }
    const idle = this.opts.idleCloseS ?? 0;
    if (idle > 0 && Date.now() - this.lastReadingAt >= idle * 1000) {
      await this.serial(async () => {
        await this.closeDays(true);
        // readings the site check held back for a gap: the feed went quiet, nothing more is coming
        if (this.heldBack) await this.runScreen(this.registry.siteDetectors(), undefined, false, true);
      });
    }
    await this.outbound.tick();
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
    this.log.info({ date, files }, 'daily list written');
    return files;
  }

  /** The last local day the day-level detectors have judged ('' before the first close). */
  get closedThrough(): string {
    return closedThrough(this.days);
  }

  /** Finish the batch in hand, commit, publish what is pending, close everything. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    await this.consumer?.disconnect().catch(() => undefined);
    await this.registryFeed?.disconnect().catch(() => undefined);
    if (this.publisher) await this.serial(() => this.publishOutbox()).catch((e) => this.log.warn({ error: String(e) }, 'outbox not fully published; it is republished on restart'));
    await this.producer?.disconnect().catch(() => undefined);
    await this.server?.close().catch(() => undefined);
    // closed on the queue: a batch or assignment already queued finishes first, later ones see `stopping`
    await this.serial(async () => this.db?.close());
    this.running = false;
    this.log.info(this.counters, 'worker stopped');
  }
}

/** One round of e-mail/webhook delivery, its totals copied into the worker's counters. */
function deliverVia(deliverer: Deliverer, counters: Worker['counters']): () => Promise<void> {
  return async () => {
    await deliverer.tick();
    counters.deliveries_sent = deliverer.sent;
    counters.delivery_failures = deliverer.failures;
  };
}
