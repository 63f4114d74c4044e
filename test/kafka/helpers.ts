import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { tableToIPC, Table, vectorFromArray, Utf8, Float64, TimestampMillisecond } from 'apache-arrow';
import { parsePipeline, type Pipeline } from '../../src/config/pipeline.js';
import { generateDistrict, districtSpecSchema, DISTRICT_READING_FILES, rng, type District } from '../../src/fixtures/district.js';
import { ARROW_CONTENT_TYPE } from '../../src/kafka/decode.js';
import { parseLocalMs } from '../../src/time.js';

export const brokers = () => inject('kafkaBrokers');

export function kafka(): Kafka {
  return new Kafka({ brokers: [brokers()], logLevel: logLevel.NOTHING });
}

/** A pipeline with unique topic and group names, so tests never see each other's messages. */
export function testPipeline(extra: Record<string, unknown> = {}): Pipeline {
  const id = randomUUID().slice(0, 8);
  return parsePipeline({
    kafka: {
      brokers: [brokers()],
      group_id: `ps-${id}`,
      topics: { readings: `readings-${id}`, dlq: `dlq-${id}`, cases: `cases-${id}`, meters: `meters-${id}`, sites: `sites-${id}`, feedback: `feedback-${id}`, peers: `peers-${id}` },
      connect_timeout_s: 30,
    },
    worker: { http_port: 0, stats_interval_s: 3600 },
    ...extra,
  });
}

export function smallDistrict(): District {
  return generateDistrict(districtSpecSchema.parse(JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'district-small.json'), 'utf8'))));
}

/** Every raw record of the district as a live feed sends it: in time order; invalid lines last. */
export function districtFeed(d: District): { records: Record<string, unknown>[]; invalid: string[] } {
  const records: Record<string, unknown>[] = [];
  const invalid: string[] = [];
  for (const f of DISTRICT_READING_FILES) {
    const text = d.files[f]!;
    if (f.endsWith('.jsonl')) {
      for (const line of text.split('\n').filter(Boolean)) {
        try {
          const r = JSON.parse(line);
          if (typeof r.ts === 'string' && parseLocalMs(r.ts) !== undefined && typeof r.kwh === 'number' && r.kwh >= 0 && typeof r.meter_id === 'string' && /^[0-9]+$/.test(r.meter_id)) records.push(r);
          else invalid.push(line);
        } catch { invalid.push(line); }
      }
      continue;
    }
    const [header, ...rows] = text.trim().split(/\r?\n/);
    const cols = header!.split(',');
    for (const row of rows) {
      const cells = row.split(',');
      if (f === 'readings-wide.csv') {
        for (let k = 0; k < 96; k++) {
          const v = cells[k + 2];
          if (v === '' || v === undefined) continue;
          const end = parseLocalMs(`${cells[1]}T00:00:00`)! + (k + 1) * 900_000;
          records.push({ meter_id: cells[0], ts: new Date(end).toISOString().slice(0, 19) + '+08:00', kwh: Number(v) });
        }
      } else {
        const r: Record<string, unknown> = {};
        cols.forEach((c, i) => (r[c] = c === 'meter_id' || c === 'ts' ? cells[i] : Number(cells[i])));
        records.push(r);
      }
    }
  }
  records.sort((a, b) => parseLocalMs(String(a.ts))! - parseLocalMs(String(b.ts))!);
  return { records, invalid };
}

export async function produceJson(p: Producer, topic: string, records: readonly Record<string, unknown>[], invalid: readonly string[] = []): Promise<void> {
  for (let i = 0; i < records.length; i += 5000) {
    await p.send({ topic, messages: records.slice(i, i + 5000).map((r) => ({ key: String(r.meter_id), value: JSON.stringify(r) })) });
  }
  if (invalid.length) await p.send({ topic, messages: invalid.map((v) => ({ key: 'x', value: v })) });
}

/** Arrow IPC stream messages of `size` readings each (interval feeds only; register values go as JSON arrays). */
export async function produceArrow(p: Producer, topic: string, records: readonly Record<string, unknown>[], size = 5000): Promise<void> {
  const interval = records.filter((r) => r.kwh !== undefined && r.interval_min === undefined);
  const other = records.filter((r) => !(r.kwh !== undefined && r.interval_min === undefined));
  for (let i = 0; i < interval.length; i += size) {
    const chunk = interval.slice(i, i + size);
    const table = new Table({
      meter_id: vectorFromArray(chunk.map((r) => String(r.meter_id)), new Utf8()),
      // naive timestamps: Shanghai wall time
      ts: vectorFromArray(chunk.map((r) => parseLocalMs(String(r.ts))!), new TimestampMillisecond()),
      kwh: vectorFromArray(chunk.map((r) => Number(r.kwh)), new Float64()),
    });
    await p.send({ topic, messages: [{ key: `batch-${i}`, value: Buffer.from(tableToIPC(table, 'stream')), headers: { 'content-type': ARROW_CONTENT_TYPE } }] });
  }
  for (let i = 0; i < other.length; i += 2000) {
    await p.send({ topic, messages: [{ key: `json-${i}`, value: JSON.stringify(other.slice(i, i + 2000)) }] });
  }
}

/** Read a topic from the start until `idleMs` passes with nothing new. */
export async function readTopic(topic: string, idleMs = 3000): Promise<{ key: string; value: Buffer | null; headers: Record<string, string> }[]> {
  const c = kafka().consumer({ groupId: `reader-${randomUUID()}` });
  const out: { key: string; value: Buffer | null; headers: Record<string, string> }[] = [];
  let last = Date.now();
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({ eachMessage: async ({ message }) => {
    last = Date.now();
    out.push({ key: message.key?.toString() ?? '', value: message.value, headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])) });
  } });
  while (Date.now() - last < idleMs) await new Promise((r) => setTimeout(r, 200));
  await c.disconnect();
  return out;
}

/** Wait until the group has consumed everything on the topic. */
export async function waitCaughtUp(groupId: string, topic: string, timeoutMs = 180_000): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = await admin.fetchTopicOffsets(topic);
      const done = await admin.fetchOffsets({ groupId, topics: [topic] }).catch(() => []);
      const committed = new Map((done[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      if (end.every((p) => (committed.get(p.partition) ?? -1) >= Number(p.offset))) return;
      if (Date.now() > deadline) throw new Error(`group ${groupId} did not catch up on ${topic}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    await admin.disconnect();
  }
}

export async function createTopic(topic: string, partitions = 1, compact = false): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, configEntries: compact ? [{ name: 'cleanup.policy', value: 'compact' }] : [] }], waitForLeaders: true });
  await admin.disconnect();
}

/** The last local day the small district's data completes (what a caught-up worker must have closed). */
export function lastDataDay(_d: District): string {
  const spec = districtSpecSchema.parse(JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'district-small.json'), 'utf8')));
  return new Date(parseLocalMs(`${spec.start}T00:00:00`)! + (spec.days - 1) * 86_400_000).toISOString().slice(0, 10);
}

/** Poll until `check` holds (no fixed sleeps: CI machines are shared and slow at times). */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Offsets a group has committed on a topic, summed over its partitions (0 before the group forms). */
export async function committedTotal(groupId: string, topic: string): Promise<number> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    // before the group has formed the broker may answer "not the coordinator": nothing committed yet
    const r = await admin.fetchOffsets({ groupId, topics: [topic] }).catch(() => []);
    return (r[0]?.partitions ?? []).reduce((a, p) => a + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Messages on a topic (sum of the partitions' end offsets). */
export async function topicEnd(topic: string): Promise<number> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((a, p) => a + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Readings as a real feed delivers them: each arrives up to `lateMs` after its interval ends, so
 * neighbours swap places and some land after later intervals were judged (seeded, reproducible).
 */
export function arrivalOrder(records: readonly Record<string, unknown>[], lateMs: number, seed: number): Record<string, unknown>[] {
  const rand = rng(seed);
  return records
    // register values (reading_kwh) keep their order: a delta needs the value before it, and one
    // arriving after a later one is dead-lettered as already accounted for (energy kept, resolution not)
    .map((r) => ({ r, at: parseLocalMs(String(r.ts))! + (r.reading_kwh === undefined && rand() < 0.2 ? rand() * lateMs : 0) }))
    .sort((a, b) => a.at - b.at)
    .map((x) => x.r);
}
