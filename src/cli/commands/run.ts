import type { Command } from 'commander';
import { loadPipeline } from '../../config/pipeline.js';
import { Worker } from '../../kafka/worker.js';
import { createLogger } from '../../log.js';
import { loadReference } from '../../pipeline/backfill.js';
import { openDb } from '../../store/db.js';
import { PowerscreenError } from '../../errors.js';

export function register(program: Command): void {
  program
    .command('run')
    .description('the streaming worker: consume meter readings from Kafka, detect, publish cases (SIGTERM/SIGINT: finish the batch and exit 0)')
    .option('--pipeline <file>', 'pipeline file (JSON)')
    .option('--brokers <list>', 'Kafka brokers host:port,… (default: KAFKA_BROKERS, then the pipeline)')
    .option('--db <file>', 'DuckDB file (default: the pipeline store.db)')
    .option('--meters <file>', 'load a meter registry file before starting (the registry.meters topic also works)')
    .option('--sites <file>', 'load an enforcement-sites file before starting (the registry.sites topic also works)')
    .option('--http-port <port>', '/healthz and /metrics port (default: the pipeline worker.http_port; several workers on one host need one each)')
    .option('--idle-close <seconds>', 'treat the feed as caught up after this long without readings and close complete days', '300')
    .action(async (o: { pipeline?: string; brokers?: string; db?: string; meters?: string; sites?: string; idleClose: string; httpPort?: string }) => {
      const pipeline = loadPipeline(o.pipeline);
      if (o.httpPort !== undefined) {
        const port = Number(o.httpPort);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new PowerscreenError('CONFIG_INVALID', `--http-port: expected a port number 0-65535, got ${JSON.stringify(o.httpPort)}`);
        pipeline.worker.http_port = port;
      }
      const env = { ...process.env, ...(o.brokers ? { KAFKA_BROKERS: o.brokers } : {}) };
      const log = createLogger(process.env.POWERSCREEN_LOG_LEVEL ?? 'info');
      const dbPath = o.db ?? pipeline.store.db;
      if (o.meters || o.sites) {
        const db = await openDb(dbPath);
        try { await loadReference(db, o.meters, o.sites); } finally { db.close(); }
      }
      const worker = new Worker(pipeline, { dbPath, log, env, idleCloseS: Number(o.idleClose) });
      let stopping: Promise<void> | undefined;
      const stop = (signal: string) => {
        log.info({ signal }, 'stopping: finishing the current batch');
        stopping ??= worker.stop();
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      await worker.start();
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (stopping) { clearInterval(check); void stopping.then(resolve); }
        }, 200);
      });
    });
}
