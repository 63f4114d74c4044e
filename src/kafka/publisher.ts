/**
 * Everything the worker produces: cases from the outbox, dead letters, peer rows and partition
 * markers. One idempotent producer; the store tells what is pending.
 */
import type { Producer, RecordMetadata } from 'kafkajs';
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import { markPublished, pendingOutbox } from '../store/caseStore.js';
import type { PeerRow } from '../store/peers.js';
import { formatDate } from '../time.js';

/** Dead letters per produce request (bytes, roughly): well under a default broker's 1 MiB message.max.bytes, unless one letter alone is larger. */
const DLQ_REQUEST_BYTES = 512 * 1024;

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  reason: string;
  headers?: Record<string, unknown>;
}

export interface PublisherTopics {
  cases: string;
  dlq: string;
  peers: string;
  feedback: string;
}

export class Publisher {
  casesPublished = 0;
  deadLetters = 0;
  /**
   * Per peers-topic partition, the base offset of the last batch this worker published there:
   * everything it has published is before that batch's end. A partition snapshot records it, so a
   * new worker that takes its peer rows from the snapshots reads the topic only from there.
   */
  readonly peersPublished = new Map<number, bigint>();

  private notePeersSent(meta: readonly RecordMetadata[]): void {
    for (const m of meta) {
      if (m.topicName !== this.topics.peers || m.baseOffset === undefined) continue;
      const o = BigInt(m.baseOffset);
      if (o > (this.peersPublished.get(m.partition) ?? -1n)) this.peersPublished.set(m.partition, o);
    }
  }

  constructor(private readonly producer: Producer, private readonly topics: PublisherTopics, private readonly log: Logger) {}

  /** A verdict given on this worker's console, for every worker of the group (each applies it once, by its id). */
  async publishVerdict(v: { verdict_id: string; case_id: string }): Promise<void> {
    await this.producer.send({ topic: this.topics.feedback, messages: [{ key: v.case_id, value: JSON.stringify(v) }] });
  }

  /** Publish every case revision the outbox holds, then mark it published (a crash in between republishes: identical). */
  async publishOutbox(db: Db): Promise<void> {
    for (;;) {
      const rows = await pendingOutbox(db, 500);
      if (!rows.length) return;
      await this.producer.send({
        topic: this.topics.cases,
        messages: rows.map((r) => ({ key: r.case_id, value: r.payload, headers: { 'case-revision': String(r.revision), 'content-type': 'application/json' } })),
      });
      await markPublished(db, rows.map((r) => r.seq));
      this.casesPublished += rows.length;
    }
  }

  /** Dead letters with their original bytes and the reason, source topic, partition and offset as headers. */
  async sendDlq(dead: readonly DeadLetter[]): Promise<void> {
    if (!dead.length) return;
    const messages = dead.map((d) => ({
      key: d.key,
      value: d.value,
      headers: {
        ...Object.fromEntries(Object.entries(d.headers ?? {}).filter(([, v]) => v !== undefined).map(([k, v]) => [k, Buffer.isBuffer(v) ? v : String(v)])),
        'x-error-reason': d.reason,
        'x-source-topic': d.topic,
        'x-source-partition': String(d.partition),
        'x-source-offset': d.offset,
      },
    }));
    // in requests of bounded size: one produce request must stay under the broker's message.max.bytes
    let chunk: typeof messages = [];
    let bytes = 0;
    for (const m of messages) {
      const size = (m.value?.length ?? 0) + (m.key?.length ?? 0) + 200;
      if (chunk.length && bytes + size > DLQ_REQUEST_BYTES) {
        await this.producer.send({ topic: this.topics.dlq, messages: chunk });
        chunk = [];
        bytes = 0;
      }
      chunk.push(m);
      bytes += size;
    }
    if (chunk.length) await this.producer.send({ topic: this.topics.dlq, messages: chunk });
    this.deadLetters += dead.length;
    // one line per source and reason, not per element: a bulk message of 50k bad elements is one line
    const byReason = new Map<string, { topic: string; partition: number; first_offset: string; reason: string; count: number }>();
    for (const d of dead) {
      const k = `${d.topic}|${d.partition}|${d.reason}`;
      const e = byReason.get(k);
      if (e) e.count++;
      else byReason.set(k, { topic: d.topic, partition: d.partition, first_offset: d.offset, reason: d.reason, count: 1 });
    }
    for (const e of byReason.values()) this.log.warn(e, 'dead-lettered');
  }

  /** Changed peer rows of this worker's meters (a prepare publishes them slice by slice, then peersClosed). */
  async publishPeerRows(rows: readonly PeerRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 5000) {
      this.notePeersSent(await this.producer.send({
        topic: this.topics.peers,
        messages: rows.slice(i, i + 5000).map((r) => ({
          key: `${r.meter_id}|${formatDate(r.day_ms)}`,
          value: JSON.stringify({ meter_id: r.meter_id, day: formatDate(r.day_ms), kwh_day: r.kwh_day, profiled: r.profiled, work_kw: r.work_kw }),
        })),
      }));
    }
  }

  /** A marker per owned partition: its peer rows through `day` are all on the topic (one-partition topic: after them, in order). */
  async publishPeersClosed(day: number, partitions: readonly number[]): Promise<void> {
    const closed = formatDate(day);
    this.notePeersSent(await this.producer.send({ topic: this.topics.peers, messages: partitions.map((p) => ({ key: `closed|${p}`, value: JSON.stringify({ partition: p, closed_through: closed }) })) }));
  }
}
