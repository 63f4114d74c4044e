/**
 * How a CLI command reaches the process that holds a database: that process (worker or `serve`)
 * writes `<db>.console.json` (owner-only: whoever may read the database may ask its server) with
 * its URL and a bearer token. A command finds it, checks the server answers, and goes through the
 * API instead of opening the file — so it never fights the worker's lock.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { PowerscreenError } from '../errors.js';
import { writePrivateFile } from '../sinks/private.js';

export interface WorkerLink { url: string; token: string; pid: number }

export const linkFileFor = (dbPath: string) => `${dbPath}.console.json`;

export function writeLink(dbPath: string, link: WorkerLink): void {
  writePrivateFile(linkFileFor(dbPath), JSON.stringify(link) + '\n');
}

export function removeLink(dbPath: string, pid = process.pid): void {
  const f = linkFileFor(dbPath);
  try {
    if (existsSync(f) && (JSON.parse(readFileSync(f, 'utf8')) as WorkerLink).pid === pid) rmSync(f);
  } catch { /* a broken link file is ignored and overwritten at the next start */ }
}

export class WorkerClient {
  constructor(readonly link: WorkerLink) {}

  private async call(method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.link.url + path, {
        method, headers: { authorization: `Bearer ${this.link.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new PowerscreenError('STORE_FAILED', `the running worker at ${this.link.url} did not answer: ${(e as Error).message}`, { cause: e });
    }
    if (!res.ok) {
      const text = await res.text();
      let msg = text;
      try { msg = (JSON.parse(text) as { error?: string }).error ?? text; } catch { /* plain text */ }
      throw new PowerscreenError(res.status === 404 ? 'INPUT_NOT_FOUND' : res.status >= 500 ? 'STORE_FAILED' : 'CONFIG_INVALID', msg.trim());
    }
    return res;
  }

  async text(path: string): Promise<{ text: string; headers: Headers }> {
    const r = await this.call('GET', path);
    return { text: await r.text(), headers: r.headers };
  }

  async json<T>(path: string): Promise<T> {
    return (await (await this.call('GET', path)).json()) as T;
  }

  async post<T>(path: string, body: unknown, headers?: Record<string, string>): Promise<T> {
    return (await (await this.call('POST', path, body, headers)).json()) as T;
  }
}

/** The server holding this database, if one runs and answers; undefined otherwise (open the file). */
export async function findWorker(dbPath: string): Promise<WorkerClient | undefined> {
  const f = linkFileFor(dbPath);
  if (!existsSync(f)) return undefined;
  let link: WorkerLink;
  try {
    link = JSON.parse(readFileSync(f, 'utf8')) as WorkerLink;
  } catch {
    return undefined;
  }
  try {
    process.kill(link.pid, 0);
  } catch {
    return undefined; // a stale file from a process that died
  }
  const c = new WorkerClient(link);
  try {
    await c.json('/api/whoami');
    return c;
  } catch {
    return undefined;
  }
}

/** One line on stderr saying where a command's answer came from. */
export function sayVia(c: WorkerClient | undefined, dbPath: string): void {
  process.stderr.write(c ? `powerscreen: via the running worker at ${c.link.url} (it holds ${dbPath})\n` : '');
}
