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
  it('rejects what only looks like a timestamp (issue 11, item 5)', () => {
    // years 0–99 used to become 1900–1999; a bogus offset and a leap second used to pass
    for (const bad of ['0026-10-01T00:00:00', '0026-10-01T00:00:00+08:00', '2026-11-21T08:15:00+99:99', '2026-11-21T08:15:60+08:00', '1969-12-31T23:00:00', '2999-01-01T00:00:00+08:00']) {
      expect(parseLocalMs(bad), bad).toBeUndefined();
    }
    expect(parseLocalMs('2026-11-21T08:15:00+14:00')).toBeDefined();
  });
  it('reads the same text the same way however often it comes, valid or not', () => {
    // parseLocalMs keeps the last text it read (a feed repeats each interval's timestamp)
    const a = '2026-11-21T08:15:00+08:00', b = '2026-11-21T08:30:00+08:00';
    for (const t of [a, a, b, 'nonsense', 'nonsense', a, '2026-02-30T00:00:00', b]) {
      expect(parseLocalMs(t), t).toBe(t === a ? Date.UTC(2026, 10, 21, 8, 15) : t === b ? Date.UTC(2026, 10, 21, 8, 30) : undefined);
    }
  });
  it('puts an interval ending at midnight into the previous day', () => {
    expect(formatDate(dayOfIntervalEnd(parseLocalMs('2026-11-22T00:00:00')!))).toBe('2026-11-21');
    expect(formatDate(dayOfIntervalEnd(parseLocalMs('2026-11-22T00:15:00')!))).toBe('2026-11-22');
  });
});
