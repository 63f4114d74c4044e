/**
 * Pipeline file: sources, detector parameters, thresholds, sinks. Validated once, here, with
 * zod, strictly: an unknown key is an error naming the closest valid one. The `detectors`
 * section is derived from the detector SQL headers (./detectorRegistry.ts), never written twice.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { PowerscreenError } from '../errors.js';
import { DETECTOR_DIR } from '../paths.js';
import { detectorSettingsSchema, loadRegistry, type DetectorRegistry, type DetectorSettings } from './detectorRegistry.js';
import { closestName } from '../core/names.js';

const isAscending = (xs: readonly number[]) => xs.every((x, i) => i === 0 || xs[i - 1]! <= x);

const baseShape = {
  $schema: z.string().optional(),
  name: z.string().min(1).default('default'),
  description: z.string().optional(),
  source: z.strictObject({
    /** Interval length for readings that do not carry `interval_min`. */
    interval_min: z.number().int().min(1).max(1440).default(15),
    batch_rows: z.number().int().positive().default(100_000),
    /** CSV and Parquet backfill files are read by DuckDB and checked in SQL (false: row by row in TypeScript, as JSON files are). */
    native_files: z.boolean().default(true),
  }).prefault({}),
  store: z.strictObject({
    db: z.string().default('.powerscreen/powerscreen.duckdb'),
    /**
     * DuckDB's memory limit. 1GB holds a worker under 2 GiB RSS (bench/RESULTS.md): a steady close at
     * 100k meters takes the same 6.4 s as at 4GB; long judgements run in slices sized to the limit
     * (a 100k × 60-day re-judge 105 s at 1.7 GiB against 74 s at 3.3 GiB with 4GB).
     */
    memory_limit: z.string().default('1GB'),
    threads: z.number().int().positive().optional(),
    /**
     * Days of raw interval readings kept (whole local days before the last closed one, deleted
     * after a close); null keeps all. The site detectors' windows are hours and explain shows 14
     * days; everything else reads the rollups.
     */
    raw_days: z.number().int().min(14).nullable().default(120),
    /** Days of hourly rollups, day profiles and peer rows kept: baseline_anomaly's long-run window is 52 weeks of hours, step_up's 365 days. */
    hourly_days: z.number().int().min(400).nullable().default(730),
    /** Days of daily rollups kept; null (the default) keeps them for ever. */
    daily_days: z.number().int().min(400).nullable().default(null),
  }).prefault({}).refine((s) => isAscending([s.raw_days, s.hourly_days, s.daily_days].filter((d) => d !== null)), {
    message: 'expected raw_days ≤ hourly_days ≤ daily_days where set: a rollup is kept at least as long as the finer data it is made from',
    path: ['raw_days'],
  }),
  /** Folder of detector SQL files (default: the built-in sql/detectors); relative to the pipeline file. */
  detectors_dir: z.string().optional(),
  cases: z.strictObject({
    /** Leads scoring below this do not become cases. */
    min_score: z.number().min(0).max(1).default(0.5),
    /** Leads of one family on one meter closer than this join the same case (episode). */
    merge_gap_days: z.number().nonnegative().default(7),
    /** After a dismissal, leads of the same meter and family within this many days stay quiet… */
    cooldown_days: z.number().nonnegative().default(14),
    /** …unless their level reaches this multiple of the dismissed level (escalation). */
    escalation_ratio: z.number().min(1).default(1.5),
    /** …judged on the median of this many trailing days (a jump is seen in days, not after an episode's average). */
    escalation_window_days: z.number().int().min(1).max(28).default(3),
  }).prefault({}),
  sinks: z.strictObject({
    cases_jsonl: z.string().optional(),
    rejects: z.string().optional(),
  }).prefault({}),
  kafka: z.strictObject({
    /** Overridden by KAFKA_BROKERS (comma-separated). */
    brokers: z.array(z.string().min(1)).min(1).default(['127.0.0.1:9092']),
    client_id: z.string().default('powerscreen'),
    group_id: z.string().default('powerscreen'),
    topics: z.strictObject({
      readings: z.string().default('meter.readings'),
      dlq: z.string().default('meter.readings.dlq'),
      cases: z.string().default('powerscreen.cases'),
      meters: z.string().default('registry.meters'),
      sites: z.string().default('registry.sites'),
      feedback: z.string().default('registry.feedback'),
      /** Per-meter peer levels and each partition's closed-through day, shared by the workers of a group (one partition, compacted). */
      peers: z.string().default('powerscreen.peers'),
    }).prefault({}),
    /** TLS: true, or the CA file and whether to verify the broker (KAFKA_SSL=1 also turns it on). */
    ssl: z.union([z.boolean(), z.strictObject({ ca_file: z.string().optional(), reject_unauthorized: z.boolean().default(true) })]).default(false),
    /** SASL; the password may instead come from KAFKA_SASL_PASSWORD (never put secrets in git). */
    sasl: z.strictObject({
      mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
      username: z.string().min(1),
      password: z.string().optional(),
    }).optional(),
    /** Messages larger than this go to the DLQ undecoded (the broker default is 1 MB). */
    max_message_bytes: z.number().int().positive().default(4 * 1024 * 1024),
    max_bytes_per_partition: z.number().int().positive().default(16 * 1024 * 1024),
    /** A worker that stops heartbeating loses its partitions to the others after this long. */
    session_timeout_s: z.number().min(6).max(300).default(30),
    /** A broker that is down at start is retried this long before the worker gives up. */
    connect_timeout_s: z.number().positive().default(300),
  }).prefault({}),
  worker: z.strictObject({
    /** Day-level detectors run when the watermark passes a day's end plus this. */
    allowed_lateness_min: z.number().int().nonnegative().default(120),
    /** Local time (Asia/Shanghai) the worker writes the daily list. */
    report_time: z.string().regex(/^\d{2}:\d{2}$/, { error: 'expected HH:MM' }).default('07:00'),
    report_dir: z.string().default('.powerscreen/reports'),
    /** /healthz and /metrics; 0 turns the server off. */
    http_port: z.number().int().min(0).max(65535).default(9464),
    /** Address the ops server listens on: loopback unless set (e.g. "0.0.0.0" behind a firewall, for a scraper elsewhere). */
    http_host: z.string().min(1).default('127.0.0.1'),
    stats_interval_s: z.number().positive().default(30),
    /** A reading timed more than this after the worker's clock is dead-lettered (it would close days that have not happened). */
    max_clock_skew_min: z.number().int().min(0).default(60),
    /** /healthz fails when no fetch or heartbeat has reached the broker for this long. */
    broker_silence_s: z.number().int().min(10).default(60),
    /** /healthz fails when a gained partition is still being restored after this long. */
    max_restore_min: z.number().int().min(1).default(60),
    /**
     * Partition snapshots (src/store/partitionSnapshot.ts): written after a day close into `dir`, a
     * folder every worker of the group shares (a network mount or a synced bucket); a worker that
     * gains a partition loads the latest and replays only the messages after it.
     */
    snapshots: z.strictObject({
      dir: z.string().min(1),
      /** Days between two snapshots of a partition: fewer means a longer tail to replay, more means more writing. */
      every_days: z.number().int().min(1).default(1),
      /**
       * Whole days of raw readings shipped, through the close (null: all the store holds). A store
       * loading a snapshot keeps raw readings from that day on, for every meter (one raw horizon);
       * older days are judged and explained from the rollups. 30 covers the longest window over
       * raw readings (resumed_production's pre_days) and explain's 14 days, and is what keeps a
       * year of a 100k-meter partition's load under 2 minutes (bench/RESULTS.md).
       */
      raw_days: z.number().int().min(14).nullable().default(30),
    }).optional(),
  }).prefault({}),
  console: z.strictObject({
    /** Accounts file (default: console-users.json beside the database); `powerscreen users` manages it. */
    users_file: z.string().optional(),
    /** A session ends after this many minutes without a request. */
    session_idle_min: z.number().int().min(5).max(24 * 60).default(480),
    /** Login attempts per client address per minute. */
    login_per_minute: z.number().int().min(1).max(1000).default(10),
    /** HTTPS with these PEM files; without them, serve behind a TLS reverse proxy (README). */
    tls: z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) }).optional(),
    /** Live: the banner calls the feed stalled when no reading has arrived for this long. */
    stall_after_min: z.number().int().positive().default(120),
  }).prefault({}),
  delivery: z.strictObject({
    /** Local time (Asia/Shanghai) each street's new leads go out; on Fridays also the week's table. */
    time: z.string().regex(/^\d{2}:\d{2}$/, { error: 'expected HH:MM' }).default('07:30'),
    smtp: z.strictObject({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535).default(587),
      /** true: TLS from the start (port 465); false: STARTTLS when the server offers it. */
      secure: z.boolean().default(false),
      user: z.string().optional(),
      /** The password is read from this environment variable (never put secrets in git). */
      password_env: z.string().default('POWERSCREEN_SMTP_PASSWORD'),
      from: z.string().min(3),
    }).optional(),
    /** Street (街道/镇) → e-mail addresses; "*" receives every street's list. */
    recipients: z.record(z.string(), z.array(z.email())).default({}),
    webhook: z.strictObject({
      url: z.url(),
      /** HMAC-SHA256 key for the X-Powerscreen-Signature header, from this environment variable. */
      secret_env: z.string().default('POWERSCREEN_WEBHOOK_SECRET'),
    }).optional(),
    /** A failed send is retried with backoff this many times, then shown as failed on the console and /metrics. */
    max_attempts: z.number().int().min(1).max(50).default(8),
  }).prefault({}),
  report: z.strictObject({
    /** 报送单位 shown on the daily list when a street has no own office name. */
    district: z.string().default(''),
  }).prefault({}),
};

/** The whole pipeline file's schema for the detectors a registry holds. */
export function pipelineSchemaFor(registry: DetectorRegistry) {
  return z.strictObject({ ...baseShape, detectors: detectorSettingsSchema(registry).prefault({}) });
}

type StaticPipeline = z.infer<ReturnType<typeof z.strictObject<typeof baseShape>>>;
export type Pipeline = Omit<StaticPipeline, 'detectors_dir'> & {
  /** Absolute folder of the detector SQL files this pipeline runs. */
  detectors_dir: string;
  detectors: DetectorSettings;
};
export type { DetectorSettings };

/** The detectors a pipeline runs (read from its detectors folder now). */
export function registryOf(pipeline: Pick<Pipeline, 'detectors_dir'>): DetectorRegistry {
  return loadRegistry(pipeline.detectors_dir);
}

export function formatZodPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace('.[', '[');
}

/** A JSON file checked against a schema: one error naming the file, and the field and reason (`what` names the file's kind). */
export function readJsonFile<T>(file: string, schema: z.ZodType<T>, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new PowerscreenError('CONFIG_INVALID', `${file}: not a readable JSON ${what}: ${(e as Error).message}`, { cause: e });
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new PowerscreenError('CONFIG_INVALID', `${file}: ${formatZodPath(i.path)}: ${i.message}`);
  }
  return r.data;
}

/** Zod objects nest inside default/prefault/optional wrappers: the object's keys at a path. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: unknown = schema;
  const unwrap = () => {
    for (let d = (s as { _zod: { def: { innerType?: unknown } } })._zod.def; d.innerType; d = (s as { _zod: { def: { innerType?: unknown } } })._zod.def) s = d.innerType;
  };
  unwrap();
  for (const k of path) {
    s = (s as { shape?: Record<string, unknown> }).shape?.[String(k)];
    if (!s) return [];
    unwrap();
  }
  return Object.keys((s as { shape?: Record<string, unknown> }).shape ?? {});
}

/** Validate a pipeline; `baseDir` resolves a relative detectors_dir (the pipeline file's folder). */
export function parsePipeline(json: unknown, origin = 'pipeline', baseDir = process.cwd()): Pipeline {
  const rawDir = json && typeof json === 'object' ? (json as Record<string, unknown>).detectors_dir : undefined;
  const dir = typeof rawDir === 'string' ? resolve(baseDir, rawDir) : DETECTOR_DIR;
  const schema = pipelineSchemaFor(loadRegistry(dir));
  const r = schema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    if (i.code === 'unrecognized_keys') {
      const key = i.keys[0]!;
      const near = closestName(key, keysAt(schema, i.path));
      const where = formatZodPath([...i.path, key]);
      const what = i.path[0] !== 'detectors' ? 'key' : i.path.length === 1 ? 'detector' : `parameter of ${String(i.path[1])}`;
      throw new PowerscreenError('CONFIG_INVALID', `${origin}: ${where}: unknown ${what}${near ? ` (did you mean ${near}?)` : ''}`);
    }
    throw new PowerscreenError('CONFIG_INVALID', `${origin}: ${formatZodPath(i.path)}: ${i.message}`);
  }
  return { ...(r.data as unknown as Pipeline), detectors_dir: dir };
}

export function loadPipeline(file: string | undefined, overrides: { detectors_dir?: string } = {}): Pipeline {
  if (!file) return parsePipeline({ ...overrides }, '(built-in defaults)');
  if (!existsSync(file)) throw new PowerscreenError('INPUT_NOT_FOUND', `${file}: pipeline file not found`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new PowerscreenError('CONFIG_INVALID', `${file}: not valid JSON (${(e as Error).message})`);
  }
  // an option naming a value on the command line (sql-test --detectors-dir) stands over the file's
  return parsePipeline(overrides.detectors_dir ? { ...(json as object), ...overrides } : json, file, dirname(resolve(file)));
}

/** JSON Schema of the pipeline file, for editors (pipelines/pipeline.schema.json). */
export function pipelineJsonSchema(registry = loadRegistry()): unknown {
  return z.toJSONSchema(pipelineSchemaFor(registry), { io: 'input' });
}
