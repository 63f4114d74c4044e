/** The registry contracts (meters, sites) at the boundary. */
import { describe, it, expect } from 'vitest';
import { siteSchema } from '../../src/contracts/registry.js';

describe('site measure is the contract closed set (issue 11, item 8)', () => {
  it('a measure outside 关停取缔|整合搬迁|升级改造 is refused naming the field; empty is allowed', () => {
    const r = siteSchema.safeParse({ case_no: 'GL1', meter_id: 'm1', measure: '关停', status: '已整改' });
    expect(r.success).toBe(false);
    expect(`${r.error!.issues[0]!.path.join('.')}: ${r.error!.issues[0]!.message}`).toBe('measure: expected 关停取缔|整合搬迁|升级改造 (or empty)');
    expect(siteSchema.safeParse({ case_no: 'GL1', meter_id: 'm1', measure: '' }).success).toBe(true);
    expect(siteSchema.safeParse({ case_no: 'GL1', meter_id: 'm1', measure: ' 整合搬迁 ' }).success).toBe(true);
  });
});
