/** The console's audit log: who gave which verdict and who downloaded which list (no names or addresses). */
import { DuckDBTimestampValue, TIMESTAMP, VARCHAR } from '@duckdb/node-api';
import type { Db } from './db.js';
import { nowLocalMs } from '../time.js';

export interface AuditEntry { username: string; action: string; target?: string; detail?: string }

export async function recordAudit(db: Db, e: AuditEntry, atLocalMs = nowLocalMs()): Promise<void> {
  await db.con.run(
    `insert into audit_log (logged_at, username, action, target, detail) values ($at, $u, $a, $t, $d)`,
    { at: new DuckDBTimestampValue(BigInt(atLocalMs) * 1000n), u: e.username, a: e.action, t: e.target ?? null, d: e.detail ?? null },
    { at: TIMESTAMP, u: VARCHAR, a: VARCHAR, t: VARCHAR, d: VARCHAR },
  );
}
