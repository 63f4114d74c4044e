/**
 * Reference data, verdicts, cases and peers: every worker reads these topics whole, with a
 * throwaway consumer group of its own (the peers topic from where its DuckDB left off, when it holds
 * the rows already). Decoding is pure (decodeRegistryBatch); the worker gets
 * typed rows and dead letters through a narrow set of handlers. A message that cannot be applied
 * is dead-lettered with its reason and the feed goes on: one bad message never stops it.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { meterSchema, siteSchema, type Meter, type Site } from '../contracts/registry.js';
import type { Case } from '../core/types.js';
import type { PeerRow } from '../store/peers.js';
import type { VerdictInput } from '../store/feedback.js';
import { parseDate, parseLocalMs } from '../time.js';
import type { DeadLetter } from './publisher.js';

export interface RegistryTopics {
  meters: string;
  sites: string;
  feedback: string;
  cases: string;
  peers: string;
}

/** A verdict as the feedback topic carries it; its id defaults to topic:partition:offset, so a re-read applies it once. */
export type Verdict = VerdictInput;

export interface RegistryHandlers {
  meters(rows: Meter[]): Promise<void>;
  sites(rows: Site[]): Promise<void>;
  feedback(verdicts: Verdict[]): Promise<void>;
  cases(cases: Case[]): Promise<void>;
  /** Peer rows and markers of one partition of the peers topic, the offset after them and how many messages they came in. */
  peers(rows: PeerRow[], marks: { partition: number; day: number }[], position: { partition: number; nextOffset: bigint; messages: number }): Promise<void>;
  dead(letters: DeadLetter[]): Promise<void>;
  /** A batch was fetched and waits for the worker's queue. */
  batchStarted(): void;
  /** After each batch, applied or dead-lettered: the feed has read `topic`'s partition up to `nextOffset`. */
  read(topic: string, partition: number, nextOffset: bigint): Promise<void>;
}

type Message = { key: Buffer | null; value: Buffer | null; offset: string };
type Kind = keyof RegistryTopics;

const str = (v: unknown) => typeof v === 'string' && v.length > 0;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why a case message cannot be stored, or undefined when it can (the fields the case table needs). */
function caseProblem(v: Record<string, unknown>): string | undefined {
  for (const k of ['case_id', 'meter_id', 'detector', 'family', 'episode_start', 'window_start', 'window_end', 'detected_at', 'status']) {
    if (!str(v[k])) return `${k}: expected a non-empty string`;
  }
  // stored as timestamps: a date alone, or no time at all, would fail the whole batch's insert
  for (const k of ['episode_start', 'window_start', 'window_end', 'detected_at']) {
    if (parseLocalMs(v[k] as string) === undefined) return `${k}: expected an ISO-8601 date and time (got ${JSON.stringify(String(v[k]).slice(0, 40))})`;
  }
  if (!Number.isInteger(v.revision) || (v.revision as number) < 1) return 'revision: expected a whole number ≥ 1';
  if (typeof v.score !== 'number' || !Number.isFinite(v.score)) return 'score: expected a number';
  if (!isObject(v.evidence)) return 'evidence: expected an object';
  return undefined;
}

function peerProblem(v: Record<string, unknown>): string | undefined {
  if (typeof v.closed_through === 'string') {
    if (parseDate(v.closed_through) === undefined) return 'closed_through: expected YYYY-MM-DD';
    if (!Number.isInteger(v.partition) || (v.partition as number) < 0) return 'partition: expected a whole number ≥ 0';
    return undefined;
  }
  if (!str(v.meter_id)) return 'meter_id: expected a non-empty string';
  if (typeof v.day !== 'string' || parseDate(v.day) === undefined) return 'day: expected YYYY-MM-DD';
  for (const k of ['kwh_day', 'work_kw']) if (v[k] !== null && (typeof v[k] !== 'number' || !Number.isFinite(v[k]))) return `${k}: expected a number or null`;
  return undefined;
}

export interface DecodedRegistryBatch {
  meters: Meter[];
  sites: Site[];
  verdicts: Verdict[];
  cases: Case[];
  peerRows: PeerRow[];
  marks: { partition: number; day: number }[];
  dead: DeadLetter[];
}

/** One fetched batch of a registry topic → typed rows and dead letters. Tombstones are skipped: a deleted entry keeps its history for old cases. */
export function decodeRegistryBatch(kind: Kind, topic: string, partition: number, messages: readonly Message[]): DecodedRegistryBatch {
  const out: DecodedRegistryBatch = { meters: [], sites: [], verdicts: [], cases: [], peerRows: [], marks: [], dead: [] };
  for (const m of messages) {
    if (!m.value) continue;
    const dead = (reason: string) => out.dead.push({ topic, partition, offset: m.offset, key: m.key, value: m.value, reason });
    let v: unknown;
    try {
      v = JSON.parse(m.value.toString('utf8'));
    } catch (e) {
      dead(`message: not JSON (${(e as Error).message})`);
      continue;
    }
    if (!isObject(v)) {
      dead('message: expected a JSON object');
      continue;
    }
    if (kind === 'meters' || kind === 'sites') {
      const r = (kind === 'sites' ? siteSchema : meterSchema).safeParse(v);
      if (!r.success) dead(`${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}`);
      else if (kind === 'sites') out.sites.push(r.data as Site);
      else out.meters.push(r.data as Meter);
    } else if (kind === 'feedback') {
      if (!str(v.case_id)) dead('case_id: expected a non-empty string');
      else if (!str(v.verdict)) dead('verdict: expected confirmed, dismissed or duplicate');
      else {
        const opt = (k: string) => (typeof v[k] === 'string' && v[k] ? (v[k] as string) : undefined);
        out.verdicts.push({
          case_id: v.case_id as string, verdict: v.verdict as string, note: opt('note'), duplicate_of: opt('duplicate_of'), given_by: opt('given_by'),
          verdict_id: opt('verdict_id') ?? `${topic}:${partition}:${m.offset}`,
        });
      }
    } else if (kind === 'cases') {
      const problem = caseProblem(v);
      if (problem) dead(problem);
      else out.cases.push(v as unknown as Case);
    } else {
      const problem = peerProblem(v);
      if (problem) dead(problem);
      else if (typeof v.closed_through === 'string') out.marks.push({ partition: v.partition as number, day: parseDate(v.closed_through)! });
      else out.peerRows.push({ meter_id: v.meter_id as string, day_ms: parseDate(v.day as string)!, kwh_day: (v.kwh_day ?? null) as number | null, profiled: Boolean(v.profiled), work_kw: (v.work_kw ?? null) as number | null });
    }
  }
  return out;
}

/**
 * Start the feed. `serial` runs each batch's handling on the worker's one DuckDB queue. A batch
 * whose handling fails is logged and skipped rather than crashing the consumer (which kafkajs
 * would not restart for a non-retriable error): the registry is compacted and re-read at restart.
 */
export async function startRegistryFeed(
  kafka: Kafka, groupPrefix: string, topics: RegistryTopics, handlers: RegistryHandlers,
  serial: <T>(fn: () => Promise<T>) => Promise<T>, log: Logger,
  /** Where to start instead of the beginning: the peers topic from what the worker's DuckDB already holds. */
  startAt: readonly { topic: string; partition: number; offset: bigint }[] = [],
): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId: `${groupPrefix}-registry-${randomUUID()}` });
  const kindOf = new Map<string, Kind>(Object.entries(topics).map(([k, t]) => [t, k as Kind]));
  await consumer.connect();
  await consumer.subscribe({ topics: Object.values(topics), fromBeginning: true });
  await consumer.run({
    eachBatch: ({ batch }) => (handlers.batchStarted(), serial(async () => {
      const kind = kindOf.get(batch.topic)!;
      const d = decodeRegistryBatch(kind, batch.topic, batch.partition, batch.messages);
      try {
        if (d.dead.length) await handlers.dead(d.dead);
        if (kind === 'meters') await handlers.meters(d.meters);
        else if (kind === 'sites') await handlers.sites(d.sites);
        else if (kind === 'feedback') await handlers.feedback(d.verdicts);
        else if (kind === 'cases') await handlers.cases(d.cases);
        else await handlers.peers(d.peerRows, d.marks, { partition: batch.partition, nextOffset: BigInt(batch.lastOffset()) + 1n, messages: batch.messages.length });
        if (kind === 'meters' || kind === 'sites') log.info({ topic: batch.topic, applied: d.meters.length + d.sites.length, rejected: d.dead.length }, 'registry updated');
      } catch (e) {
        // never lost: the batch goes to the DLQ with the reason; the read position still moves on,
        // or the worker would wait for it forever before judging again
        const reason = `not applied: ${(e as Error).message.split('\n')[0]}`;
        log.error({ topic: batch.topic, partition: batch.partition, first_offset: batch.firstOffset(), error: reason }, 'registry batch not applied; dead-lettered');
        await handlers.dead(batch.messages.filter((m) => m.value).map((m) => ({ topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key, value: m.value, reason }))).catch(() => undefined);
      }
      await handlers.read(batch.topic, batch.partition, BigInt(batch.lastOffset()) + 1n);
    })),
  });
  // kafkajs takes a seek only once the consumer runs; an offset the topic no longer holds falls
  // back to the beginning (fromBeginning), so a truncated topic is read whole, never skipped
  for (const s of startAt) consumer.seek({ topic: s.topic, partition: s.partition, offset: String(s.offset) });
  return consumer;
}
