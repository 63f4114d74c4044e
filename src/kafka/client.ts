/** kafkajs client from the pipeline file and environment; kafkajs logs are routed into pino. */
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { Pipeline } from '../config/pipeline.js';
import { PowerscreenError } from '../errors.js';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = { [logLevel.ERROR]: 'error', [logLevel.WARN]: 'warn', [logLevel.INFO]: 'info', [logLevel.DEBUG]: 'debug' };

export function brokersOf(p: Pipeline, env: NodeJS.ProcessEnv = process.env): string[] {
  return env.KAFKA_BROKERS ? env.KAFKA_BROKERS.split(',').map((s) => s.trim()).filter(Boolean) : p.kafka.brokers;
}

export function kafkaConfig(p: Pipeline, log: Logger, env: NodeJS.ProcessEnv = process.env): KafkaConfig {
  const k = p.kafka;
  let ssl: KafkaConfig['ssl'];
  if (env.KAFKA_SSL === '1' || k.ssl === true) ssl = true;
  else if (k.ssl) ssl = { rejectUnauthorized: k.ssl.reject_unauthorized, ...(k.ssl.ca_file ? { ca: [readFileSync(k.ssl.ca_file, 'utf8')] } : {}) };
  const mechanism = (env.KAFKA_SASL_MECHANISM ?? k.sasl?.mechanism) as SASLOptions['mechanism'] | undefined;
  let sasl: SASLOptions | undefined;
  if (mechanism) {
    const username = env.KAFKA_SASL_USERNAME ?? k.sasl?.username;
    const password = env.KAFKA_SASL_PASSWORD ?? k.sasl?.password;
    if (!username || password === undefined) throw new PowerscreenError('CONFIG_INVALID', 'kafka.sasl: a mechanism needs username and password (password may come from KAFKA_SASL_PASSWORD)');
    if (!['plain', 'scram-sha-256', 'scram-sha-512'].includes(mechanism)) throw new PowerscreenError('CONFIG_INVALID', `kafka.sasl.mechanism: expected plain, scram-sha-256 or scram-sha-512, got ${mechanism}`);
    sasl = { mechanism, username, password } as SASLOptions;
  }
  const klog = log.child({ component: 'kafkajs' });
  return {
    clientId: k.client_id,
    brokers: brokersOf(p, env),
    ssl,
    sasl,
    connectionTimeout: 5000,
    retry: { initialRetryTime: 300, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, level, log: entry }) => {
      const { message, timestamp: _t, logger: _l, ...rest } = entry as { message: string; timestamp?: string; logger?: string };
      klog[LEVELS[level] ?? 'info']({ namespace, ...rest }, message);
    },
  };
}

export function createKafka(p: Pipeline, log: Logger, env: NodeJS.ProcessEnv = process.env): Kafka {
  return new Kafka(kafkaConfig(p, log, env));
}
