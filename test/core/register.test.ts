import { describe, it, expect } from 'vitest';
import { RegisterDeriver } from '../../src/core/register.js';
import { parseLocalMs } from '../../src/time.js';

const at = (hhmm: string) => parseLocalMs(`2026-11-21T${hhmm}:00`)!;
const reg = (hhmm: string, reading_kwh: number, meter_id = 'm1') => ({ meter_id, ts_ms: at(hhmm), reading_kwh });

describe('register (示数) to interval energy', () => {
  it('takes the first value as the base and derives deltas, whatever the input order', () => {
    const d = new RegisterDeriver();
    const out = d.derive([reg('08:30', 100.9), reg('08:00', 100), reg('08:15', 100.25)]);
    expect(out[0]).toMatchObject({ ok: 'base' });
    expect(out.slice(1).map((r) => r.ok === true && [r.reading.kwh, r.reading.interval_min])).toEqual([[0.25, 15], [expect.closeTo(0.65, 9), 15]]);
  });

  it('handles roll-over at 10^k as consumption', () => {
    const d = new RegisterDeriver();
    const out = d.derive([reg('08:00', 99_999.5), reg('08:15', 0.7)]);
    expect(out[1]).toMatchObject({ ok: true, rollover: true });
    expect(out[1]!.ok === true && out[1]!.reading.kwh).toBeCloseTo(1.2, 9);
  });

  it('treats a fall that is no roll-over as a meter replacement: no energy, reason given, new base', () => {
    const d = new RegisterDeriver();
    const out = d.derive([reg('08:00', 5_000), reg('08:15', 3.2), reg('08:30', 3.7)]);
    expect(out[1]).toMatchObject({ ok: false });
    expect(out[1]!.ok === false && out[1]!.reason).toMatch(/^reading_kwh: register fell from 5000 to 3.2/);
    expect(out[2]!.ok === true && out[2]!.reading.kwh).toBeCloseTo(0.5, 9);
  });

  it('keeps state across batches and rejects a value older than the last derived', () => {
    const d = new RegisterDeriver();
    d.derive([reg('08:00', 10), reg('08:15', 11)]);
    const late = d.derive([reg('08:10', 10.5), reg('08:30', 12)]);
    expect(late[0]).toMatchObject({ ok: false });
    expect(late[0]!.ok === false && late[0]!.reason).toMatch(/older than the last one derived/);
    expect(late[1]!.ok === true && late[1]!.reading.kwh).toBe(1);
  });
});

describe('register values that cannot be right (issue 11)', () => {
  it('a gap of more than a week is not spread over one interval (a 23-day gap used to overflow interval_min)', () => {
    const d = new RegisterDeriver();
    const t0 = parseLocalMs('2026-10-01T00:00:00')!;
    const out = d.derive([{ meter_id: 'm', ts_ms: t0, reading_kwh: 10 }, { meter_id: 'm', ts_ms: t0 + 23 * 86_400_000, reading_kwh: 500 }, { meter_id: 'm', ts_ms: t0 + 23 * 86_400_000 + 900_000, reading_kwh: 500.5 }]);
    expect(out[1]).toMatchObject({ ok: false, reason: expect.stringMatching(/^reading_kwh: gap of 23 days/) });
    expect(out[2]).toMatchObject({ ok: true, reading: { interval_min: 15, kwh: expect.closeTo(0.5, 9) } });
  });

  it('an energy no meter can draw is refused, not stored (100 → 1e300)', () => {
    const d = new RegisterDeriver();
    const out = d.derive([reg('08:00', 100), reg('08:15', 1e300)]);
    expect(out[1]).toMatchObject({ ok: false, reason: expect.stringMatching(/beyond any meter/) });
  });
});
