/**
 * DuckDB edge: opening a database (file or memory) with nothing downloading at run time, and
 * applying the numbered migrations in sql/migrations/ exactly once each.
 */
import { chmodSync, existsSync, readdirSync, readFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { PowerscreenError } from '../errors.js';
import { MACRO_DIR, SQL_DIR } from '../paths.js';

export interface Db {
  instance: DuckDBInstance;
  con: DuckDBConnection;
  path: string;
  close(): void;
}

export interface OpenOptions {
  memoryLimit?: string;
  threads?: number;
  /** A command that only reads: a mistyped path is an error, not a new empty database. */
  mustExist?: boolean;
}

export async function openDb(path = ':memory:', opts: OpenOptions = {}): Promise<Db> {
  if (path !== ':memory:' && opts.mustExist && !existsSync(path)) {
    throw new PowerscreenError('INPUT_NOT_FOUND', `${path}: no such database (run backfill or the worker first, or check --db)`);
  }
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const options: Record<string, string> = {
    // Nothing may download at run time: extensions we need (json, parquet, icu) are built in.
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    memory_limit: opts.memoryLimit ?? '4GB',
    // A hash join whose build side has up to this many keys filters the probe side's scan by the
    // key list, which the zone maps can skip row groups by (default 50). The day detectors join the
    // hourly table with the few hours they need (baseline_anomaly's same hours of earlier weeks:
    // 24 × 52 for a one-day close); with the default, only the keys' min and max filter the scan,
    // and the hours between are read too.
    dynamic_or_filter_threshold: '10000',
  };
  if (opts.threads) options.threads = String(opts.threads);
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(path, options);
  } catch (e) {
    const msg = (e as Error).message;
    const hint = /lock/i.test(msg) ? ' (is a worker or another command using this database file?)' : '';
    throw new PowerscreenError('STORE_FAILED', `${path}: cannot open database${hint}: ${msg.split('\n')[0]}`);
  }
  // the file holds names and addresses (the registry): readable by its owner only
  if (path !== ':memory:') for (const f of [path, `${path}.wal`]) if (existsSync(f)) chmodSync(f, 0o600);
  const con = await instance.connect();
  await migrate(con);
  await createMacros(con);
  return {
    instance, con, path,
    close() {
      con.closeSync();
      instance.closeSync();
    },
  };
}

/**
 * One queue for every task on a database: DuckDB transactions on one connection must not
 * interleave (the worker's batches, registry updates, console requests; `serve`'s requests).
 */
export function serialQueue(): <T>(fn: () => Promise<T>) => Promise<T> {
  let lock: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>) => {
    const next = lock.then(fn, fn);
    lock = next.catch(() => undefined);
    return next;
  };
}

/** The shared SQL steps (sql/macros/*.sql) as TEMP macros: per connection, never stored in the file. */
export async function createMacros(con: DuckDBConnection, dir = MACRO_DIR): Promise<void> {
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.sql')).sort()) {
    try {
      await con.run(readFileSync(join(dir, f), 'utf8'));
    } catch (e) {
      throw new PowerscreenError('DETECTOR_FAILED', `${join(dir, f)}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
    }
  }
}

export function listMigrations(): { version: number; name: string; sql: string }[] {
  const dir = join(SQL_DIR, 'migrations');
  return readdirSync(dir)
    .filter((f) => /^\d{3}_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f, sql: readFileSync(join(dir, f), 'utf8') }));
}

/** Run fn inside one transaction: committed when it resolves, rolled back (and rethrown) when it throws. */
export async function inTransaction<T>(con: DuckDBConnection, fn: () => Promise<T>): Promise<T> {
  await con.run('begin transaction');
  try {
    const out = await fn();
    await con.run('commit');
    return out;
  } catch (e) {
    await con.run('rollback').catch(() => undefined);
    throw e;
  }
}

export async function migrate(con: DuckDBConnection): Promise<number> {
  await con.run(`create table if not exists schema_migrations (version integer primary key, name varchar not null, applied_at timestamp not null default current_timestamp)`);
  const done = new Set((await con.runAndReadAll(`select version from schema_migrations`)).getRowObjectsJS().map((r) => Number(r.version)));
  let applied = 0;
  for (const m of listMigrations()) {
    if (done.has(m.version)) continue;
    await con.run('begin transaction');
    try {
      await con.run(m.sql);
      await con.run(`insert into schema_migrations (version, name) values ($v, $n)`, { v: m.version, n: m.name });
      await con.run('commit');
      applied++;
    } catch (e) {
      await con.run('rollback');
      throw new PowerscreenError('STORE_FAILED', `migration ${m.name} failed: ${(e as Error).message}`);
    }
  }
  return applied;
}
