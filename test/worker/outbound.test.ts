/**
 * When a worker writes the daily list and delivers: clocks moved by hand, the senders recorded.
 * No Kafka, no DuckDB (the worker tests send the list and e-mail through a broker).
 */
import { describe, it, expect } from 'vitest';
import { Outbound, DELIVERY_EVERY_MS } from '../../src/worker/outbound.js';
import { HOUR_MS, MINUTE_MS, parseDate } from '../../src/time.js';

function harness(opts: { owns?: boolean; failUntil?: string; deliver?: boolean } = {}) {
  const state = { localMs: parseDate('2026-12-05')! + 5 * HOUR_MS, wallMs: 1_000_000, lastReadingAt: 0, owns: opts.owns ?? true, failing: !!opts.failUntil };
  const written: string[] = [];
  const tried: string[] = [];
  const warnings: string[] = [];
  let deliveries = 0;
  const outbound = new Outbound({
    reportTime: '06:30',
    nowLocal: () => state.localMs,
    now: () => state.wallMs,
    ownsPartition0: () => state.owns,
    lastReadingAt: () => state.lastReadingAt,
    writeList: async (date) => {
      tried.push(date);
      if (state.failing) throw new Error(`store ends before ${date}`);
      written.push(date);
    },
    ...(opts.deliver !== false && { deliver: async () => { deliveries++; } }),
    log: { warn: (_o, msg) => warnings.push(msg) },
  });
  const advance = (ms: number) => { state.localMs += ms; state.wallMs += ms; };
  return { state, outbound, written, tried, warnings, advance, deliveries: () => deliveries };
}

describe('Outbound: the daily list and the deliveries a worker sends', () => {
  it('writes the day before\'s list once a day, from report_time on', async () => {
    const h = harness();
    await h.outbound.tick();
    expect(h.written).toEqual([]); // 05:00, before 06:30
    h.advance(2 * HOUR_MS);
    await h.outbound.tick();
    await h.outbound.tick();
    expect(h.written).toEqual(['2026-12-04']);
    h.advance(24 * HOUR_MS);
    await h.outbound.tick();
    expect(h.written).toEqual(['2026-12-04', '2026-12-05']);
  });

  it('sends nothing where another worker owns partition 0, and takes over when it gains it', async () => {
    const h = harness({ owns: false });
    h.advance(3 * HOUR_MS);
    await h.outbound.tick();
    expect(h.tried).toEqual([]);
    expect(h.deliveries()).toBe(0);
    h.state.owns = true;
    await h.outbound.tick();
    expect(h.written).toEqual(['2026-12-04']);
    expect(h.deliveries()).toBe(1);
  });

  it('a list the store cannot write yet is tried again when readings arrive, not every tick, and warned of once', async () => {
    const h = harness({ failUntil: 'readings' });
    h.advance(3 * HOUR_MS);
    await h.outbound.tick();
    h.advance(1000);
    await h.outbound.tick();
    expect(h.tried).toEqual(['2026-12-04']);
    // readings arrive, the store still short: tried again, not warned again
    h.advance(1000);
    h.state.lastReadingAt = h.state.wallMs;
    await h.outbound.tick();
    expect(h.tried).toEqual(['2026-12-04', '2026-12-04']);
    expect(h.warnings).toEqual(['daily list not written yet: tried again as readings arrive']);
    // the store catches up with the next readings: written, and not again that day
    h.state.failing = false;
    h.advance(1000);
    h.state.lastReadingAt = h.state.wallMs;
    await h.outbound.tick();
    await h.outbound.tick();
    expect(h.written).toEqual(['2026-12-04']);
    expect(h.tried).toHaveLength(3);
  });

  it('delivers at most once a minute, and not at all without a sender', async () => {
    const h = harness();
    await h.outbound.tick();
    h.advance(DELIVERY_EVERY_MS - MINUTE_MS / 2);
    await h.outbound.tick();
    expect(h.deliveries()).toBe(1);
    h.advance(MINUTE_MS / 2);
    await h.outbound.tick();
    expect(h.deliveries()).toBe(2);
    const none = harness({ deliver: false });
    await none.outbound.tick();
    expect(none.deliveries()).toBe(0);
  });
});
