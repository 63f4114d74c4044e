/** What a given/expect case draws from its compact series, and how its expected leads match. */
import { describe, it, expect } from 'vitest';
import { leadMatches, seriesReadings, sqlCaseSchema } from '../../src/core/sqlCase.js';
import { formatLocal, parseLocalMs } from '../../src/time.js';

const series = (s: Record<string, unknown>) => sqlCaseSchema.parse({ description: '', detector: 'x', given: { series: [s] }, expect: [] }).given.series[0]!;

describe('seriesReadings', () => {
  it('draws the bands on their weekdays and the constant draw outside them, one reading an interval', () => {
    // 2026-10-05 is a Monday: a workshop 8-18 at 10 kW Monday to Friday over 0.5 kW
    const r = seriesReadings(series({ meter_id: 'w', start: '2026-10-05', interval_min: 60, segments: [{ days: 7, kw: 0.5, bands: [[8, 18, 10]], weekdays: [1, 2, 3, 4, 5] }] }));
    expect(r).toHaveLength(7 * 24);
    const at = (iso: string) => r.find((x) => x.ts_ms === parseLocalMs(iso))!.kwh;
    expect(at('2026-10-05T09:00:00')).toBe(10); // the hour 08:00-09:00, ending at 09:00
    expect(at('2026-10-05T08:00:00')).toBe(0.5);
    expect(at('2026-10-05T18:00:00')).toBe(10);
    expect(at('2026-10-05T19:00:00')).toBe(0.5);
    expect(at('2026-10-10T09:00:00')).toBe(0.5); // Saturday
    expect(formatLocal(r.at(-1)!.ts_ms)).toBe('2026-10-12T00:00:00+08:00');
  });

  it('integrates the bands over the day on a daily feed, and names copies prefix-1…N', () => {
    const r = seriesReadings(series({ meter_id: 'h', copies: 2, start: '2026-10-05', interval_min: 1440, segments: [{ days: 2, kw: 1, bands: [[8, 18, 4]] }] }));
    expect(r.map((x) => x.meter_id)).toEqual(['h-1', 'h-1', 'h-2', 'h-2']);
    expect(r.map((x) => x.kwh)).toEqual([54, 54, 54, 54]); // 24 × 1 + 10 × (4 − 1)
  });

  it('follows its segments one after another, with a wobble that moves days but not their mean much', () => {
    const r = seriesReadings(series({ meter_id: 'm', start: '2026-10-05', interval_min: 15, segments: [{ days: 1, kw: 2 }, { days: 10, kw: 0, wobble: 0.2, bands: [[0, 24, 1]] }] }));
    expect(r).toHaveLength(11 * 96);
    expect(r.slice(0, 96).every((x) => x.kwh === 0.5)).toBe(true);
    const days = Array.from({ length: 10 }, (_, d) => r.slice(96 * (d + 1), 96 * (d + 2)).reduce((a, x) => a + x.kwh, 0));
    expect(new Set(days.map((d) => d.toFixed(2))).size).toBeGreaterThan(5);
    expect(Math.min(...days)).toBeGreaterThanOrEqual(24 * 0.8 - 1e-6);
    expect(Math.max(...days)).toBeLessThanOrEqual(24 * 1.2 + 1e-6);
  });

  it('a start that is not a local date is refused with the field named', () => {
    const r = sqlCaseSchema.safeParse({ description: '', detector: 'x', given: { series: [{ meter_id: 'm', start: '5 Oct', segments: [{ days: 1 }] }] }, expect: [] });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['given', 'series', 0, 'start']);
    expect(r.error!.issues[0]!.message).toBe('expected a local date YYYY-MM-DD');
  });
});

describe('leadMatches', () => {
  const lead = { meter_id: 'w', episode_start_ms: parseLocalMs('2026-10-09T00:00:00'), score: 0.6, evidence: { draw_hours: [8, 9, 10], ratio: 5.2 } };

  it('checks only the fields named: dates as local text, _min and _max as bounds, lists element by element, dotted paths into the evidence', () => {
    expect(leadMatches({ meter_id: 'w', episode_start_ms: '2026-10-09' }, lead)).toBe(true);
    expect(leadMatches({ episode_start_ms: '2026-10-10' }, lead)).toBe(false);
    expect(leadMatches({ score_min: 0.6, score_max: 0.7 }, lead)).toBe(true);
    expect(leadMatches({ score_min: 0.61 }, lead)).toBe(false);
    expect(leadMatches({ 'evidence.draw_hours': [8, 9, 10] }, lead)).toBe(true);
    expect(leadMatches({ 'evidence.draw_hours': [8, 9] }, lead)).toBe(false);
    expect(leadMatches({ 'evidence.ratio_min': 5 }, lead)).toBe(true);
    expect(leadMatches({ 'evidence.missing': 1 }, lead)).toBe(false);
  });
});
