/**
 * The broker for the integration tests, in the order the README gives: KAFKA_BROKERS if set;
 * testcontainers when a Docker engine answers; otherwise the local Maven-jar broker.
 */
import { spawnSync } from 'node:child_process';
import { startLocalBroker } from '../../src/kafka/localBroker.js';

export async function startTestBroker(log: (s: string) => void = () => {}): Promise<{ brokers: string; saslBrokers?: string; kind: string; stop(): Promise<void> }> {
  if (process.env.KAFKA_BROKERS) return { brokers: process.env.KAFKA_BROKERS, saslBrokers: process.env.KAFKA_SASL_BROKERS, kind: 'KAFKA_BROKERS', async stop() {} };
  if (spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 5000 }).status === 0) {
    const { KafkaContainer } = await import('@testcontainers/kafka');
    const c = await new KafkaContainer('apache/kafka:3.9.1').withKraft().start();
    return { brokers: `${c.getHost()}:${c.getMappedPort(9093)}`, kind: 'testcontainers', async stop() { await c.stop(); } };
  }
  const b = await startLocalBroker({ log });
  return { brokers: b.brokers, saslBrokers: b.saslBrokers, kind: 'local (Maven jars)', stop: () => b.stop() };
}
