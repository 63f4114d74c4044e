import { describe, it, expect } from 'vitest';
import { validateReading } from '../../src/contracts/reading.js';
import { parseLocalMs } from '../../src/time.js';

const v = (raw: unknown) => validateReading(raw, { defaultIntervalMin: 15 });

describe('reading contract', () => {
  it('accepts the documented forms, numbers as text too', () => {
    expect(v({ meter_id: '3501020012345', ts: '2026-11-21T08:15:00+08:00', kwh: 0.42 })).toEqual({
      ok: true, kind: 'interval', reading: { meter_id: '3501020012345', ts_ms: parseLocalMs('2026-11-21T08:15:00')!, interval_min: 15, kwh: 0.42 },
    });
    const csv = v({ meter_id: 'm1', ts: '2026-11-21T00:00:00', kwh: '12.5', interval_min: '1440' });
    expect(csv.ok && csv.kind === 'interval' && csv.reading.interval_min).toBe(1440);
    const reg = v({ meter_id: 'm1', ts: '2026-11-21T08:15:00', reading_kwh: 1234.5 });
    expect(reg.ok && reg.kind).toBe('register');
  });

  it.each([
    [{ ts: '2026-11-21T08:15:00', kwh: 1 }, /^meter_id: /],
    [{ meter_id: '', ts: '2026-11-21T08:15:00', kwh: 1 }, /^meter_id: must not be empty/],
    [{ meter_id: 'bad id!', ts: '2026-11-21T08:15:00', kwh: 1 }, /^meter_id: only letters/],
    [{ meter_id: 'm', ts: 'yesterday', kwh: 1 }, /^ts: not an ISO-8601 timestamp/],
    [{ meter_id: 'm', ts: 5, kwh: 1 }, /^ts: /],
    [{ meter_id: 'm', ts: '2026-11-21T08:15:00', kwh: 'abc' }, /^kwh: expected a (finite )?number/],
    [{ meter_id: 'm', ts: '2026-11-21T08:15:00', kwh: -1 }, /^kwh: negative/],
    [{ meter_id: 'm', ts: '2026-11-21T08:15:00', kwh: 1e9 }, /^kwh: .*implausible/],
    [{ meter_id: 'm', ts: '2026-11-21T08:15:00' }, /^kwh: missing/],
    [{ meter_id: 'm', ts: '2026-11-21T08:15:00', kwh: 1, reading_kwh: 2 }, /^kwh: give either/],
    [{ meter_id: 'm', ts: '2026-11-21T08:15:00', kwh: 1, interval_min: 7.5 }, /^interval_min: /],
    [[1, 2], /^record: /],
    ['text', /^record: /],
  ])('rejects %j naming the field', (raw, reason) => {
    const r = v(raw);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(reason);
  });
});

describe('the fast path agrees with the zod contract', () => {
  it('on 20,000 random records, valid and broken', async () => {
    const { validateWithZod } = await import('../../src/contracts/reading.js');
    const { rng } = await import('../../src/fixtures/district.js');
    const rand = rng(99);
    const pick = <T,>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
    const meterIds = ['3501020012345', 'm1', ' m1', 'm 1', '', 'a'.repeat(64), 'a'.repeat(65), 'x:y.z-1_', '表1', 42, null, undefined];
    const tss = ['2026-11-21T08:15:00+08:00', '2026-11-21T08:15:00', '2026-11-21 08:15', '2026-11-21T00:15:00Z', 'yesterday', '2026-02-30T00:00:00', '', 5, undefined];
    const kwhs = [0.42, 0, -1, '0.5', ' 0.5 ', '', 'abc', 1e9, Number.NaN, Infinity, null, undefined, '1e3', 7n];
    const intervals = [undefined, 15, '15', 1440, '1440', 0, 1441, 7.5, '', ' ', 'x', null];
    const regs = [undefined, undefined, undefined, 12.5, '', null];
    for (let i = 0; i < 20_000; i++) {
      const raw: Record<string, unknown> = { meter_id: pick(meterIds), ts: pick(tss), kwh: pick(kwhs), interval_min: pick(intervals), reading_kwh: pick(regs) };
      for (const k of Object.keys(raw)) if (raw[k] === undefined && rand() < 0.5) delete raw[k];
      expect(validateReading(raw, { defaultIntervalMin: 15 }), JSON.stringify(raw, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))).toEqual(validateWithZod(raw, { defaultIntervalMin: 15 }));
    }
  });

  it('a number must be written as a decimal: 0x10 is not 16 kWh (issue 11, item 7)', () => {
    for (const kwh of ['0x10', '0b11', '0o7', 'Infinity', '1e400']) {
      const r = validateReading({ meter_id: 'm1', ts: '2026-11-21T08:15:00+08:00', kwh }, { defaultIntervalMin: 15 });
      expect(r.ok, kwh).toBe(false);
    }
    expect(validateReading({ meter_id: 'm1', ts: '2026-11-21T08:15:00+08:00', kwh: ' 1.5e-1 ' }, { defaultIntervalMin: 15 })).toMatchObject({ ok: true, reading: { kwh: 0.15 } });
  });
});

describe('keys the contract does not know (issue 11, item 7)', () => {
  const base = { meter_id: 'm1', ts: '2026-10-01T00:00:00+08:00', kwh: 1 };
  it('a misspelled key is refused, naming the key it resembles (it would silently become a default)', () => {
    expect(validateReading({ ...base, intervall: 1440 }, { defaultIntervalMin: 15 })).toEqual({ ok: false, reason: 'intervall: unknown key (did you mean interval_min?)' });
    expect(validateReading({ ...base, interval: 1440 }, { defaultIntervalMin: 15 })).toEqual({ ok: false, reason: 'interval: unknown key (did you mean interval_min?)' });
    expect(validateReading({ meter_id: 'm1', ts: base.ts, kWh: 1 }, { defaultIntervalMin: 15 })).toEqual({ ok: false, reason: 'kWh: unknown key (did you mean kwh?)' });
  });
  it("a feed's own fields (quality flags, source tags) are ignored", () => {
    expect(validateReading({ ...base, quality: 'ok', source: 'hes' }, { defaultIntervalMin: 15 })).toMatchObject({ ok: true, reading: { kwh: 1, interval_min: 15 } });
  });
});
