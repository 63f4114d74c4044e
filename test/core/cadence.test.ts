/** A feed that does not say its interval (issue 11, item 7): daily totals are not read as 15-minute values. */
import { describe, it, expect } from 'vitest';
import { judgeCadence } from '../../src/core/cadence.js';

const rows = (meters: number, days: number, stepMin: number, extra: Record<string, unknown> = {}) =>
  Array.from({ length: meters * days }, (_, i) => ({ meter_id: `m${i % meters}`, ts: new Date(Date.UTC(2026, 9, 1) + Math.floor(i / meters) * stepMin * 60_000).toISOString().slice(0, 19) + '+08:00', kwh: 12, ...extra }));

describe('judgeCadence', () => {
  it('15-minute readings (with gaps) are read at the default', () => {
    const r = rows(5, 200, 15).filter((_, i) => i % 7 !== 0);
    expect(judgeCadence(r, 15)).toEqual({ ok: true });
  });
  it('daily totals without interval_min are read as daily, with a note', () => {
    expect(judgeCadence(rows(5, 20, 1440), 15)).toMatchObject({ ok: 'infer', interval_min: 1440, note: expect.stringContaining('read as 1440-minute values, not 15') });
    expect(judgeCadence(rows(5, 20, 60), 15)).toMatchObject({ ok: 'infer', interval_min: 60 });
  });
  it('an odd wide spacing is refused with what to do', () => {
    expect(judgeCadence(rows(5, 20, 240), 15)).toMatchObject({ ok: false, problem: expect.stringMatching(/^interval_min: readings are 240 min apart .* add an interval_min column/) });
  });
  it('records that say their interval, register values and too few readings are not judged', () => {
    expect(judgeCadence(rows(5, 20, 1440, { interval_min: 1440 }), 15)).toEqual({ ok: true });
    expect(judgeCadence(rows(5, 20, 1440).map(({ kwh: _, ...r }) => ({ ...r, reading_kwh: 5 })), 15)).toEqual({ ok: true });
    expect(judgeCadence(rows(5, 2, 1440), 15)).toEqual({ ok: true });
  });
});
