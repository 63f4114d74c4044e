/**
 * Console accounts: a JSON file beside the database (owner-only), managed by `powerscreen users`
 * while the worker runs (the accounts are not in the DuckDB file, so managing them never fights
 * the worker's lock), re-read by the server when it changes. Passwords are hashed with scrypt,
 * memory-hard, from node:crypto.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PowerscreenError } from '../errors.js';
import { writePrivateFile } from '../sinks/private.js';

export const ROLES = ['district', 'street', 'analyst'] as const;
export type Role = (typeof ROLES)[number];

export interface Account {
  username: string;
  role: Role;
  /** A street user's street (街道/镇): every page, API call and download is limited to it. */
  street?: string;
  /** scrypt$N$r$p$salt$hash (base64). */
  hash: string;
  created_at: string;
}

/** Who is asking, as the console's access checks see it. */
export interface Principal {
  username: string;
  role: Role;
  street?: string;
}

// N = 2^15 with r = 8 takes 32 MiB and ~50–100 ms per hash: slow for a guesser, fine for a login
const N = 1 << 15, R = 8, P = 1, KEYLEN = 32;
const scrypt = (pw: string, salt: Buffer, n: number, r: number, p: number) => new Promise<Buffer>((res, rej) => {
  const o: ScryptOptions = { N: n, r, p, maxmem: 128 * n * r * 2 };
  scryptCb(pw.normalize('NFC'), salt, KEYLEN, o, (e, k) => (e ? rej(e) : res(k)));
});

export const MIN_PASSWORD = 10;

export async function hashPassword(password: string): Promise<string> {
  if (password.length < MIN_PASSWORD) throw new PowerscreenError('CONFIG_INVALID', `password: at least ${MIN_PASSWORD} characters`);
  const salt = randomBytes(16);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${(await scrypt(password, salt, N, R, P)).toString('base64')}`;
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const [kind, n, r, p, salt, key] = hash.split('$');
  if (kind !== 'scrypt' || !salt || !key) return false;
  const want = Buffer.from(key, 'base64');
  const got = await scrypt(password, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p));
  return got.length === want.length && timingSafeEqual(got, want);
}

/** The accounts file of a database: `<dir>/console-users.json` unless the pipeline names one. */
export function usersFileFor(dbPath: string, configured?: string): string {
  return configured ?? join(dirname(dbPath), 'console-users.json');
}

export function loadAccounts(file: string): Account[] {
  if (!existsSync(file)) return [];
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new PowerscreenError('CONFIG_INVALID', `${file}: not valid JSON (${(e as Error).message})`);
  }
  const users = (json as { users?: unknown }).users;
  if (!Array.isArray(users)) throw new PowerscreenError('CONFIG_INVALID', `${file}: users: expected a list`);
  return users as Account[];
}

export function saveAccounts(file: string, accounts: readonly Account[]): void {
  writePrivateFile(file, JSON.stringify({ users: accounts }, null, 2) + '\n');
}

export function accountProblem(a: { username: string; role: string; street?: string }): string | undefined {
  if (!/^[\p{L}\p{N}_.-]{2,40}$/u.test(a.username)) return 'username: 2–40 letters, digits, _ . or -';
  if (!(ROLES as readonly string[]).includes(a.role)) return `role: expected district, street or analyst, got ${JSON.stringify(a.role)}`;
  if (a.role === 'street' && !a.street) return 'street: a street account names its street (--street)';
  if (a.role !== 'street' && a.street) return 'street: only a street account has a street';
  return undefined;
}

/** Accounts as the server sees them: re-read when the file changes (an account added while it runs). */
export class AccountBook {
  private mtime = -1;
  private byName = new Map<string, Account>();
  constructor(readonly file: string) {}

  private fresh(): Map<string, Account> {
    const m = existsSync(this.file) ? statSync(this.file).mtimeMs : 0;
    if (m !== this.mtime) {
      this.byName = new Map(loadAccounts(this.file).map((a) => [a.username, a]));
      this.mtime = m;
    }
    return this.byName;
  }

  get(username: string): Account | undefined {
    return this.fresh().get(username);
  }

  size(): number {
    return this.fresh().size;
  }
}
