/** The local case registry table (一本账) in DuckDB: load and upsert cases. */
import { DOUBLE, DuckDBTimestampValue, LIST, VARCHAR, listValue } from '@duckdb/node-api';
import type { Db } from './db.js';
import type { Case } from '../core/types.js';
import { parseLocalMs, formatLocal } from '../time.js';

const tsv = (iso: string) => new DuckDBTimestampValue(BigInt(parseLocalMs(iso)!) * 1000n);
const iso = (v: unknown) => formatLocal((v as Date).getTime());

export interface CaseFilter {
  meterId?: string;
  meterIds?: readonly string[];
  /** Local days (YYYY-MM-DD, inclusive) the case was first raised in. */
  raisedFrom?: string;
  raisedTo?: string;
  statuses?: readonly string[];
  /** Only this street (a street user's list: enforced in the query, not after it). */
  street?: string;
  families?: readonly string[];
  minScore?: number;
  caseId?: string;
}

/** Cases with their names joined from the registry; filters are bound as parameters. */
export async function loadCases(db: Db, filter: CaseFilter = {}): Promise<(Case & { community: string })[]> {
  const rows = (await db.con.runAndReadAll(
    `select c.*, coalesce(s.site_name, m.account_name, '') as account_name, coalesce(s.address, m.address, '') as address,
            coalesce(s.street, m.street, '') as street, coalesce(m.community, '') as community
     from cases c left join meters m using (meter_id) left join sites s on s.case_no = c.site_case_no
     where ($meter is null or c.meter_id = $meter)
       and ($meters is null or list_contains($meters, c.meter_id))
       and ($from is null or cast(c.detected_at - interval 1 microsecond as date) >= cast($from as date))
       and ($to is null or cast(c.detected_at - interval 1 microsecond as date) <= cast($to as date))
       and ($statuses is null or list_contains($statuses, c.status))
       and ($street is null or coalesce(s.street, m.street, '') = $street)
       and ($families is null or list_contains($families, c.family))
       and ($min_score is null or c.score >= $min_score)
       and ($case_id is null or c.case_id = $case_id)
     order by c.detected_at, c.case_id`,
    {
      meter: filter.meterId ?? null,
      meters: filter.meterIds ? listValue([...filter.meterIds]) : null,
      from: filter.raisedFrom ?? null,
      to: filter.raisedTo ?? null,
      statuses: filter.statuses ? listValue([...filter.statuses]) : null,
      street: filter.street ?? null,
      families: filter.families ? listValue([...filter.families]) : null,
      min_score: filter.minScore ?? null,
      case_id: filter.caseId ?? null,
    },
    { meter: VARCHAR, meters: LIST(VARCHAR), from: VARCHAR, to: VARCHAR, statuses: LIST(VARCHAR), street: VARCHAR, families: LIST(VARCHAR), min_score: DOUBLE, case_id: VARCHAR },
  )).getRowObjectsJS();
  return rows.map((r) => ({
    case_id: String(r.case_id),
    clue_source: '电力数据筛查',
    detector: r.detector as Case['detector'],
    family: r.family as Case['family'],
    problem_type: String(r.problem_type),
    meter_id: String(r.meter_id),
    site_case_no: r.site_case_no === null ? null : String(r.site_case_no),
    account_name: String(r.account_name ?? ''),
    address: String(r.address ?? ''),
    street: String(r.street ?? ''),
    community: String(r.community ?? ''),
    score: Number(r.score),
    episode_start: iso(r.episode_start),
    window_start: iso(r.window_start),
    window_end: iso(r.window_end),
    detected_at: iso(r.detected_at),
    evidence: JSON.parse(String(r.evidence)),
    summary_zh: String(r.summary_zh),
    status: r.status as Case['status'],
    revision: Number(r.revision),
  }));
}

/** Upsert cases (the registry table holds no names: they come from the reference tables on read). */
export async function saveCases(db: Db, cases: readonly Case[], updatedAtMs: number): Promise<void> {
  if (!cases.length) return;
  const con = db.con;
  await con.run(`create or replace temp table case_stage as select * from cases limit 0`);
  const app = await con.createAppender('case_stage', 'main', 'temp');
  for (const c of cases) {
    app.appendVarchar(c.case_id);
    app.appendVarchar(c.family);
    app.appendVarchar(c.detector);
    app.appendVarchar(c.problem_type);
    app.appendVarchar(c.meter_id);
    if (c.site_case_no === null) app.appendNull(); else app.appendVarchar(c.site_case_no);
    app.appendDouble(c.score);
    for (const t of [c.episode_start, c.window_start, c.window_end, c.detected_at]) app.appendTimestamp(tsv(t));
    app.appendVarchar(JSON.stringify(c.evidence));
    app.appendVarchar(c.summary_zh);
    app.appendVarchar(c.status);
    app.appendInteger(c.revision);
    app.appendTimestamp(new DuckDBTimestampValue(BigInt(updatedAtMs) * 1000n));
    app.endRow();
  }
  app.closeSync();
  await con.run(`insert or replace into cases select * from temp.case_stage`);
  // every revision is kept for the case page (the cases table holds only the latest)
  await con.run(`insert or ignore into case_revisions select case_id, revision, score, detected_at, window_end, status, summary_zh, evidence, updated_at from temp.case_stage`);
}

export interface CaseRevision { revision: number; score: number; detected_at: string; window_end: string; status: string; summary_zh: string; saved_at: string }

/** Every revision of a case, oldest first. */
export async function caseRevisions(db: Db, caseId: string): Promise<CaseRevision[]> {
  const rows = (await db.con.runAndReadAll(`select * from case_revisions where case_id = $id order by revision`, { id: caseId })).getRowObjectsJS();
  return rows.map((r) => ({
    revision: Number(r.revision), score: Number(r.score), detected_at: iso(r.detected_at), window_end: iso(r.window_end),
    status: String(r.status), summary_zh: String(r.summary_zh), saved_at: iso(r.saved_at),
  }));
}

/** Queue cases for publication (call inside the transaction that saves them). */
export async function appendOutbox(db: Db, cases: readonly Case[]): Promise<void> {
  for (const c of cases) {
    await db.con.run(`insert into case_outbox (case_id, revision, payload) values ($id, $rev, $p)`, { id: c.case_id, rev: c.revision, p: JSON.stringify(c) });
  }
}

export async function pendingOutbox(db: Db, limit = 1000): Promise<{ seq: bigint; case_id: string; revision: number; payload: string }[]> {
  const rows = (await db.con.runAndReadAll(`select seq, case_id, revision, payload from case_outbox where published_at is null order by seq limit ${Math.floor(limit)}`)).getRowObjectsJS();
  return rows.map((r) => ({ seq: r.seq as bigint, case_id: String(r.case_id), revision: Number(r.revision), payload: String(r.payload) }));
}

export async function markPublished(db: Db, seqs: readonly bigint[]): Promise<void> {
  if (!seqs.length) return;
  await db.con.run(`update case_outbox set published_at = current_timestamp where seq in (${seqs.map((s) => String(s)).join(',')})`);
}

/**
 * Cases published by any worker of the group (read back from the cases topic): stored when newer
 * than the local row. Every worker so holds every case: a worker that gains a partition knows the
 * cases already raised for its meters, and any worker can write the complete daily list.
 */
export async function mergeCases(db: Db, cases: readonly Case[], nowMs: number): Promise<number> {
  if (!cases.length) return 0;
  const rows = (await db.con.runAndReadAll(`select case_id, revision from cases where list_contains($ids, case_id)`, { ids: listValue(cases.map((c) => c.case_id)) }, { ids: LIST(VARCHAR) })).getRowObjectsJS();
  const have = new Map(rows.map((r) => [String(r.case_id), Number(r.revision)]));
  const latest = new Map<string, Case>();
  for (const c of cases) if ((latest.get(c.case_id)?.revision ?? 0) < c.revision) latest.set(c.case_id, c);
  const newer = [...latest.values()].filter((c) => c.revision > (have.get(c.case_id) ?? 0));
  await saveCases(db, newer, nowMs);
  return newer.length;
}

/** Save cases and queue them for publishing in one transaction (the worker's outbox). */
export async function saveCasesWithOutbox(db: Db, cases: readonly Case[], updatedAtMs: number): Promise<void> {
  await db.con.run('begin transaction');
  try {
    await saveCases(db, cases, updatedAtMs);
    await appendOutbox(db, cases);
    await db.con.run('commit');
  } catch (e) {
    await db.con.run('rollback').catch(() => undefined);
    throw e;
  }
}

export async function casesByDetector(db: Db): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of (await db.con.runAndReadAll(`select detector, count(*) n from cases group by detector order by detector`)).getRowObjectsJS()) {
    out[String(r.detector)] = Number(r.n);
  }
  return out;
}

/** Empty the case registry (eval runs each pipeline from no cases on the same readings). */
export async function clearCases(db: Db): Promise<void> {
  await db.con.run('delete from cases');
  // kept flags only return episodes that reach new days: with no cases, every episode must come back
  await db.con.run('delete from detector_judged');
}

/** Case revisions written to the outbox and not yet published. */
export async function pendingOutboxCount(db: Db): Promise<number> {
  return Number((await db.con.runAndReadAll(`select count(*) n from case_outbox where published_at is null`)).getRowObjectsJS()[0]!.n);
}
