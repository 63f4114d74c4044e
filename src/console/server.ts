/** Start the console for a database: listen, and write the link file the CLI finds it by. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Pipeline } from '../config/pipeline.js';
import { buildConsole, type ConsoleDeps } from './app.js';
import { AccountBook, usersFileFor } from './users.js';
import { removeLink, writeLink } from './workerLink.js';
import { PowerscreenError } from '../errors.js';

export interface RunningConsole { url: string; close(): Promise<void>; accounts: AccountBook }

export async function startConsole(
  pipeline: Pipeline, dbPath: string, host: string, port: number,
  deps: Omit<ConsoleDeps, 'accounts' | 'apiToken' | 'https' | 'secureCookies' | 'sessionIdleMinutes' | 'loginPerMinute'>,
): Promise<RunningConsole> {
  const c = pipeline.console;
  const accounts = new AccountBook(usersFileFor(dbPath, c.users_file));
  let https: ConsoleDeps['https'];
  if (c.tls) {
    try {
      https = { key: readFileSync(c.tls.key_file), cert: readFileSync(c.tls.cert_file) };
    } catch (e) {
      throw new PowerscreenError('CONFIG_INVALID', `console.tls: cannot read the certificate files: ${(e as Error).message}`, { cause: e });
    }
  }
  const token = randomBytes(32).toString('base64url');
  const app = await buildConsole({
    ...deps, accounts, apiToken: token, https, secureCookies: Boolean(https),
    sessionIdleMinutes: c.session_idle_min, loginPerMinute: c.login_per_minute,
  });
  await app.listen({ host, port });
  const addr = app.server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  const url = `${https ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host}:${actualPort}`;
  writeLink(dbPath, { url, token, pid: process.pid });
  return {
    url, accounts,
    async close() {
      removeLink(dbPath);
      await app.close();
    },
  };
}
