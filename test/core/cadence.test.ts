/** A feed that does not say its interval (issue 11, item 7): daily totals are not read as 15-minute values. */
import { describe, it, expect } from 'vitest';
import { judgeCadence } from '../../src/core/cadence.js';

const rows = (meters: number, n: number, stepMin: number, startMin = 0, extra: Record<string, unknown> = {}) =>
  Array.from({ length: meters * n }, (_, i) => ({ meter_id: `m${i % meters}`, ts: new Date(Date.UTC(2026, 9, 1) + (startMin + Math.floor(i / meters) * stepMin) * 60_000).toISOString().slice(0, 19) + '+08:00', kwh: 12, ...extra }));
// the fixture writes UTC wall times with a +08:00 suffix: midnight here is 00:00 local

describe('judgeCadence', () => {
  it('15-minute readings, dense or sparse (a file of late corrections), are read at the default', () => {
    expect(judgeCadence(rows(5, 200, 15), 15)).toEqual({ ok: true });
    expect(judgeCadence(rows(60, 20, 885, 15), 15)).toEqual({ ok: true });
  });
  it('daily totals without interval_min are read as daily, with a note', () => {
    expect(judgeCadence(rows(5, 20, 1440), 15)).toMatchObject({ ok: 'infer', interval_min: 1440, note: expect.stringContaining('read as daily totals (1440 min), not 15-minute values') });
  });
  it('records that say their interval, register values, too few records and many values at one midnight are not judged', () => {
    expect(judgeCadence(rows(5, 20, 1440, 0, { interval_min: 1440 }), 15)).toEqual({ ok: true });
    expect(judgeCadence(rows(5, 20, 1440).map(({ kwh: _, ...r }) => ({ ...r, reading_kwh: 5 })), 15)).toEqual({ ok: true });
    expect(judgeCadence(rows(5, 2, 1440), 15)).toEqual({ ok: true });
    expect(judgeCadence(rows(1, 30, 1440).flatMap((r) => [r, r]), 15)).toEqual({ ok: true });
  });
});
