import { describe, it, expect } from 'vitest';
import { dueLists, retryDelayMin } from '../../src/delivery/plan.js';
import { parseLocalMs } from '../../src/time.js';

describe('delivery plan', () => {
  it('daily lists from the configured time for the day before; on Fridays also the weekly table', () => {
    const at = (iso: string) => parseLocalMs(iso)!;
    expect(dueLists(at('2026-10-21T07:29:00+08:00'), '07:30', ['A'], ['email'])).toEqual([]);
    expect(dueLists(at('2026-10-21T07:30:00+08:00'), '07:30', ['A', 'B'], ['email'])).toEqual([
      { day: '2026-10-20', street: 'A', kind: 'daily', channel: 'email' }, { day: '2026-10-20', street: 'B', kind: 'daily', channel: 'email' },
    ]);
    // 2026-10-23 is a Friday
    expect(dueLists(at('2026-10-23T09:00:00+08:00'), '07:30', ['A'], ['email', 'webhook']).map((p) => `${p.kind}/${p.channel}/${p.day}`)).toEqual([
      'daily/email/2026-10-22', 'weekly/email/2026-10-22', 'daily/webhook/2026-10-22', 'weekly/webhook/2026-10-22',
    ]);
  });
  it('retries back off 1, 2, 4 … minutes up to an hour', () => {
    expect([1, 2, 3, 4, 7, 8, 20].map(retryDelayMin)).toEqual([1, 2, 4, 8, 60, 60, 60]);
  });
});
