import type { Command } from 'commander';
import { loadPipeline } from '../../config/pipeline.js';
import { openDb, serialQueue } from '../../store/db.js';
import { startConsole } from '../../console/server.js';
import { PowerscreenError } from '../../errors.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('the district console (排查明细表, case pages and verdicts, backlog, quarterly counts) on a database filled by backfill; a running worker serves the same console itself')
    .option('--db <file>', 'DuckDB file (default: the pipeline store.db)')
    .option('--port <port>', 'port (default: the pipeline worker.http_port)')
    .option('--host <addr>', 'address to listen on (default: the pipeline worker.http_host, loopback)')
    .option('--pipeline <file>', 'pipeline file (JSON)')
    .action(async (o: { db?: string; port?: string; host?: string; pipeline?: string }) => {
      const pipeline = loadPipeline(o.pipeline);
      const port = o.port === undefined ? pipeline.worker.http_port : Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new PowerscreenError('CONFIG_INVALID', `--port: expected a port number 0-65535, got ${JSON.stringify(o.port)}`);
      const dbPath = o.db ?? pipeline.store.db;
      const db = await openDb(dbPath, { mustExist: true, memoryLimit: pipeline.store.memory_limit, threads: pipeline.store.threads });
      const serial = serialQueue();
      const c = await startConsole(pipeline, dbPath, o.host ?? pipeline.worker.http_host, port, {
        withDb: (fn) => serial(() => fn(db)), mode: 'history', unit: pipeline.report.district,
      });
      const n = c.accounts.size();
      process.stdout.write(`console: ${c.url}/list  (database ${dbPath}; ${n} account(s)${n ? '' : ' — create one: powerscreen users add <name> --role district'})\n`);
      await new Promise<void>((resolve) => {
        const stop = () => void c.close().then(() => { db.close(); resolve(); });
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });
}
