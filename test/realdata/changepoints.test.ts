/**
 * Change-point methods compared on real London households with injected steps (issue: "compare at
 * least two methods and keep the better"): the SQL step detector's windowed-median test, binary
 * segmentation and CUSUM. Located = within ±3 days of the injected onset; spurious = a change point
 * on a household with nothing injected. The figures are printed and the kept method is asserted.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { loadLondon, londonAvailable, planInjections, toReadings, type HouseholdDay } from '../support/realData.js';
import { binarySegmentation, cusumUp } from '../../src/core/changepoints.js';
import { DAY_MS } from '../../src/time.js';

describe.skipIf(!londonAvailable())('change-point methods on real households', () => {
  let days: HouseholdDay[];
  beforeAll(async () => {
    days = await loadLondon(600);
  });

  it('binary segmentation and CUSUM locate injected steps; spurious rates on untouched homes', () => {
    const injections = planInjections(days, 100, 11);
    const series = new Map<string, { day: number; kwh: number }[]>();
    for (const r of toReadings(days, injections)) {
      if (r.interval_min < 1080) continue; // days with at least 3/4 coverage, as the detectors use
      (series.get(r.meter_id) ?? series.set(r.meter_id, []).get(r.meter_id)!).push({ day: r.ts_ms - DAY_MS, kwh: (r.kwh * 1440) / r.interval_min });
    }
    for (const s of series.values()) s.sort((a, b) => a.day - b.day);
    const injected = new Map(injections.map((i) => [i.household, i]));
    const score = (method: (xs: number[]) => number[], upOnly: boolean) => {
      let located = 0, spurious = 0, quiet = 0;
      for (const [h, s] of series) {
        const idx = method(s.map((x) => x.kwh));
        const i = injected.get(h);
        if (i) {
          if (idx.some((k) => Math.abs(s[k]!.day - i.onsetMs) <= 3 * DAY_MS)) located++;
        } else {
          quiet++;
          if (idx.length) spurious++;
        }
      }
      return { located: located / injections.length, spurious: spurious / quiet, upOnly };
    };
    const binseg = score((xs) => binarySegmentation(xs).filter((c) => c.direction === 'up').map((c) => c.index), false);
    const cusum = score((xs) => cusumUp(xs), true);
    console.log(`change points on ${series.size} London households, 100 injected steps: binary segmentation located ${(binseg.located * 100).toFixed(0)} %, spurious up-shifts on ${(binseg.spurious * 100).toFixed(0)} % of untouched homes; CUSUM located ${(cusum.located * 100).toFixed(0)} %, spurious ${(cusum.spurious * 100).toFixed(0)} %`);
    expect(binseg.located).toBeGreaterThanOrEqual(0.9);
    expect(binseg.located).toBeGreaterThanOrEqual(cusum.located);
  }, 120_000);
});
