/**
 * Verdicts on cases from the street offices: kept as a history (never overwritten), the latest
 * applied to the case status, exported as labels. A verdict's id makes applying it idempotent:
 * the worker re-reads the whole feedback topic at every start, and the console's own verdicts come
 * back on it too.
 */
import { randomUUID } from 'node:crypto';
import { DuckDBTimestampValue, LIST, TIMESTAMP, VARCHAR, listValue } from '@duckdb/node-api';
import type { Db } from './db.js';
import { PowerscreenError } from '../errors.js';
import type { CaseStatus } from '../core/types.js';
import { formatLocal, nowLocalMs } from '../time.js';

export const VERDICTS = ['confirmed', 'dismissed', 'duplicate'] as const;
export type Verdict = (typeof VERDICTS)[number];

export interface VerdictInput {
  case_id: string;
  verdict: string;
  note?: string;
  /** duplicate: the case this one repeats. */
  duplicate_of?: string;
  given_by?: string;
  /** Stable id (the console's, or topic:partition:offset for a message without one). */
  verdict_id?: string;
}

export interface VerdictRecord {
  verdict_id: string;
  case_id: string;
  verdict: Verdict;
  note: string | null;
  duplicate_of: string | null;
  given_by: string | null;
  given_at: string;
}

/** Check a verdict before anything is stored: names the field and the reason. */
export function verdictProblem(v: VerdictInput): string | undefined {
  if (!(VERDICTS as readonly string[]).includes(v.verdict)) return `verdict: expected confirmed, dismissed or duplicate, got ${JSON.stringify(v.verdict)}`;
  if (v.verdict === 'duplicate' && !v.duplicate_of) return 'duplicate_of: a duplicate names the case it repeats';
  if (v.verdict !== 'duplicate' && v.duplicate_of) return 'duplicate_of: only a duplicate names another case';
  if (v.duplicate_of === v.case_id) return 'duplicate_of: a case cannot duplicate itself';
  if (v.note !== undefined && v.note.length > 2000) return `note: at most 2000 characters, got ${v.note.length}`;
  return undefined;
}

/** `atLocalMs`: when the verdict was given, Shanghai wall-clock (default now). */
export async function applyFeedback(db: Db, v: VerdictInput, atLocalMs = nowLocalMs()): Promise<{ meter_id: string; previous: CaseStatus; applied: boolean; verdict_id: string }> {
  const problem = verdictProblem(v);
  if (problem) throw new PowerscreenError('CONFIG_INVALID', problem);
  const row = (await db.con.runAndReadAll(`select meter_id, status from cases where case_id = $id`, { id: v.case_id })).getRowObjectsJS()[0];
  if (!row) throw new PowerscreenError('INPUT_NOT_FOUND', `case_id: no case ${v.case_id} in ${db.path}`);
  if (v.duplicate_of && !(await db.con.runAndReadAll(`select 1 from cases where case_id = $id`, { id: v.duplicate_of })).getRowObjectsJS().length) {
    throw new PowerscreenError('INPUT_NOT_FOUND', `duplicate_of: no case ${v.duplicate_of} in ${db.path}`);
  }
  const verdictId = v.verdict_id ?? randomUUID();
  const seen = (await db.con.runAndReadAll(`select 1 from case_feedback where verdict_id = $vid`, { vid: verdictId })).getRowObjectsJS().length > 0;
  const out = { meter_id: String(row.meter_id), previous: row.status as CaseStatus, applied: !seen, verdict_id: verdictId };
  if (seen) return out;
  await db.con.run('begin transaction');
  try {
    await db.con.run(
      `insert into case_feedback (case_id, verdict, note, verdict_id, given_by, duplicate_of, given_at) values ($id, $v, $n, $vid, $by, $dup, $at)`,
      { id: v.case_id, v: v.verdict, n: v.note ?? null, vid: verdictId, by: v.given_by ?? null, dup: v.duplicate_of ?? null, at: new DuckDBTimestampValue(BigInt(atLocalMs) * 1000n) },
      { id: VARCHAR, v: VARCHAR, n: VARCHAR, vid: VARCHAR, by: VARCHAR, dup: VARCHAR, at: TIMESTAMP },
    );
    await db.con.run(`update cases set status = $v where case_id = $id`, { id: v.case_id, v: v.verdict });
    await db.con.run('commit');
  } catch (e) {
    await db.con.run('rollback').catch(() => undefined);
    throw e;
  }
  return out;
}

const toRecord = (r: Record<string, unknown>): VerdictRecord => ({
  verdict_id: String(r.verdict_id), case_id: String(r.case_id), verdict: r.verdict as Verdict,
  note: r.note === null ? null : String(r.note), duplicate_of: r.duplicate_of === null ? null : String(r.duplicate_of),
  given_by: r.given_by === null ? null : String(r.given_by), given_at: formatLocal((r.given_at as Date).getTime()),
});

/** Every verdict on a case, oldest first. */
export async function verdictHistory(db: Db, caseId: string): Promise<VerdictRecord[]> {
  return (await db.con.runAndReadAll(`select * from case_feedback where case_id = $id order by given_at, verdict_id`, { id: caseId })).getRowObjectsJS().map(toRecord);
}

/** The latest verdict of each of these cases. */
export async function latestVerdicts(db: Db, caseIds: readonly string[]): Promise<Map<string, VerdictRecord>> {
  if (!caseIds.length) return new Map();
  const rows = (await db.con.runAndReadAll(
    `select * from case_feedback where list_contains($ids, case_id) qualify row_number() over (partition by case_id order by given_at desc, verdict_id desc) = 1`,
    { ids: listValue([...caseIds]) }, { ids: LIST(VARCHAR) },
  )).getRowObjectsJS();
  return new Map(rows.map((r) => [String(r.case_id), toRecord(r)]));
}

/** Verified cases as labels for `eval` (meter_id, kind, onset, verdict): confirmed ones are events, dismissed ones known negatives; unvisited cases are neither. */
export async function labelsFromFeedback(db: Db): Promise<{ meter_id: string; kind: string; onset: string; verdict: string }[]> {
  const rows = (await db.con.runAndReadAll(
    `select meter_id, case when family = 'site' then 'restored' else 'workshop' end as kind, strftime(episode_start, '%Y-%m-%dT%H:%M:%S+08:00') as onset, status as verdict
     from cases where status in ('confirmed', 'dismissed') order by meter_id, episode_start`,
  )).getRowObjectsJS();
  return rows.map((r) => ({ meter_id: String(r.meter_id), kind: String(r.kind), onset: String(r.onset), verdict: String(r.verdict) }));
}
