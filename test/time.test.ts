import { describe, it, expect } from 'vitest';
import { parseLocalMs, formatLocal, dayOfIntervalEnd, formatDate } from '../src/time.js';

describe('time', () => {
  it('reads offsets and treats naive times as Asia/Shanghai', () => {
    const local = parseLocalMs('2026-11-21T08:15:00+08:00')!;
    expect(formatLocal(local)).toBe('2026-11-21T08:15:00+08:00');
    expect(parseLocalMs('2026-11-21T08:15:00')).toBe(local);
    expect(parseLocalMs('2026-11-21 08:15')).toBe(local);
    expect(parseLocalMs('2026-11-21T00:15:00Z')).toBe(local);
    expect(parseLocalMs('2026-11-20T19:15:00-05:00')).toBe(local);
    expect(parseLocalMs('2026-11-21T08:15:00.500+0800')).toBe(local + 500);
  });
  it('rejects what is not a timestamp', () => {
    for (const bad of ['yesterday', '2026-02-30T00:00:00', '2026-13-01T00:00:00', '2026-11-21', '', '2026-11-21T24:30:00']) {
      expect(parseLocalMs(bad), bad).toBeUndefined();
    }
  });
  it('puts an interval ending at midnight into the previous day', () => {
    expect(formatDate(dayOfIntervalEnd(parseLocalMs('2026-11-22T00:00:00')!))).toBe('2026-11-21');
    expect(formatDate(dayOfIntervalEnd(parseLocalMs('2026-11-22T00:15:00')!))).toBe('2026-11-22');
  });
});
