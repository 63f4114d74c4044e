/**
 * Retention (issue 13, item 3): raw readings beyond store.raw_days go after a close, the rollups
 * keep what detection reads, and a file read again after that counts nothing twice.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { openDb, type Db } from '../../src/store/db.js';
import { ReadingStore } from '../../src/store/readingStore.js';
import { applyRetention, horizonFor, loadRetention } from '../../src/store/retention.js';
import { backfill } from '../../src/pipeline/backfill.js';
import { screen } from '../../src/pipeline/screen.js';
import { runDetectors } from '../../src/store/detectors.js';
import { gatherExplainData } from '../../src/store/explainQuery.js';
import { parsePipeline, registryOf } from '../../src/config/pipeline.js';
import { JsonlRejectSink } from '../../src/sinks/rejects.js';
import { loadCases } from '../../src/store/caseStore.js';
import { writeDistrict } from '../../src/fixtures/districtFiles.js';
import { DISTRICT_READING_FILES } from '../../src/fixtures/district.js';
import { Ingestor } from '../../src/pipeline/ingest.js';
import { DAY_MS, formatDate, formatLocal, lastCompleteDay, parseDate, parseLocalMs } from '../../src/time.js';
import { smallDistrict } from '../kafka/helpers.js';
import { tempDir } from '../helpers.js';

const r = (ts: string, kwh: number, meter_id = 'm1', interval_min = 60) => ({ meter_id, ts_ms: parseLocalMs(ts)!, interval_min, kwh });
const count = async (db: Db, sql: string) => Number((await db.con.runAndReadAll(sql)).getRows()[0]![0]);
const day = (d: string) => parseDate(d)!;

describe('horizonFor', () => {
  it('keeps `days` whole days through the last closed one, never moves back, and null keeps all', () => {
    const policy = { raw_days: 14, hourly_days: 400, daily_days: null };
    const h = horizonFor(policy, day('2026-11-30'));
    expect(formatDate(h.rawFromMs!)).toBe('2026-11-17');
    expect(formatDate(h.hourlyFromMs!)).toBe('2025-10-27');
    expect(h.dailyFromMs).toBeUndefined();
    // a close of an earlier day (a re-judge after late readings) does not bring deleted days back
    expect(horizonFor(policy, day('2026-11-20'), h).rawFromMs).toBe(h.rawFromMs);
  });
});

describe('applyRetention', () => {
  it('deletes raw readings of the days before the horizon and keeps their rollups', async () => {
    const db = await openDb(':memory:');
    const store = new ReadingStore(db);
    const readings = [];
    for (let d = 0; d < 20; d++) for (let h = 1; h <= 24; h++) readings.push(r(formatDate(day('2026-11-01') + d * DAY_MS) + `T${String(h - 1).padStart(2, '0')}:00:00`, 1 + (h % 3)));
    await store.append(readings.map((x) => ({ ...x, ts_ms: x.ts_ms + 3_600_000 })));
    const before = await db.con.runAndReadAll(`select day, kwh, covered_min from meter_daily order by day`).then((x) => x.getRowObjectsJS());
    const res = await applyRetention(db, { raw_days: 14, hourly_days: 400, daily_days: null }, day('2026-11-20'));
    expect(formatDate(res.rawFromMs!)).toBe('2026-11-07');
    // six days of 24 hourly readings; the one ending at 11-07 00:00 is the 6th's
    expect(res.deleted.readings).toBe(6 * 24);
    expect((await db.con.runAndReadAll(`select strftime(min(ts), '%Y-%m-%d %H:%M') from readings`)).getRows()[0]![0]).toBe('2026-11-07 01:00');
    expect(await db.con.runAndReadAll(`select day, kwh, covered_min from meter_daily order by day`).then((x) => x.getRowObjectsJS())).toEqual(before);
    expect(await count(db, `select count(*) from meter_hourly`)).toBe(20 * 24);
    expect(formatDate((await loadRetention(db)).rawFromMs!)).toBe('2026-11-07');
    db.close();
  });
});

describe('a district under retention', () => {
  const d = smallDistrict();
  let tmp: ReturnType<typeof tempDir>;
  const kept = parsePipeline({ store: { raw_days: 14 } });
  const all = parsePipeline({ store: { raw_days: null } });
  const files = () => DISTRICT_READING_FILES.map((f) => join(tmp.dir, f));
  const load = (db: Db, pipeline = kept, tag = 'a') => backfill({
    readings: files(), meters: join(tmp.dir, 'meters.csv'), sites: join(tmp.dir, 'sites.csv'), db, pipeline,
    rejects: new JsonlRejectSink(join(tmp.dir, `rejects-${tag}.jsonl`)), sinks: [],
  });

  beforeAll(() => {
    tmp = tempDir('ps-retention-');
    writeDistrict(d, tmp.dir);
  });
  afterAll(() => tmp.cleanup());

  it('keeps 14 days raw after a backfill; judged again from the rollups, the day detectors lead the same and no case is new', async () => {
    const db = await openDb(':memory:', { threads: 2 });
    const ref = await openDb(':memory:', { threads: 2 });
    try {
      const s = await load(db);
      await load(ref, all, 'ref');
      expect(s.notes.some((n) => /^retention: [\d,]+ raw readings before \d{4}-\d\d-\d\d deleted/.test(n))).toBe(true);
      const watermark = Number((await db.con.runAndReadAll(`select epoch_ms(max(ts)) from readings`)).getRows()[0]![0]);
      const rawFrom = (await loadRetention(db)).rawFromMs!;
      expect(rawFrom).toBe(lastCompleteDay(watermark) - 13 * DAY_MS);
      expect(await count(db, `select count(*) from readings where ts <= make_timestamp(${rawFrom} * 1000)`)).toBe(0);
      // the rollups are the unpruned store's
      for (const t of ['meter_daily', 'meter_hourly']) {
        const digest = `select md5(string_agg(cast(s as varchar), ',' order by cast(s as varchar))) from (select * replace (round(kwh, 6) as kwh) from ${t}) s`;
        const [a, b] = [await db.con.runAndReadAll(digest), await ref.con.runAndReadAll(digest)].map((x) => String(x.getRows()[0]![0]));
        expect(a).toBe(b);
      }
      // a full re-judge (new SQL, say) after the raw is gone: the day detectors read rollups only
      const lastDay = lastCompleteDay(watermark);
      const leadsOf = async (x: Db) => (await runDetectors(x, kept.detectors, { lastCompleteDayMs: lastDay, incremental: false }, undefined, registryOf(kept))).leads
        .filter((l) => l.family !== 'site').map((l) => `${l.detector}|${l.meter_id}|${l.episode_start_ms}|${l.score.toFixed(6)}`).sort();
      const dayLeads = await leadsOf(db);
      expect(dayLeads.length).toBeGreaterThan(5);
      expect(dayLeads).toEqual(await leadsOf(ref));
      const casesBefore = (await loadCases(db)).map((c) => c.case_id).sort();
      const again = await screen(db, kept, [], { full: true });
      expect(again.newCases.map((c) => c.case_id)).toEqual([]);
      expect((await loadCases(db)).map((c) => c.case_id).sort()).toEqual(casesBefore);
      // a halted site whose pre-halt month is beyond the raw horizon: its working draw from the hourly rollup
      const halted = await count(db, `select count(*) from sites where halt_ordered_at - interval 30 day < make_timestamp(${rawFrom} * 1000)`);
      expect(halted).toBeGreaterThan(0);
      const resumed = (await runDetectors(db, kept.detectors, { lastCompleteDayMs: lastDay, incremental: false }, ['resumed_production'], registryOf(kept))).leads;
      expect(resumed.length).toBeGreaterThan(0);
    } finally {
      db.close();
      ref.close();
    }
  });

  it('a file read again after retention counts nothing twice: read = accepted + rejected + duplicate, rollups unchanged', async () => {
    const db = await openDb(':memory:', { threads: 2 });
    try {
      const first = await load(db);
      const sums = async () => (await db.con.runAndReadAll(`select (select sum(kwh) from meter_daily), (select sum(covered_min) from meter_daily), (select sum(kwh) from meter_hourly)`)).getRows()[0]!.map(Number);
      const before = await sums();
      const second = await load(db, kept, 'b');
      expect(second.read).toBe(first.read);
      expect(second.accepted - second.register_base).toBe(0);
      expect(second.read).toBe(second.accepted + second.rejected + second.duplicate);
      expect(await sums()).toEqual(before);
      // the days before the horizon the rollup holds complete are duplicates; a day with a gap cannot be told, and is rejected naming ts
      const rejects = readFileSync(join(tmp.dir, 'rejects-b.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { reason: string });
      const horizon = rejects.filter((x) => /^ts: .* is before the raw horizon \d{4}-\d\d-\d\d \(store\.raw_days\)/.test(x.reason));
      expect(horizon.length).toBeGreaterThan(0);
      // only readings in an hour with a gap (a missing or late reading) cannot be told: here under 1 %
      expect(horizon.length / second.read).toBeLessThan(0.01);
      // the file's broken rows again (a register value the first run could not place is now seen as a repeat)
      expect(second.rejected - horizon.length).toBeLessThanOrEqual(first.rejected);
      expect(second.rejected - horizon.length).toBeGreaterThanOrEqual(first.rejected - 1);
    } finally {
      db.close();
    }
  });

  it('history older than the horizon that was never stored is still taken in', async () => {
    const db = await openDb(':memory:');
    try {
      const store = new ReadingStore(db);
      const ing = new Ingestor(store, 60);
      const hours = (meter: string, from: string, n: number) => Array.from({ length: n }, (_, i) => ({ ...r(`${from}T00:00:00`, 1, meter), ts_ms: day(from) + (i + 1) * 3_600_000 }));
      const batch = (rs: ReturnType<typeof r>[]) => ({ records: rs.map((x) => ({ meter_id: x.meter_id, ts: formatLocal(x.ts_ms), kwh: x.kwh, interval_min: 60 })), rows: rs.map((_, i) => i + 2), broken: [] });
      await store.append(hours('m1', '2026-11-01', 24 * 30));
      await applyRetention(db, { raw_days: 14, hourly_days: 400, daily_days: null }, day('2026-11-29'));
      const p = await ing.prepare(batch([...hours('m2', '2026-11-03', 24), ...hours('m1', '2026-11-03', 2)]), 'b');
      // m2's day is new history; m1's complete day is a repeat
      expect(p.readings.map((x) => x.meter_id)).toEqual(Array(24).fill('m2'));
      expect(p.duplicates).toBe(2);
      expect(p.rejects).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('explain shows a meter silent since before the raw horizon from its hourly rollup', async () => {
    const db = await openDb(':memory:');
    try {
      const store = new ReadingStore(db);
      await store.append([...Array(48)].map((_, i) => ({ ...r('2026-10-01T00:00:00', 2, 'gone'), ts_ms: parseLocalMs('2026-10-01T00:00:00')! + (i + 1) * 3_600_000 })));
      await store.append([r('2026-11-29T01:00:00', 1, 'live')]);
      await applyRetention(db, { raw_days: 14, hourly_days: 400, daily_days: null }, day('2026-11-28'));
      expect(await count(db, `select count(*) from readings where meter_id = 'gone'`)).toBe(0);
      const e = await gatherExplainData(db, 'gone');
      expect(e.recent.length).toBe(48);
      expect(e.recent[0]).toEqual({ ts: '2026-10-01T01:00:00+08:00', kw: 2 });
    } finally {
      db.close();
    }
  });
});
