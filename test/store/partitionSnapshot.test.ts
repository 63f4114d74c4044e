/** Partition snapshots (issue 13, item 4): what one store writes for a partition, another loads whole. */
import { describe, it, expect, afterAll } from 'vitest';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { openDb, type Db } from '../../src/store/db.js';
import { ReadingStore } from '../../src/store/readingStore.js';
import { applyPeerRows } from '../../src/store/peers.js';
import { loadRegistry } from '../../src/config/detectorRegistry.js';
import { loadPartitionSnapshot, loadPeersFromSnapshots, readSnapshotManifest, writePartitionSnapshot } from '../../src/store/partitionSnapshot.js';
import { loadPeersRead } from '../../src/store/workerState.js';
import { Ingestor } from '../../src/pipeline/ingest.js';
import { DAY_MS, formatLocal, parseDate } from '../../src/time.js';
import { tempDir } from '../helpers.js';

const tmp = tempDir('ps-snap-');
afterAll(() => tmp.cleanup());

const day0 = parseDate('2026-10-01')!;
const hours = (meter: string, days: number, kw: number) =>
  Array.from({ length: days * 24 }, (_, i) => ({ meter_id: meter, ts_ms: day0 + (i + 1) * 3_600_000, interval_min: 60, kwh: kw + (i % 5) / 10 }));
const rows = async (db: Db, sql: string) => JSON.stringify((await db.con.runAndReadAll(sql)).getRowObjectsJS(), (_k, v) => (typeof v === 'bigint' ? Number(v) : v));
const meterRows = (t: string, ids: string) => `select * from ${t} where meter_id in (${ids}) order by all`;

describe('partition snapshots', () => {
  it('a store that gains partition 0 holds what the writer held for its meters, and keeps its own', async () => {
    const a = await openDb(':memory:');
    const b = await openDb(':memory:');
    try {
      const sa = new ReadingStore(a);
      await sa.append([...hours('m1', 20, 1), ...hours('m2', 20, 3)], [{ topic: 'r', partition: 0, next_offset: 960n, watermark_ms: day0 + 20 * DAY_MS }]);
      await sa.append(hours('m3', 20, 2), [{ topic: 'r', partition: 1, next_offset: 480n }]);
      await a.con.run(`insert into peer_daily values ('m1', date '2026-10-05', 30, true, 1.2), ('m3', date '2026-10-05', 50, true, 2.0)`);
      const dir = join(tmp.dir, 'snaps');
      const w = await writePartitionSnapshot(a, dir, 'r', 0, day0 + 19 * DAY_MS);
      expect(w!.manifest).toMatchObject({ partition: 0, next_offset: '960', meters: 2 });
      expect(w!.bytes).toBeGreaterThan(0);
      expect(statSync(join(dir, 'r', 'p0', 'manifest.json')).mode & 0o777).toBe(0o600);
      expect(await writePartitionSnapshot(a, dir, 'r', 5, day0)).toBeUndefined();

      // b already holds another partition's meter, and a stale peer row of m1 from the peers topic
      await new ReadingStore(b).append(hours('m9', 3, 5), [{ topic: 'r', partition: 2, next_offset: 72n }]);
      await applyPeerRows(b, [{ meter_id: 'm1', day_ms: parseDate('2026-10-05')!, kwh_day: 99, profiled: false, work_kw: null }], loadRegistry().peerReaders());
      const before9 = await rows(b, meterRows('readings', `'m9'`));
      expect(await loadPartitionSnapshot(b, dir, 'r', 1)).toBeUndefined();
      const m = await loadPartitionSnapshot(b, dir, 'r', 0);
      expect(m?.next_offset).toBe('960');
      for (const t of ['readings', 'meter_daily', 'meter_hourly', 'peer_daily', 'meter_partition']) {
        expect(await rows(b, meterRows(t, `'m1','m2'`)), t).toBe(await rows(a, meterRows(t, `'m1','m2'`)));
      }
      expect(await rows(b, meterRows('readings', `'m3'`))).toBe('[]');
      expect(await rows(b, meterRows('readings', `'m9'`))).toBe(before9);
      expect(await rows(b, `select "partition", next_offset from kafka_offsets where topic = 'r' order by 1`)).toBe('[{"partition":0,"next_offset":960},{"partition":2,"next_offset":72}]');
      expect(readSnapshotManifest(dir, 'r', 0)?.meters).toBe(2);
    } finally {
      a.close();
      b.close();
    }
  });

  it('a snapshot ships raw readings of its last raw_days only; the loading store keeps raw from there on and takes the older history again as repeats', async () => {
    const a = await openDb(':memory:');
    const b = await openDb(':memory:');
    try {
      const hist = hours('m1', 40, 1);
      await new ReadingStore(a).append(hist, [{ topic: 'r', partition: 0, next_offset: 960n }]);
      const dir = join(tmp.dir, 'tail');
      const closed = day0 + 39 * DAY_MS;
      const w = await writePartitionSnapshot(a, dir, 'r', 0, closed, 14);
      const rawFrom = closed - 13 * DAY_MS;
      expect(w!.manifest.raw_from_ms).toBe(rawFrom);
      const shipped = (await a.con.runAndReadAll(`select count(*) from read_parquet('${join(dir, 'r', 'p0', 'readings.parquet')}')`)).getRows()[0]![0];
      expect(Number(shipped)).toBe(14 * 24);

      // b holds another partition's meter with 40 days of raw readings
      await new ReadingStore(b).append(hours('m9', 40, 5), [{ topic: 'r', partition: 2, next_offset: 960n }]);
      await loadPartitionSnapshot(b, dir, 'r', 0);
      const count = async (sql: string) => Number((await b.con.runAndReadAll(sql)).getRows()[0]![0]);
      // m1: 14 days of raw (the reading ending at the horizon's midnight is the day before's), every hour in the rollup
      expect(await count(`select count(*) from readings where meter_id = 'm1'`)).toBe(14 * 24);
      expect(await count(`select count(*) from readings where meter_id = 'm1' and ts <= epoch_ms(${rawFrom})`)).toBe(0);
      expect(await rows(b, meterRows('meter_hourly', `'m1'`))).toBe(await rows(a, meterRows('meter_hourly', `'m1'`)));
      // one raw horizon: m9's older raw readings go too, its rollups stay
      expect(await count(`select count(*) from readings where meter_id = 'm9'`)).toBe(14 * 24);
      expect(await count(`select count(*) from meter_hourly where meter_id = 'm9'`)).toBe(40 * 24);
      expect(await count(`select epoch_ms(cast(raw_from as timestamp)) from store_retention`)).toBe(rawFrom);

      // m1's whole history read again: nothing added, the daily sums unchanged
      const daily = await rows(b, meterRows('meter_daily', `'m1'`));
      const ing = new Ingestor(new ReadingStore(b), 60);
      const p = await ing.prepare({ records: hist.map((x) => ({ meter_id: x.meter_id, ts: formatLocal(x.ts_ms), kwh: x.kwh, interval_min: 60 })), rows: hist.map((_, i) => i + 2), broken: [] }, 'again');
      await ing.commit(p);
      expect(p.rejects).toEqual([]);
      expect(ing.counts.accepted).toBe(0);
      expect(await rows(b, meterRows('meter_daily', `'m1'`))).toBe(daily);
    } finally {
      a.close();
      b.close();
    }
  });

  it('a new store takes every partition\'s peer rows from the snapshots, and the peers topic from the earliest offset they name', async () => {
    const a = await openDb(':memory:');
    const b = await openDb(':memory:');
    try {
      await new ReadingStore(a).append(hours('m1', 2, 1), [{ topic: 'r', partition: 0, next_offset: 48n }]);
      await new ReadingStore(a).append(hours('m3', 2, 1), [{ topic: 'r', partition: 1, next_offset: 48n }]);
      await a.con.run(`insert into peer_daily values ('m1', date '2026-10-01', 30, true, 1.2), ('m3', date '2026-10-01', 50, true, 2.0), ('m3', date '2026-10-02', 51, true, 2.1)`);
      const dir = join(tmp.dir, 'peers');
      await writePartitionSnapshot(a, dir, 'r', 0, day0 + DAY_MS, null, { topic: 'peers', published: new Map([[0, 700n]]) });
      expect(await loadPeersFromSnapshots(b, dir, 'r', 0, 'peers')).toEqual({ loaded: false, why: 'r has no partitions' });
      expect(await loadPeersFromSnapshots(b, dir, 'r', 2, 'peers')).toEqual({ loaded: false, why: 'partition 1 has no snapshot' });
      await writePartitionSnapshot(a, dir, 'r', 1, day0, null);
      expect(await loadPeersFromSnapshots(b, dir, 'r', 2, 'peers')).toEqual({ loaded: false, why: 'partition 1\'s snapshot names no offset on peers' });
      await writePartitionSnapshot(a, dir, 'r', 1, day0, null, { topic: 'peers', published: new Map([[0, 650n]]) });
      // b already holds m1 itself (its row is newer than any snapshot's), and a stale row of m3
      await new ReadingStore(b).append(hours('m1', 1, 1), [{ topic: 'r', partition: 0, next_offset: 24n }]);
      await b.con.run(`insert into peer_daily values ('m1', date '2026-10-01', 31, true, 1.3), ('m3', date '2026-10-01', 5, false, null)`);
      expect(await loadPeersFromSnapshots(b, dir, 'r', 2, 'peers')).toEqual({ loaded: true, rows: 2, startAt: [{ partition: 0, offset: 650n }] });
      expect(await rows(b, meterRows('peer_daily', `'m3'`))).toBe(await rows(a, meterRows('peer_daily', `'m3'`)));
      expect(await rows(b, `select kwh_day from peer_daily where meter_id = 'm1'`)).toBe('[{"kwh_day":31}]');
      const read = await loadPeersRead(b, 'peers');
      expect(read.offsets).toEqual([{ partition: 0, offset: 650n }]);
      expect(read.marks.sort((x, y) => x.partition - y.partition)).toEqual([{ partition: 0, day: day0 + DAY_MS }, { partition: 1, day: day0 }]);
    } finally {
      a.close();
      b.close();
    }
  });
});
