/**
 * Before any test: build dist/ (CLI tests run the real binary, never stale code) and start a real
 * Kafka broker for the integration tests — KAFKA_BROKERS if set, testcontainers when a Docker
 * engine answers, otherwise a single-node KRaft broker from Maven Central jars.
 */
import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { startTestBroker } from '../src/kafka/localBroker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    kafkaSaslBrokers: string;
    kafkaKind: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  const broker = await startTestBroker((s) => process.stderr.write(`[kafka] ${s}\n`));
  process.stderr.write(`[kafka] tests use ${broker.kind} broker at ${broker.brokers}\n`);
  project.provide('kafkaBrokers', broker.brokers);
  project.provide('kafkaSaslBrokers', broker.saslBrokers ?? '');
  project.provide('kafkaKind', broker.kind);
  return () => broker.stop();
}
