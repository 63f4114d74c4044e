/**
 * Console sessions: random tokens held in memory (a restart logs everyone out, which is the safe
 * side), expiring after an idle period. The cookie carries only the token.
 */
import { randomBytes } from 'node:crypto';
import type { Principal } from './users.js';

export interface Session extends Principal {
  expiresMs: number;
}

export class SessionStore {
  private sessions = new Map<string, Session>();
  constructor(private readonly idleMs: number, private readonly now: () => number = Date.now) {}

  create(p: Principal): string {
    const token = randomBytes(32).toString('base64url');
    this.sessions.set(token, { ...p, expiresMs: this.now() + this.idleMs });
    return token;
  }

  /** The session of a token, sliding its expiry; 'expired' for a token that was valid once. */
  get(token: string | undefined): Session | 'expired' | undefined {
    if (!token) return undefined;
    const s = this.sessions.get(token);
    if (!s) return undefined;
    if (s.expiresMs <= this.now()) {
      this.sessions.delete(token);
      return 'expired';
    }
    s.expiresMs = this.now() + this.idleMs;
    return s;
  }

  drop(token: string | undefined): void {
    if (token) this.sessions.delete(token);
  }
}
