/**
 * Loader for the Low Carbon London daily household data (../shared/data/lcl_daily), and the
 * injection of known workshop events into it, for the real-data robustness tests.
 * Source: UK Power Networks, SmartMeter Energy Consumption Data in London Households.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readLines } from '../../src/io/lines.js';
import type { Reading } from '../../src/contracts/reading.js';
import { DAY_MS, parseDate } from '../../src/time.js';
import { rng } from '../../src/fixtures/district.js';

export const SHARED_DATA = process.env.POWERSCREEN_REAL_DATA ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'data');
export const LONDON_FILE = join(SHARED_DATA, 'lcl_daily', 'london_households_daily.csv.gz');
export const londonAvailable = () => existsSync(LONDON_FILE);

export interface HouseholdDay { household: string; dayMs: number; kwh: number; halfhours: number }

export async function loadLondon(maxHouseholds = Infinity): Promise<HouseholdDay[]> {
  const out: HouseholdDay[] = [];
  const seen = new Set<string>();
  for await (const [line, n] of readLines(LONDON_FILE)) {
    if (n === 1) continue;
    const [id, day, kwh, hh] = line.split(',');
    if (!seen.has(id!)) {
      if (seen.size >= maxHouseholds) continue;
      seen.add(id!);
    }
    const dayMs = parseDate(day!);
    const k = Number(kwh), h = Number(hh);
    if (dayMs === undefined || !Number.isFinite(k) || !(h > 0)) continue;
    out.push({ household: id!, dayMs, kwh: k, halfhours: Math.min(h, 48) });
  }
  return out;
}

export interface Injection { household: string; onsetMs: number; kw: number; hours: number; workdays: number }

/** Pick households with enough history around a random onset and add a weekday daytime plateau (5–25 kW unless given). */
export function planInjections(days: readonly HouseholdDay[], count: number, seed: number, [kwMin, kwMax]: readonly [number, number] = [5, 25]): Injection[] {
  const rand = rng(seed);
  const span = new Map<string, [number, number]>();
  for (const d of days) {
    const s = span.get(d.household);
    span.set(d.household, s ? [Math.min(s[0], d.dayMs), Math.max(s[1], d.dayMs)] : [d.dayMs, d.dayMs]);
  }
  const eligible = [...span].filter(([, [a, b]]) => b - a > 150 * DAY_MS).sort(([x], [y]) => (x < y ? -1 : 1));
  const picked: Injection[] = [];
  while (picked.length < count && eligible.length) {
    const [household, [a, b]] = eligible.splice(Math.floor(rand() * eligible.length), 1)[0]!;
    const onsetMs = a + (90 + Math.floor(rand() * ((b - a) / DAY_MS - 130))) * DAY_MS;
    picked.push({ household, onsetMs, kw: kwMin + rand() * (kwMax - kwMin), hours: 8 + Math.floor(rand() * 3), workdays: rand() < 0.5 ? 5 : 6 });
  }
  return picked;
}

/** Daily readings (interval = the half-hours actually recorded), with the injections added. */
export function toReadings(days: readonly HouseholdDay[], injections: readonly Injection[] = []): Reading[] {
  const inj = new Map(injections.map((i) => [i.household, i]));
  return days.map((d) => {
    let kwh = d.kwh;
    const i = inj.get(d.household);
    const dow = ((new Date(d.dayMs).getUTCDay() + 6) % 7) + 1;
    if (i && d.dayMs >= i.onsetMs && dow <= i.workdays) kwh += i.kw * i.hours * (d.halfhours / 48);
    return { meter_id: d.household, ts_ms: d.dayMs + DAY_MS, interval_min: d.halfhours * 30, kwh: Math.round(kwh * 1000) / 1000 };
  });
}

export const CAMBRIDGE_DIR = join(SHARED_DATA, 'cambridge_hourly');

/** Hourly building loads (value = energy of the hour starting at `datetime`, local time). Zeros are outages or gaps, per the publisher. */
export async function loadCambridge(): Promise<Reading[]> {
  const { readdirSync } = await import('node:fs');
  const out: Reading[] = [];
  for (const b of readdirSync(CAMBRIDGE_DIR).filter((x) => x.startsWith('UCam_Building_')).sort()) {
    for (const f of readdirSync(join(CAMBRIDGE_DIR, b)).filter((x) => x.endsWith('.csv.gz')).sort()) {
      for await (const [line, n] of readLines(join(CAMBRIDGE_DIR, b, f))) {
        if (n === 1) continue;
        const [dt, v] = line.split(',');
        const start = parseLocalMsLoose(dt!);
        const kwh = Number(v);
        if (start === undefined || !Number.isFinite(kwh) || kwh < 0) continue;
        out.push({ meter_id: b.replace('UCam_Building_', 'cam_'), ts_ms: start + 3600_000, interval_min: 60, kwh });
      }
    }
  }
  return out;
}

/** Hourly readings summed per local day, as a power company delivering daily values would: complete days only. */
export function dailyValues(hourly: readonly Reading[]): Reading[] {
  const days = new Map<string, { meter_id: string; day: number; kwh: number; hours: number }>();
  for (const r of hourly) {
    const day = Math.floor((r.ts_ms - 1) / DAY_MS) * DAY_MS;
    const k = `${r.meter_id}|${day}`;
    const d = days.get(k) ?? { meter_id: r.meter_id, day, kwh: 0, hours: 0 };
    d.kwh += r.kwh;
    d.hours += r.interval_min / 60;
    days.set(k, d);
  }
  return [...days.values()].filter((d) => d.hours === 24).map((d) => ({ meter_id: d.meter_id, ts_ms: d.day + DAY_MS, interval_min: 1440, kwh: Math.round(d.kwh * 1000) / 1000 }));
}

function parseLocalMsLoose(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})/.exec(s);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!) : undefined;
}
