/**
 * Before the integration tests: a real Kafka broker — KAFKA_BROKERS if set, testcontainers when a
 * Docker engine answers, otherwise a single-node KRaft broker from Maven Central jars.
 */
import type { TestProject } from 'vitest/node';
import { startTestBroker } from './testBroker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    kafkaSaslBrokers: string;
    kafkaKind: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const broker = await startTestBroker((s) => process.stderr.write(`[kafka] ${s}\n`));
  process.stderr.write(`[kafka] tests use ${broker.kind} broker at ${broker.brokers}\n`);
  project.provide('kafkaBrokers', broker.brokers);
  project.provide('kafkaSaslBrokers', broker.saslBrokers ?? '');
  project.provide('kafkaKind', broker.kind);
  return () => broker.stop();
}
