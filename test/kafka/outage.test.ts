/**
 * A broker outage is visible: /healthz turns 503 with the reason once the broker has been silent
 * for worker.broker_silence_s, and ok again when it is back. The broker is a kafka-local of this
 * test's own, restarted on its own data folder (same cluster, same ports, topics kept).
 */
import { describe, it, expect, afterAll } from 'vitest';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startLocalBroker, freePort, type LocalBroker } from '../../src/kafka/localBroker.js';
import { Worker } from '../../src/kafka/worker.js';
import { parsePipeline } from '../../src/config/pipeline.js';
import { createLogger } from '../../src/log.js';
import { tempDir } from '../helpers.js';
import { waitFor } from './helpers.js';

const tmp = tempDir();
let broker: LocalBroker | undefined;
afterAll(async () => {
  await broker?.stop();
  tmp.cleanup();
});

const healthz = async (port: number) => {
  const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
  return r ? { status: r.status, body: (await r.json()) as Record<string, unknown> } : { status: 0, body: {} };
};

describe('broker outage', () => {
  it('healthz says so within broker_silence_s, and recovers when the broker restarts on its data', async () => {
    const dataDir = join(tmp.dir, 'kafka');
    broker = await startLocalBroker({ dataDir });
    const first = broker.brokers;
    const port = await freePort();
    const pipeline = parsePipeline({
      kafka: { brokers: [first], group_id: 'outage', connect_timeout_s: 30, topics: { readings: 'r', dlq: 'd', cases: 'c', meters: 'm', sites: 's', feedback: 'f', peers: 'p' } },
      worker: { http_port: port, stats_interval_s: 3600, broker_silence_s: 10 },
    });
    const admin = new Kafka({ brokers: [first], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'r', numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const worker = new Worker(pipeline, { dbPath: join(tmp.dir, 'w.duckdb'), log: createLogger('silent'), idleCloseS: 1 });
    await worker.start();
    try {
      await waitFor('healthz ok', async () => (await healthz(port)).status === 200, 60_000);
      await broker.stop();
      let down = { status: 0, body: {} as Record<string, unknown> };
      await waitFor('healthz to report the outage', async () => (down = await healthz(port)).status === 503, 90_000);
      expect(String(down.body.reason)).toMatch(/no answer from the Kafka broker for \d+ s|consumer crashed/);

      // the same data folder starts the same broker again: same address, topics kept
      broker = await startLocalBroker({ dataDir });
      expect(broker.brokers).toBe(first);
      const again = new Kafka({ brokers: [first], logLevel: logLevel.NOTHING }).admin();
      await again.connect();
      expect(await again.listTopics()).toContain('r');
      await again.disconnect();
      await waitFor('healthz ok after the broker is back', async () => (await healthz(port)).status === 200, 120_000);
    } finally {
      await worker.stop();
    }
  }, 400_000);
});
