/** Decoding what every worker reads whole: nothing on these topics can stop the feed (issue 11, item 2). */
import { describe, it, expect } from 'vitest';
import { decodeRegistryBatch } from '../../src/kafka/registryFeed.js';

const msg = (value: string | null, offset = '0') => ({ key: Buffer.from('k'), value: value === null ? null : Buffer.from(value), offset });
const goodCase = { case_id: 'PS-1', meter_id: 'm1', detector: 'step_up', family: 'workshop', episode_start: '2026-10-12T00:00:00+08:00', window_start: '2026-10-12T00:00:00+08:00', window_end: '2026-10-20T00:00:00+08:00', detected_at: '2026-10-16T00:00:00+08:00', status: 'open', revision: 1, score: 0.8, evidence: {} };

describe('registry feed decoding', () => {
  it('a malformed case message is dead-lettered with its reason; the good one is applied', () => {
    const d = decodeRegistryBatch('cases', 'cases', 0, [msg('{"case_id":"bogus","revision":1}', '1'), msg(JSON.stringify(goodCase), '2'), msg('not json', '3'), msg(null, '4'), msg('[1,2]', '5')]);
    expect(d.cases.map((c) => c.case_id)).toEqual(['PS-1']);
    expect(d.dead.map((x) => [x.offset, x.reason])).toEqual([
      ['1', 'meter_id: expected a non-empty string'],
      ['3', expect.stringMatching(/^message: not JSON/)],
      ['5', 'message: expected a JSON object'],
    ]);
  });

  it('peers, meters, sites and verdicts: every bad message names the field', () => {
    expect(decodeRegistryBatch('peers', 'p', 0, [msg('{"meter_id":"m","day":"2026-13-01","kwh_day":1}')]).dead[0]!.reason).toBe('day: expected YYYY-MM-DD');
    expect(decodeRegistryBatch('peers', 'p', 0, [msg('{"partition":"x","closed_through":"2026-10-01"}')]).dead[0]!.reason).toMatch(/^partition:/);
    const peers = decodeRegistryBatch('peers', 'p', 0, [msg('{"meter_id":"m","day":"2026-10-01","kwh_day":1.5,"profiled":true,"work_kw":null}'), msg('{"partition":2,"closed_through":"2026-10-01"}')]);
    expect(peers.peerRows).toHaveLength(1);
    expect(peers.marks).toEqual([{ partition: 2, day: expect.any(Number) }]);
    expect(decodeRegistryBatch('meters', 'm', 0, [msg('{"meter_id":"m1","category":"spaceship"}')]).dead[0]!.reason).toMatch(/^category/);
    expect(decodeRegistryBatch('feedback', 'f', 0, [msg('{"verdict":"confirmed"}')]).dead[0]!.reason).toBe('case_id: expected a non-empty string');
    // a date without a time would fail the insert of every case in the batch: only this one is dead-lettered
    const dated = decodeRegistryBatch('cases', 'cases', 0, [msg(JSON.stringify({ ...goodCase, case_id: 'PS-2', episode_start: '2026-10-12' }), '6'), msg(JSON.stringify(goodCase), '7')]);
    expect(dated.cases.map((c) => c.case_id)).toEqual(['PS-1']);
    expect(dated.dead[0]!.reason).toBe('episode_start: expected an ISO-8601 date and time (got "2026-10-12")');
  });
});
