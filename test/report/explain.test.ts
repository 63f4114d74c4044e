/** The explain chart as a clerk reads it: round ticks, a legend, labels apart, a band that shows the step. */
import { describe, it, expect } from 'vitest';
import { explain, labelRows, niceAxis, renderSvg } from '../../src/report/explain.js';
import type { ExplainData } from '../../src/core/types.js';

const dayOf = (i: number) => new Date(Date.UTC(2026, 8, 1) + i * 86_400_000).toISOString().slice(0, 10);
const series = (n: number, kwh: (i: number) => number): ExplainData['daily'] => Array.from({ length: n }, (_, i) => ({ day: dayOf(i), kwh: kwh(i), covered_min: 1440 }));
const data = (daily: ExplainData['daily'], sites: ExplainData['sites'] = []): ExplainData => ({
  meter: { meter_id: 'm1', account_name: '陈某', address: '', street: '鼓东街道', category: 'resident', contract_kva: 8 },
  daily, recent: [], peer: { percentile: null, peers: 0, meter_kwh_day: null, peer_median_kwh_day: null, scope: '同街道' }, sites, cases: [],
});
// a little day-to-day noise, deterministic
const wobble = (i: number) => ((i * 7919) % 13) / 13 - 0.5;

describe('explain chart', () => {
  it('axis ticks are round numbers that cover the series', () => {
    expect(niceAxis(266.6)).toEqual({ step: 100, top: 300 });
    expect(niceAxis(21)).toEqual({ step: 5, top: 25 });
    expect(niceAxis(9.2)).toEqual({ step: 2, top: 10 });
    expect(niceAxis(0.7, 2)).toEqual({ step: 0.25, top: 0.75 });
    expect(niceAxis(1234)).toEqual({ step: 250, top: 1250 });
    const svg = renderSvg(explain(data(series(60, (i) => (i < 30 ? 20 : 100) + 3 * wobble(i)))));
    const ticks = [...svg.matchAll(/class="y-tick"[^>]*>([^<]+)</g)].map((m) => Number(m[1]));
    expect(ticks).toEqual([0, 25, 50, 75, 100, 125]);
  });

  it('the baseline band does not balloon after a step: it starts afresh at the change point', () => {
    const e = explain(data(series(60, (i) => (i < 30 ? 20 : 100) + 3 * wobble(i))));
    expect(e.change_points.map((c) => c.day)).toEqual([dayOf(30)]);
    const maxHigh = Math.max(...e.band.map((b) => b.high));
    // the old window mixed 20 and 100 and reached ~260 kWh/day; now no band edge passes the data's range by much
    expect(maxHigh).toBeLessThan(120);
    // the new regime has its own band once it has a week of days
    expect(e.band.some((b) => b.day >= dayOf(37) && b.median > 90)).toBe(true);
    expect(e.band.some((b) => b.day > dayOf(30) && b.day < dayOf(37))).toBe(false);
  });

  it('and afresh after a power cut', () => {
    const e = explain(data(series(60, (i) => (i < 30 ? 50 + 2 * wobble(i) : i < 33 ? 0 : 45 + 2 * wobble(i))), [{ case_no: 'GL1', site_name: '某厂', measure: '断电', status: '已整改', power_cut_at: `${dayOf(29)}T18:00:00+08:00`, halt_ordered_at: null }]));
    expect(Math.max(...e.band.map((b) => b.high))).toBeLessThan(60);
  });

  it('change-point labels that would overlap go on separate rows; a legend names every mark', () => {
    const rows = labelRows([{ x: 100, text: '▲ 10-01 +80 kWh/日' }, { x: 130, text: '▼ 10-05 -60 kWh/日' }, { x: 400, text: '▲ 11-01 +5 kWh/日' }]);
    expect(rows).toEqual([0, 1, 0]);
    // a year on one chart: change points 8 days apart are 20 px apart
    const svg = renderSvg(explain(data(series(240, (i) => (i < 100 ? 10 : i < 108 ? 60 : i < 116 ? 10 : 60) + wobble(i)))));
    const ys = [...svg.matchAll(/class="change-point-label"[^>]* x="([\d.]+)" y="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
    expect(ys.length).toBeGreaterThan(1);
    for (let i = 0; i < ys.length; i++) for (let j = i + 1; j < ys.length; j++) {
      if (ys[i]![1] === ys[j]![1]) expect(Math.abs(ys[i]![0] - ys[j]![0])).toBeGreaterThan(100);
    }
    for (const name of ['日用电量', '基线', '用电变化点', '停电/责令停产', '线索发现']) expect(svg).toMatch(new RegExp(`class="legend".*${name}`, 's'));
  });
});
