/** The broker side of starting up: reaching the brokers (with visible backoff), the topics the worker needs, and topic offsets. */
import { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Pipeline } from '../config/pipeline.js';
import { PowerscreenError } from '../errors.js';
import { brokersOf, kafkaConfig } from './client.js';
import type { TopicOffsets } from '../worker/partitions.js';
import type { RegistryOffsets } from '../worker/registryProgress.js';
import type { RegistryTopics } from './registryFeed.js';

/** Connect an admin client, retrying with growing waits (1, 2, 4 … 30 s) until connect_timeout_s. */
export async function connectWithBackoff(pipeline: Pipeline, log: Logger, env: NodeJS.ProcessEnv | undefined, stopping: () => boolean): Promise<void> {
  // fail fast per attempt: the loop below does the (logged) backing off
  const admin = new Kafka({ ...kafkaConfig(pipeline, log, env), retry: { retries: 0 } }).admin();
  const deadline = Date.now() + pipeline.kafka.connect_timeout_s * 1000;
  for (let wait = 1000; ; wait = Math.min(wait * 2, 30_000)) {
    try {
      await admin.connect();
      break;
    } catch (e) {
      const brokers = brokersOf(pipeline, env);
      if (stopping() || Date.now() + wait > deadline) {
        log.error({ brokers, error: (e as Error).message }, 'Kafka unreachable, giving up');
        throw new PowerscreenError('BROKER_UNAVAILABLE', `Kafka brokers ${brokers.join(',')} unreachable: ${(e as Error).message}`, { cause: e });
      }
      log.warn({ brokers, retry_in_s: wait / 1000, error: (e as Error).message }, 'Kafka unreachable, retrying');
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  try {
    await ensureTopics(admin, pipeline.kafka.topics, log);
  } finally {
    await admin.disconnect();
  }
}

async function ensureTopics(admin: ReturnType<Kafka['admin']>, topics: Pipeline['kafka']['topics'], log: Logger): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const compact = [{ name: 'cleanup.policy', value: 'compact' }];
  const wanted = [
    { topic: topics.readings }, { topic: topics.dlq }, { topic: topics.cases },
    { topic: topics.meters, configEntries: compact }, { topic: topics.sites, configEntries: compact }, { topic: topics.feedback, configEntries: compact },
    // one partition: a partition's marker must follow the peer rows it vouches for. Compacted,
    // and deleted after 400 days (longer than any detector window): markers are re-sent daily
    { topic: topics.peers, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact,delete' }, { name: 'retention.ms', value: String(400 * 86_400_000) }] },
  ].filter((t) => !existing.has(t.topic));
  if (wanted.length) await admin.createTopics({ topics: wanted, waitForLeaders: true }).catch((e) => log.warn({ error: String(e) }, 'could not create topics'));
}

/**
 * Calls fn again while the brokers answer with an error they call retriable, waiting 0.25, 0.5, 1 …
 * 5 s between tries. A topic another worker has just created has no leader for a moment
 * (NOT_LEADER_FOR_PARTITION), and kafkajs's admin does not retry its ListOffsets: two workers
 * started together on new topics lost one of them at start.
 */
export async function retryRetriable<T>(what: string, fn: () => Promise<T>, log?: Logger, attempts = 8, firstWaitMs = 250): Promise<T> {
  for (let attempt = 1, wait = firstWaitMs; ; attempt++, wait = Math.min(wait * 2, 5000)) {
    try {
      return await fn();
    } catch (e) {
      // kafkajs's errors say so themselves (a named import of its error classes fails under Node's ESM loader)
      if (!(e instanceof Error && e.name.startsWith('KafkaJS') && (e as { retriable?: boolean }).retriable === true) || attempt >= attempts) throw e;
      log?.warn({ what, error: e.message, retry_in_ms: wait }, 'brokers not ready, retrying');
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/**
 * The readings topic's low/high offsets, and those of the registry topics every worker reads before
 * judging; given the group, also where it committed each readings partition (the offset kafkajs
 * fetches a partition from when nobody seeks it).
 */
export async function fetchOffsets(kafka: Kafka, topics: { readings: string } & RegistryTopics, log?: Logger, groupId?: string):
  Promise<{ readings: TopicOffsets[]; registry: RegistryOffsets[]; committed: Map<number, bigint> }> {
  // a new admin client each try: it reads the brokers' metadata afresh, leaders included
  return retryRetriable('topic offsets', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const registry: RegistryOffsets[] = [];
      for (const topic of [topics.meters, topics.sites, topics.feedback, topics.cases, topics.peers]) {
        for (const o of await admin.fetchTopicOffsets(topic)) registry.push({ topic, partition: o.partition, low: o.low, high: o.high });
      }
      const committed = new Map<number, bigint>();
      if (groupId) {
        for (const t of await admin.fetchOffsets({ groupId, topics: [topics.readings] })) {
          // -1: the group committed nothing for the partition
          for (const o of t.partitions) if (BigInt(o.offset) >= 0n) committed.set(o.partition, BigInt(o.offset));
        }
      }
      return { readings: await admin.fetchTopicOffsets(topics.readings), registry, committed };
    } finally {
      await admin.disconnect();
    }
  }, log);
}
