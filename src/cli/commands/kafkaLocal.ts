import type { Command } from 'commander';
import { startLocalBroker } from '../../kafka/localBroker.js';

export function register(program: Command): void {
  program
    .command('kafka-local')
    .description('start a single-node Apache Kafka (KRaft) from Maven Central jars for development; Ctrl-C stops it')
    .option('--data <dir>', 'keep the broker data in this folder (default: a temporary one, removed on stop)')
    .action(async (o: { data?: string }) => {
      const b = await startLocalBroker({ log: (s) => process.stderr.write(s + '\n'), dataDir: o.data });
      process.stdout.write(`KAFKA_BROKERS=${b.brokers}\nKAFKA_SASL_BROKERS=${b.saslBrokers}  (SASL PLAIN powerscreen/powerscreen-secret; SCRAM-SHA-256 powerscreen-scram/scram-secret)\nbroker log: ${b.logFile}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await b.stop();
    });
}
