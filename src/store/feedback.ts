/** Verdicts on cases from the street offices: stored, applied to the case status, exported as labels. */
import type { Db } from './db.js';
import { PowerscreenError } from '../errors.js';
import type { CaseStatus } from '../core/types.js';

export const VERDICTS = ['confirmed', 'dismissed', 'duplicate'] as const;
export type Verdict = (typeof VERDICTS)[number];

export async function applyFeedback(db: Db, caseId: string, verdict: string, note?: string): Promise<{ meter_id: string; previous: CaseStatus }> {
  if (!(VERDICTS as readonly string[]).includes(verdict)) throw new PowerscreenError('CONFIG_INVALID', `verdict: expected confirmed, dismissed or duplicate, got ${JSON.stringify(verdict)}`);
  const row = (await db.con.runAndReadAll(`select meter_id, status from cases where case_id = $id`, { id: caseId })).getRowObjectsJS()[0];
  if (!row) throw new PowerscreenError('INPUT_MALFORMED', `case_id: no case ${caseId} in ${db.path}`);
  await db.con.run('begin transaction');
  try {
    await db.con.run(`insert into case_feedback (case_id, verdict, note) values ($id, $v, $n)`, { id: caseId, v: verdict, n: note ?? null });
    await db.con.run(`update cases set status = $v where case_id = $id`, { id: caseId, v: verdict });
    await db.con.run('commit');
  } catch (e) {
    await db.con.run('rollback').catch(() => undefined);
    throw e;
  }
  return { meter_id: String(row.meter_id), previous: row.status as CaseStatus };
}

/** Verified cases as labels for `eval` (meter_id, kind, onset, verdict): confirmed ones are events, dismissed ones known negatives; unvisited cases are neither. */
export async function labelsFromFeedback(db: Db): Promise<{ meter_id: string; kind: string; onset: string; verdict: string }[]> {
  const rows = (await db.con.runAndReadAll(
    `select meter_id, case when family = 'site' then 'restored' else 'workshop' end as kind, strftime(episode_start, '%Y-%m-%dT%H:%M:%S+08:00') as onset, status as verdict
     from cases where status in ('confirmed', 'dismissed') order by meter_id, episode_start`,
  )).getRowObjectsJS();
  return rows.map((r) => ({ meter_id: String(r.meter_id), kind: String(r.kind), onset: String(r.onset), verdict: String(r.verdict) }));
}
