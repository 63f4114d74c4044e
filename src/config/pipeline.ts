/**
 * Pipeline file: sources, detector parameters, thresholds, sinks. Validated once, here, with
 * zod; an error names the file and the path of the bad field.
 */
import { readFileSync, existsSync } from 'node:fs';
import { z } from 'zod';
import { PowerscreenError } from '../errors.js';

const categories = z.array(z.enum(['resident', 'commercial', 'industrial', 'other']));

export const detectorParamsSchema = z.object({
  restored_power: z.object({
    enabled: z.boolean().default(true),
    window_hours: z.number().positive().default(2),
    floor_kw: z.number().nonnegative().default(0.3),
    pre_cut_frac: z.number().nonnegative().default(0.1),
    pre_days: z.number().int().positive().default(30),
    active_frac: z.number().min(0).max(1).default(0.5),
    episode_gap_hours: z.number().positive().default(72),
  }).prefault({}),
  resumed_production: z.object({
    enabled: z.boolean().default(true),
    window_hours: z.number().positive().default(3),
    floor_kw: z.number().nonnegative().default(0.5),
    resume_frac: z.number().positive().lt(1).default(0.5),
    pre_days: z.number().int().positive().default(30),
    done_statuses: z.array(z.string()).default(['已整改', '已验收', '已销号']),
    episode_gap_hours: z.number().positive().default(72),
  }).prefault({}),
  step_up: z.object({
    enabled: z.boolean().default(true),
    categories: categories.default(['resident', 'commercial', 'other']),
    baseline_days: z.number().int().positive().default(28),
    confirm_days: z.number().int().positive().default(7),
    history_days: z.number().int().positive().default(365),
    history_quantile: z.number().min(0).max(1).default(0.9),
    min_baseline_days: z.number().int().positive().default(14),
    ratio: z.number().positive().default(3),
    min_delta_kwh: z.number().nonnegative().default(25),
    min_ref_kwh: z.number().positive().default(2),
    min_peer_ratio: z.number().nonnegative().default(2),
    min_high_days: z.number().int().positive().default(4),
    min_day_coverage: z.number().min(0).max(1).default(0.75),
    episode_gap_days: z.number().int().positive().default(7),
  }).prefault({}),
  industrial_profile: z.object({
    enabled: z.boolean().default(true),
    categories: categories.default(['resident', 'commercial', 'other']),
    window_days: z.number().int().positive().default(14),
    work_start_hour: z.number().int().min(0).max(23).default(9),
    work_end_hour: z.number().int().min(1).max(24).default(17),
    min_plateau_kw: z.number().nonnegative().default(3),
    min_day_night_ratio: z.number().positive().default(2.5),
    max_day_cv: z.number().positive().default(0.35),
    min_workdays: z.number().int().positive().default(6),
    min_peer_ratio: z.number().positive().default(4),
    min_score: z.number().min(0).max(1).default(0.6),
    episode_gap_days: z.number().int().positive().default(7),
  }).prefault({}),
  baseline_anomaly: z.object({
    enabled: z.boolean().default(true),
    categories: categories.default(['resident', 'commercial', 'other']),
    baseline_weeks: z.number().int().positive().default(6),
    min_baseline_weeks: z.number().int().positive().default(3),
    history_weeks: z.number().int().positive().default(52),
    history_quantile: z.number().min(0).max(1).default(0.9),
    min_excess_ratio: z.number().nonnegative().default(1),
    z_min: z.number().positive().default(6),
    min_excess_kw: z.number().nonnegative().default(2),
    min_hours: z.number().int().positive().default(6),
    confirm_days: z.number().int().positive().default(7),
    min_anomalous_days: z.number().int().positive().default(4),
    episode_gap_days: z.number().int().positive().default(7),
  }).prefault({}),
});
export type DetectorParams = z.infer<typeof detectorParamsSchema>;
export type DetectorName = keyof DetectorParams;
export const DETECTOR_NAMES = Object.keys(detectorParamsSchema.shape) as DetectorName[];

export const pipelineSchema = z.object({
  $schema: z.string().optional(),
  name: z.string().min(1).default('default'),
  description: z.string().optional(),
  source: z.object({
    /** Interval length for readings that do not carry `interval_min`. */
    interval_min: z.number().int().min(1).max(1440).default(15),
    batch_rows: z.number().int().positive().default(100_000),
  }).prefault({}),
  store: z.object({
    db: z.string().default('.powerscreen/powerscreen.duckdb'),
    memory_limit: z.string().default('4GB'),
    threads: z.number().int().positive().optional(),
  }).prefault({}),
  detectors: detectorParamsSchema.prefault({}),
  cases: z.object({
    /** Leads scoring below this do not become cases. */
    min_score: z.number().min(0).max(1).default(0.5),
    /** Leads of one family on one meter closer than this join the same case (episode). */
    merge_gap_days: z.number().nonnegative().default(7),
    /** After a dismissal, leads of the same meter and family within this many days stay quiet… */
    cooldown_days: z.number().nonnegative().default(14),
    /** …unless their level reaches this multiple of the dismissed level (escalation). */
    escalation_ratio: z.number().min(1).default(1.5),
  }).prefault({}),
  sinks: z.object({
    cases_jsonl: z.string().optional(),
    rejects: z.string().optional(),
  }).prefault({}),
  kafka: z.object({
    /** Overridden by KAFKA_BROKERS (comma-separated). */
    brokers: z.array(z.string().min(1)).min(1).default(['127.0.0.1:9092']),
    client_id: z.string().default('powerscreen'),
    group_id: z.string().default('powerscreen'),
    topics: z.object({
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
    ssl: z.union([z.boolean(), z.object({ ca_file: z.string().optional(), reject_unauthorized: z.boolean().default(true) })]).default(false),
    /** SASL; the password may instead come from KAFKA_SASL_PASSWORD (never put secrets in git). */
    sasl: z.object({
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
  worker: z.object({
    /** Day-level detectors run when the watermark passes a day's end plus this. */
    allowed_lateness_min: z.number().int().nonnegative().default(120),
    /** Local time (Asia/Shanghai) the worker writes the daily list. */
    report_time: z.string().regex(/^\d{2}:\d{2}$/, { error: 'expected HH:MM' }).default('07:00'),
    report_dir: z.string().default('.powerscreen/reports'),
    /** /healthz and /metrics; 0 turns the server off. */
    http_port: z.number().int().min(0).max(65535).default(9464),
    stats_interval_s: z.number().positive().default(30),
  }).prefault({}),
  report: z.object({
    /** 报送单位 shown on the daily list when a street has no own office name. */
    district: z.string().default(''),
  }).prefault({}),
});
export type Pipeline = z.infer<typeof pipelineSchema>;

export function formatZodPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace('.[', '[');
}

export function parsePipeline(json: unknown, origin = 'pipeline'): Pipeline {
  const r = pipelineSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new PowerscreenError('CONFIG_INVALID', `${origin}: ${formatZodPath(i.path)}: ${i.message}`);
  }
  return r.data;
}

export function loadPipeline(file: string | undefined): Pipeline {
  if (!file) return parsePipeline({}, '(built-in defaults)');
  if (!existsSync(file)) throw new PowerscreenError('INPUT_NOT_FOUND', `${file}: pipeline file not found`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new PowerscreenError('CONFIG_INVALID', `${file}: not valid JSON (${(e as Error).message})`);
  }
  return parsePipeline(json, file);
}

/** JSON Schema of the pipeline file, for editors (pipelines/pipeline.schema.json). */
export function pipelineJsonSchema(): unknown {
  return z.toJSONSchema(pipelineSchema, { io: 'input' });
}
