/** The deliveries table: one row per list that must go out; sent_at set once delivered. */
import { DuckDBTimestampValue, TIMESTAMP, VARCHAR, INTEGER } from '@duckdb/node-api';
import type { Db } from './db.js';
import type { PlannedDelivery } from '../delivery/plan.js';
import { formatDate, formatLocal } from '../time.js';

const ts = (ms: number) => new DuckDBTimestampValue(BigInt(ms) * 1000n);

export interface DeliveryRow extends PlannedDelivery { rows: number; attempts: number; last_error: string | null; sent_at: string | null }

/** Record planned deliveries not yet known (a restart plans the same rows again: ignored). */
export async function planDeliveries(db: Db, planned: readonly (PlannedDelivery & { rows: number })[]): Promise<void> {
  for (const p of planned) {
    await db.con.run(
      `insert or ignore into deliveries (day, street, kind, channel, rows) values (cast($day as date), $street, $kind, $channel, $rows)`,
      { day: p.day, street: p.street, kind: p.kind, channel: p.channel, rows: p.rows }, { day: VARCHAR, street: VARCHAR, kind: VARCHAR, channel: VARCHAR, rows: INTEGER },
    );
  }
}

export async function isPlanned(db: Db, p: PlannedDelivery): Promise<boolean> {
  return (await db.con.runAndReadAll(`select 1 from deliveries where day = cast($day as date) and street = $street and kind = $kind and channel = $channel`, { day: p.day, street: p.street, kind: p.kind, channel: p.channel })).getRowObjectsJS().length > 0;
}

const toRow = (r: Record<string, unknown>): DeliveryRow => ({
  day: formatDate((r.day as Date).getTime()), street: String(r.street), kind: r.kind as DeliveryRow['kind'], channel: r.channel as DeliveryRow['channel'],
  rows: Number(r.rows), attempts: Number(r.attempts), last_error: r.last_error === null ? null : String(r.last_error), sent_at: r.sent_at === null ? null : formatLocal((r.sent_at as Date).getTime()),
});

/** Unsent deliveries whose retry time has come and that have attempts left. */
export async function dueDeliveries(db: Db, nowLocalMs: number, maxAttempts: number): Promise<DeliveryRow[]> {
  return (await db.con.runAndReadAll(
    `select * from deliveries where sent_at is null and attempts < $max and (next_try is null or next_try <= $now) order by day, street, kind, channel`,
    { max: maxAttempts, now: ts(nowLocalMs) }, { max: INTEGER, now: TIMESTAMP },
  )).getRowObjectsJS().map(toRow);
}

export async function markSent(db: Db, d: PlannedDelivery, atLocalMs: number): Promise<void> {
  await db.con.run(`update deliveries set sent_at = $at, attempts = attempts + 1, last_error = null where day = cast($day as date) and street = $street and kind = $kind and channel = $channel`,
    { at: ts(atLocalMs), day: d.day, street: d.street, kind: d.kind, channel: d.channel }, { at: TIMESTAMP, day: VARCHAR, street: VARCHAR, kind: VARCHAR, channel: VARCHAR });
}

export async function markFailed(db: Db, d: PlannedDelivery, error: string, nextTryLocalMs: number): Promise<void> {
  await db.con.run(`update deliveries set attempts = attempts + 1, last_error = $err, next_try = $next where day = cast($day as date) and street = $street and kind = $kind and channel = $channel`,
    { err: error.slice(0, 500), next: ts(nextTryLocalMs), day: d.day, street: d.street, kind: d.kind, channel: d.channel }, { err: VARCHAR, next: TIMESTAMP, day: VARCHAR, street: VARCHAR, kind: VARCHAR, channel: VARCHAR });
}

/** Deliveries that are not sent: failing (retrying) or given up. */
export async function failingDeliveries(db: Db): Promise<DeliveryRow[]> {
  return (await db.con.runAndReadAll(`select * from deliveries where sent_at is null and attempts > 0 order by day, street`)).getRowObjectsJS().map(toRow);
}
