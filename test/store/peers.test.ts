/**
 * peer_daily: the worker's incremental refresh (only days since the last prepare) leaves exactly the
 * rows a full refresh computes; its header parameters are industrial_profile's, with its defaults;
 * and rows other workers publish never overwrite this store's own meters.
 */
import { describe, it, expect } from 'vitest';
import { openDb, type Db } from '../../src/store/db.js';
import { ReadingStore } from '../../src/store/readingStore.js';
import { refreshPeers } from '../../src/store/detectors.js';
import { loadPeerSql, loadRegistry } from '../../src/config/detectorRegistry.js';
import { applyPeerRows, type PeerRow } from '../../src/store/peers.js';
import { parsePipeline } from '../../src/config/pipeline.js';
import { rng } from '../../src/fixtures/district.js';
import type { Reading } from '../../src/contracts/reading.js';
import { DAY_MS, parseDate } from '../../src/time.js';

const START = parseDate('2026-09-01')!;
const params = parsePipeline({}).detectors;

function hourly(meters: number, days: number): Reading[] {
  const rand = rng(11);
  const out: Reading[] = [];
  for (let m = 0; m < meters; m++) {
    const plateau = m % 3 === 0 ? 4 + rand() * 6 : 0;
    for (let t = START; t < START + days * DAY_MS; t += 3600_000) {
      const h = new Date(t).getUTCHours(), dow = new Date(t).getUTCDay();
      if (rand() < 0.03) continue; // gaps: some days fall under the coverage limits
      if (m === 1 && t >= START + 25 * DAY_MS && t < START + 26 * DAY_MS) continue; // a dark day: not profiled, no window row
      const kw = 0.2 + rand() * 0.8 + (dow >= 1 && dow <= 5 && h >= 9 && h < 17 ? plateau : 0);
      out.push({ meter_id: `m${m}`, ts_ms: t + 3600_000, interval_min: 60, kwh: Math.round(kw * 1000) / 1000 });
    }
  }
  return out;
}

// rounded: two stores summing the same readings in parallel differ in the last bits of a double
const rows = async (db: Db) => (await db.con.runAndReadAll(`select meter_id, day::varchar d, round(kwh_day, 9) kwh_day, profiled, round(work_kw, 9) work_kw from peer_daily order by all`)).getRowObjectsJS();

describe('peer_daily', () => {
  it('an incremental refresh day by day equals one full refresh', async () => {
    const readings = hourly(12, 40);
    const full = await openDb(':memory:');
    const step = await openDb(':memory:');
    try {
      for (const db of [full, step]) await new ReadingStore(db).append(readings);
      const last = START + 38 * DAY_MS;
      await refreshPeers(full, params, { lastCompleteDayMs: last });
      let prepared = START + 20 * DAY_MS;
      await refreshPeers(step, params, { lastCompleteDayMs: prepared });
      const changed: number[] = [];
      for (let d = prepared + DAY_MS; d <= last; d += DAY_MS) {
        changed.push((await refreshPeers(step, params, { lastCompleteDayMs: d, sinceDayMs: prepared + DAY_MS })).length);
        prepared = d;
      }
      const want = await rows(full);
      expect(want.filter((r) => r.work_kw !== null).length).toBeGreaterThan(100);
      expect(await rows(step)).toEqual(want);
      // each step publishes only its new day's rows
      expect(changed.every((n) => n > 0 && n <= 12)).toBe(true);
    } finally {
      full.close();
      step.close();
    }
  });

  it('a refresh of many days in 7-day slices leaves the rows and returns the changes of one statement', async () => {
    const readings = hourly(12, 40);
    const whole = await openDb(':memory:');
    const sliced = await openDb(':memory:');
    try {
      const published = await openDb(':memory:');
      for (const db of [whole, sliced, published]) await new ReadingStore(db).append(readings);
      const last = START + 38 * DAY_MS;
      const a = await refreshPeers(whole, params, { lastCompleteDayMs: last, sliceMeterDays: 1e12 });
      const b = await refreshPeers(sliced, params, { lastCompleteDayMs: last, sliceMeterDays: 1 }); // the floor: 7 days a slice
      expect(a.length).toBeGreaterThan(400);
      expect(b.map((r) => `${r.meter_id} ${r.day_ms}`)).toEqual(a.map((r) => `${r.meter_id} ${r.day_ms}`));
      expect(await rows(sliced)).toEqual(await rows(whole));
      // what a worker publishes: the same rows, handed over as each slice is computed, none returned
      const pages: PeerRow[][] = [];
      const c = await refreshPeers(published, params, { lastCompleteDayMs: last, sliceMeterDays: 1 }, undefined, { onChanged: async (page) => void pages.push(page) });
      expect(c).toEqual([]);
      expect(pages.length).toBeGreaterThanOrEqual(5);
      // (values to 9 decimals, as rows() reads them: parallel sums may differ in the last bit)
      const keyed = (rs: readonly PeerRow[]) => rs.map((r) => `${r.meter_id} ${r.day_ms} ${r.kwh_day?.toFixed(9)} ${r.profiled} ${r.work_kw?.toFixed(9)}`).sort();
      expect(keyed(pages.flat())).toEqual(keyed(a));
      published.close();
    } finally {
      whole.close();
      sliced.close();
    }
  });

  /**
   * Six meters over 30 days, refreshed through day 28 without m1's day 10, which then arrives late;
   * `between` runs before it lands; `step`'s refresh after it is the test's. Returns the step store's
   * rows and those of a store that had every reading from the start.
   */
  async function lateDay(between: (step: Db) => Promise<void>, refresh: (step: Db, last: number) => Promise<PeerRow[]>) {
    const all = hourly(6, 30);
    const day10 = START + 10 * DAY_MS;
    const late = (r: Reading) => r.meter_id === 'm1' && r.ts_ms > day10 && r.ts_ms <= day10 + DAY_MS;
    const step = await openDb(':memory:');
    const full = await openDb(':memory:');
    try {
      const last = START + 28 * DAY_MS;
      await new ReadingStore(step).append(all.filter((r) => !late(r)));
      await refreshPeers(step, params, { lastCompleteDayMs: last });
      const before = await rows(step);
      await between(step);
      await new ReadingStore(step).append(all.filter(late));
      const changed = await refresh(step, last);
      await new ReadingStore(full).append(all);
      await refreshPeers(full, params, { lastCompleteDayMs: last });
      return { before, got: await rows(step), want: await rows(full), changed, again: await refresh(step, last) };
    } finally {
      step.close();
      full.close();
    }
  }

  it('late readings replace the rows of the days they change, one row per meter and day', async () => {
    // a refresh asked to recompute every meter from the late day
    const r = await lateDay(async () => undefined, (step, last) => refreshPeers(step, params, { lastCompleteDayMs: last, sinceDayMs: START + 10 * DAY_MS }));
    const m1 = (rs: typeof r.got) => rs.find((x) => x.meter_id === 'm1' && x.d === '2026-09-11');
    expect(m1(r.got)).not.toEqual(m1(r.before));
    expect(r.got).toEqual(r.want);
  });

  it('late readings found by the store\'s marks recompute their meter\'s rows alone, with no new day to refresh', async () => {
    // m3's rows changed behind the store's back: a refresh that recomputed every meter would put them back
    const r = await lateDay((step) => step.con.run(`update peer_daily set kwh_day = -1 where meter_id = 'm3' and day >= date '2026-09-11'`).then(() => undefined),
      // as a worker's close after a late reading: nothing new to compute but what the marks name
      (step, last) => refreshPeers(step, params, { lastCompleteDayMs: last, sinceDayMs: last + DAY_MS }));
    expect(new Set(r.changed.map((x) => x.meter_id))).toEqual(new Set(['m1']));
    expect(r.got.filter((x) => x.meter_id === 'm3' && x.kwh_day === -1).length).toBeGreaterThan(10);
    expect(r.got.filter((x) => x.meter_id !== 'm3')).toEqual(r.want.filter((x) => x.meter_id !== 'm3'));
    // spent: a second refresh finds nothing to do
    expect(r.again).toEqual([]);
  });

  it('more late meter-days than a slice holds (a history re-read) recompute every meter from the late day, in slices', async () => {
    const r = await lateDay((step) => step.con.run(`update peer_daily set kwh_day = -1 where meter_id = 'm3' and day >= date '2026-09-11'`).then(() => undefined),
      // a budget of one meter-day: m1's 19 late days are more than a slice holds
      (step, last) => refreshPeers(step, params, { lastCompleteDayMs: last, sinceDayMs: last + DAY_MS, sliceMeterDays: 1 }));
    // m3 was recomputed too: its rows are back
    expect(r.got).toEqual(r.want);
    expect(r.again).toEqual([]);
  });

  it('binds each parameter to a peer detector\'s setting, with that detector\'s default', () => {
    const registry = loadRegistry();
    const { params, bind } = loadPeerSql();
    for (const p of params) {
      const owner = registry.get(bind.get(p.name)!);
      expect(owner?.peers, p.name).toBe(true);
      expect(owner!.params.find((x) => x.name === p.name)!.default, p.name).toEqual(p.default);
    }
  });

  it('rows from other workers never overwrite this store\'s own meters', async () => {
    const db = await openDb(':memory:');
    try {
      await new ReadingStore(db).append(hourly(2, 20), [{ topic: 't', partition: 0, next_offset: 1n }]);
      await refreshPeers(db, params, { lastCompleteDayMs: START + 18 * DAY_MS });
      const before = await rows(db);
      const day = START + 10 * DAY_MS;
      const changed = await applyPeerRows(db, [
        { meter_id: 'm0', day_ms: day, kwh_day: 999, profiled: true, work_kw: 99 },
        { meter_id: 'other', day_ms: day, kwh_day: 5, profiled: true, work_kw: 1 },
      ], loadRegistry().peerReaders());
      expect(changed).toEqual([day]);
      const after = await rows(db);
      expect(after.filter((r) => r.meter_id !== 'other')).toEqual(before);
      expect(after.filter((r) => r.meter_id === 'other')).toHaveLength(1);
      // a newer version of a remote row takes the old one's place (peer_daily has no key to upsert on)
      expect(await applyPeerRows(db, [{ meter_id: 'other', day_ms: day, kwh_day: 6, profiled: true, work_kw: 1 }], loadRegistry().peerReaders())).toEqual([day]);
      expect((await rows(db)).filter((r) => r.meter_id === 'other').map((r) => r.kwh_day)).toEqual([6]);
    } finally {
      db.close();
    }
  });
});
