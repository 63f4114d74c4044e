/** Test helpers for the console: a demo database with accounts, a running console on it, a Chromium. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runDemo } from '../../src/cli/commands/demo.js';
import { openDb, serialQueue, type Db } from '../../src/store/db.js';
import { hashPassword, saveAccounts, usersFileFor, type Account } from '../../src/console/users.js';
import { parsePipeline } from '../../src/config/pipeline.js';
import { startConsole, type RunningConsole } from '../../src/console/server.js';

export const PASSWORD = 'correct-horse-1';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!CHROMIUM && process.env.CI) throw new Error("headless Chromium missing: .ci/run installs Debian's chromium package");

/** The demo district backfilled into `dir`, with a district, two street and an analyst account. */
export async function demoDatabase(dir: string): Promise<{ dbPath: string; streets: string[] }> {
  const r = await runDemo(dir, { quiet: true });
  const hash = await hashPassword(PASSWORD);
  const at = '2026-11-23T00:00:00+08:00';
  const accounts: Account[] = [
    { username: 'district', role: 'district', hash, created_at: at },
    { username: 'gudong', role: 'street', street: '鼓东街道', hash, created_at: at },
    { username: 'wenquan', role: 'street', street: '温泉街道', hash, created_at: at },
    { username: 'analyst', role: 'analyst', hash, created_at: at },
  ];
  saveAccounts(usersFileFor(r.dbPath), accounts);
  return { dbPath: r.dbPath, streets: ['鼓东街道', '温泉街道'] };
}

/** A console on the database, as `powerscreen serve` runs it (port 0: any free port). */
export async function serveDatabase(dbPath: string, pipelineJson: Record<string, unknown> = {}): Promise<{ db: Db; console: RunningConsole; close: () => Promise<void> }> {
  const pipeline = parsePipeline(pipelineJson);
  const db = await openDb(dbPath);
  const serial = serialQueue();
  const c = await startConsole(pipeline, dbPath, '127.0.0.1', 0, { withDb: (fn) => serial(() => fn(db)), mode: 'history', unit: '鼓楼区' });
  return { db, console: c, close: async () => { await c.close(); db.close(); } };
}

export const demoDir = (root: string) => join(root, 'demo');
