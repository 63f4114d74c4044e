/**
 * A real single-node Apache Kafka (KRaft) for development and tests, started from Maven Central
 * jars with the machine's Java 17: no Docker, no tarball. Used by `npm run kafka:local` and by
 * the test setup. The broker has a PLAINTEXT listener and a SASL_PLAINTEXT one (PLAIN and
 * SCRAM-SHA-256), since a utility's brokers are never open.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PROJECT_ROOT } from '../paths.js';

export const KAFKA_CACHE = join(PROJECT_ROOT, '.cache', 'kafka');
export const KAFKA_LIBS = join(KAFKA_CACHE, 'libs');
export const SASL_USERS = { plain: { username: 'powerscreen', password: 'powerscreen-secret' }, scram: { username: 'powerscreen-scram', password: 'scram-secret' } };

export interface LocalBroker {
  brokers: string; // PLAINTEXT host:port
  saslBrokers: string; // SASL_PLAINTEXT host:port
  dataDir: string;
  logFile: string;
  stop(): Promise<void>;
}

/** Fetch the broker's runtime classpath from Maven Central once; later runs use the cache. */
export function ensureKafkaJars(log: (s: string) => void = () => {}): void {
  if (existsSync(KAFKA_LIBS) && readdirSync(KAFKA_LIBS).some((f) => f.startsWith('kafka_2.13-'))) return;
  log(`fetching Apache Kafka jars with Maven into ${KAFKA_LIBS} …`);
  mkdirSync(KAFKA_LIBS, { recursive: true });
  const r = spawnSync('mvn', ['-q', '-B', '-f', join(PROJECT_ROOT, 'kafka', 'pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${KAFKA_LIBS}`], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`mvn dependency:copy-dependencies failed (exit ${r.status}); is Maven installed and Maven Central reachable?`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

const canConnect = (port: number) => new Promise<boolean>((resolve) => {
  const s = connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

export async function startLocalBroker(opts: { log?: (s: string) => void; timeoutMs?: number; dataDir?: string } = {}): Promise<LocalBroker> {
  const log = opts.log ?? (() => {});
  ensureKafkaJars(log);
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'powerscreen-kafka-'));
  mkdirSync(dataDir, { recursive: true });
  const props = join(dataDir, 'server.properties');
  // A data folder this function formatted before is started again as it was: same cluster id,
  // same ports (clients and stored offsets point at them), its topics and offsets kept.
  const reuse = existsSync(props) && existsSync(join(dataDir, 'logs', 'meta.properties'));
  const [port, saslPort, controllerPort] = reuse ? portsOf(readFileSync(props, 'utf8'), props) : [await freePort(), await freePort(), await freePort()];
  const plain = SASL_USERS.plain;
  if (!reuse) writeFileSync(props, [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    // 127.0.0.1, not localhost: Node may resolve localhost to ::1
    `listeners=PLAINTEXT://127.0.0.1:${port},SASL_PLAINTEXT://127.0.0.1:${saslPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port},SASL_PLAINTEXT://127.0.0.1:${saslPort}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
    'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256',
    `listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_${plain.username}="${plain.password}";`,
    'listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    `log.dirs=${join(dataDir, 'logs')}`,
    'num.partitions=1',
    // one broker: every internal topic must have replication factor and min ISR 1, or the group coordinator never appears
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=5',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'min.insync.replicas=1',
    'default.replication.factor=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    'message.max.bytes=10485760',
    'log.retention.hours=-1',
    'log.segment.bytes=67108864',
  ].join('\n') + '\n');
  const cp = `${KAFKA_LIBS}/*`;
  const scram = SASL_USERS.scram;
  if (!reuse) {
    const fmt = spawnSync('java', ['-cp', cp, 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', props, '--add-scram', `SCRAM-SHA-256=[name=${scram.username},password=${scram.password}]`], { encoding: 'utf8' });
    if (fmt.status !== 0) throw new Error(`kafka storage format failed: ${fmt.stderr || fmt.stdout}`);
  }
  const logFile = join(dataDir, 'broker.log');
  const out = openSync(logFile, 'a'); // to a file, not an unread pipe that would block the broker
  const proc: ChildProcess = spawn('java', ['-Xms256m', '-Xmx768m', '-Dlog4j.configuration=file:' + writeLog4j(dataDir), '-cp', cp, 'kafka.Kafka', props], { stdio: ['ignore', out, out], detached: false });
  let exited = false;
  proc.on('exit', () => { exited = true; });
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  while (!(await canConnect(port)) || !readFileSync(logFile, 'utf8').includes('started (kafka.server.KafkaRaftServer)')) {
    if (exited) throw new Error(`Kafka exited during start; see ${logFile}:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    if (Date.now() > deadline) { proc.kill('SIGKILL'); throw new Error(`Kafka did not start within ${(opts.timeoutMs ?? 120_000) / 1000} s; see ${logFile}`); }
    await new Promise((r) => setTimeout(r, 250));
  }
  log(`Kafka ${readdirSync(KAFKA_LIBS).find((f) => f.startsWith('kafka_2.13-'))?.replace(/\.jar$/, '')} on 127.0.0.1:${port} (SASL on ${saslPort}), data in ${dataDir}`);
  return {
    brokers: `127.0.0.1:${port}`,
    saslBrokers: `127.0.0.1:${saslPort}`,
    dataDir,
    logFile,
    async stop() {
      if (!exited) {
        proc.kill('SIGTERM');
        const t = Date.now();
        while (!exited && Date.now() - t < 15_000) await new Promise((r) => setTimeout(r, 100));
        if (!exited) proc.kill('SIGKILL');
      }
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The PLAINTEXT, SASL and controller ports a server.properties written here listens on. */
function portsOf(text: string, file: string): [number, number, number] {
  const m = /^listeners=PLAINTEXT:\/\/[^:]+:(\d+),SASL_PLAINTEXT:\/\/[^:]+:(\d+),CONTROLLER:\/\/[^:]+:(\d+)$/m.exec(text);
  if (!m) throw new Error(`${file}: listeners: not a kafka-local data folder (expected PLAINTEXT, SASL_PLAINTEXT and CONTROLLER listeners)`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function writeLog4j(dir: string): string {
  const p = join(dir, 'log4j.properties');
  writeFileSync(p, 'log4j.rootLogger=INFO, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\nlog4j.appender.stdout.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\nlog4j.logger.kafka=INFO\nlog4j.logger.org.apache.kafka=WARN\nlog4j.logger.kafka.server.KafkaRaftServer=INFO\n');
  return p;
}
