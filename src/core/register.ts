/**
 * Cumulative register values (示数, `reading_kwh`) → interval energy.
 * A negative delta is never consumption: it is either a register roll-over (the counter wrapped
 * at 10^k) or a meter replacement/reset, after which the new register is the new base.
 * Pure: state is a Map the caller persists (DuckDB table `register_state`).
 */
import type { Reading, RegisterReading } from '../contracts/reading.js';
import { MINUTE_MS } from '../time.js';

export interface RegisterState {
  ts_ms: number;
  reading_kwh: number;
}

export type DeriveResult =
  | { ok: true; reading: Reading; rollover: boolean; record: RegisterReading }
  /** stale: at or before the meter's last value (the caller tells a re-read from a real problem). */
  | { ok: false; reason: string; record: RegisterReading; stale?: boolean }
  | { ok: 'base'; record: RegisterReading }; // first value seen for a meter: a base, no energy yet

/** Highest plausible average power (kW) of one meter, to tell a roll-over from a reset, and to refuse a derived energy. */
const MAX_PLAUSIBLE_KW = 100_000;
/** Longest gap between register values spread over one interval: a week (and within interval_min's range). */
export const MAX_REGISTER_GAP_MIN = 1440 * 7;

export class RegisterDeriver {
  constructor(readonly state: Map<string, RegisterState> = new Map()) {}

  /** Feed register values; they are ordered by (meter, ts) here so a shuffled file still derives right. */
  derive(records: RegisterReading[]): DeriveResult[] {
    const sorted = [...records].sort((a, b) => (a.meter_id < b.meter_id ? -1 : a.meter_id > b.meter_id ? 1 : a.ts_ms - b.ts_ms));
    return sorted.map((r) => this.one(r));
  }

  private one(r: RegisterReading): DeriveResult {
    const prev = this.state.get(r.meter_id);
    if (!prev) {
      this.state.set(r.meter_id, { ts_ms: r.ts_ms, reading_kwh: r.reading_kwh });
      return { ok: 'base', record: r };
    }
    if (r.ts_ms <= prev.ts_ms) {
      const what = r.ts_ms === prev.ts_ms ? 'duplicate register value' : 'register value older than the last one derived';
      return { ok: false, reason: `reading_kwh: ${what} for this meter; its interval is already accounted for`, record: r, stale: true };
    }
    const minutes = (r.ts_ms - prev.ts_ms) / MINUTE_MS;
    if (minutes > MAX_REGISTER_GAP_MIN) {
      this.state.set(r.meter_id, { ts_ms: r.ts_ms, reading_kwh: r.reading_kwh });
      return { ok: false, reason: `reading_kwh: gap of ${Math.round(minutes / 1440)} days since the last register value; not spread over one interval`, record: r };
    }
    let delta = r.reading_kwh - prev.reading_kwh;
    let rollover = false;
    if (delta < 0) {
      // Roll-over: the counter wrapped at the next power of ten above the previous value.
      const modulus = 10 ** Math.max(1, Math.ceil(Math.log10(Math.max(prev.reading_kwh, 1))));
      const wrapped = modulus - prev.reading_kwh + r.reading_kwh;
      const plausibleMax = MAX_PLAUSIBLE_KW * (minutes / 60);
      if (prev.reading_kwh >= 0.9 * modulus && wrapped >= 0 && wrapped <= Math.min(plausibleMax, 0.1 * modulus)) {
        delta = wrapped;
        rollover = true;
      } else {
        this.state.set(r.meter_id, { ts_ms: r.ts_ms, reading_kwh: r.reading_kwh });
        return {
          ok: false,
          reason: `reading_kwh: register fell from ${prev.reading_kwh} to ${r.reading_kwh} (meter replaced or reset); interval energy unknown, new register taken as base`,
          record: r,
        };
      }
    }
    this.state.set(r.meter_id, { ts_ms: r.ts_ms, reading_kwh: r.reading_kwh });
    if (delta > MAX_PLAUSIBLE_KW * (minutes / 60)) {
      return { ok: false, reason: `reading_kwh: register rose by ${delta} kWh in ${Math.round(minutes)} min, beyond any meter (unit error?); not stored, new register taken as base`, record: r };
    }
    return { ok: true, rollover, record: r, reading: { meter_id: r.meter_id, ts_ms: r.ts_ms, interval_min: Math.round(minutes), kwh: delta } };
  }
}
