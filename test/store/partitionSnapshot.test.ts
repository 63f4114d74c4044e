/** Partition snapshots (issue 13, item 4): what one store writes for a partition, another loads whole. */
import { describe, it, expect, afterAll } from 'vitest';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { openDb, type Db } from '../../src/store/db.js';
import { ReadingStore } from '../../src/store/readingStore.js';
import { applyPeerRows } from '../../src/store/peers.js';
import { loadPartitionSnapshot, readSnapshotManifest, writePartitionSnapshot } from '../../src/store/partitionSnapshot.js';
import { DAY_MS, parseDate } from '../../src/time.js';
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
      await applyPeerRows(b, [{ meter_id: 'm1', day_ms: parseDate('2026-10-05')!, kwh_day: 99, profiled: false, work_kw: null }]);
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
});
