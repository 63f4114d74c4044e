/**
 * One conformance suite every CaseSink adapter passes: published cases can be read back whole,
 * a re-published (case_id, revision) is identical, a later revision supersedes, files are
 * owner-only. (The Kafka topic is the worker's outbox publisher, covered in test/kafka.)
 */
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { JsonlCaseSink, MemoryCaseSink, SnapshotCaseSink, type CaseSink } from '../../src/sinks/caseSink.js';
import type { Case } from '../../src/core/types.js';
import { tempDir } from '../helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const aCase = (id: string, revision: number, score = 0.8): Case => ({
  case_id: id, clue_source: '电力数据筛查', detector: 'step_up', family: 'workshop', problem_type: '疑似散乱污生产（用电量突增）',
  meter_id: 'm1', site_case_no: null, account_name: '陈某', address: '某路1号', street: '鼓东街道', score,
  episode_start: '2026-10-12T00:00:00+08:00', window_start: '2026-10-12T00:00:00+08:00', window_end: '2026-10-20T00:00:00+08:00',
  detected_at: '2026-10-16T00:00:00+08:00', evidence: {}, summary_zh: '10月12日起日均用电 60 kWh', status: 'open', revision,
});

type Adapter = { name: string; make: () => CaseSink; read: (s: CaseSink) => Case[]; file?: (s: CaseSink) => string };
const lines = (p: string) => readFileSync(p, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Case);
const adapters: Adapter[] = [
  { name: 'JsonlCaseSink (append log)', make: () => new JsonlCaseSink(join(tmp.dir, `log-${Math.random()}.jsonl`)), read: (s) => lines((s as JsonlCaseSink).path), file: (s) => (s as JsonlCaseSink).path },
  { name: 'SnapshotCaseSink (current set)', make: () => new SnapshotCaseSink(join(tmp.dir, `snap-${Math.random()}.jsonl`)), read: (s) => lines((s as SnapshotCaseSink).path), file: (s) => (s as SnapshotCaseSink).path },
  { name: 'MemoryCaseSink', make: () => new MemoryCaseSink(), read: (s) => (s as MemoryCaseSink).published },
];

/** What a consumer keeps: the highest revision of each case. */
const latest = (cs: Case[]) => {
  const m = new Map<string, Case>();
  for (const c of cs) if ((m.get(c.case_id)?.revision ?? 0) <= c.revision) m.set(c.case_id, c);
  return [...m.values()].sort((a, b) => a.case_id.localeCompare(b.case_id));
};

describe.each(adapters)('$name', (a) => {
  it('gives back what was published; re-sends are identical; a later revision supersedes', async () => {
    const s = a.make();
    await s.publish([aCase('PS-1', 1), aCase('PS-2', 1)]);
    await s.publish([aCase('PS-1', 1)]); // a re-send after a crash
    await s.publish([aCase('PS-2', 2, 0.95)]);
    await s.close();
    const got = a.read(s);
    for (const c of got) {
      const same = got.filter((x) => x.case_id === c.case_id && x.revision === c.revision);
      for (const x of same) expect(x).toEqual(c);
    }
    expect(latest(got)).toEqual([aCase('PS-1', 1), aCase('PS-2', 2, 0.95)]);
  });

});

describe.each(adapters.filter((a) => a.file))('$name (a file)', (a) => {
  it('files holding names and addresses are readable by their owner only', async () => {
    const s = a.make();
    await s.publish([aCase('PS-3', 1)]);
    await s.close();
    expect(statSync(a.file!(s)).mode & 0o777).toBe(0o600);
  });
});
