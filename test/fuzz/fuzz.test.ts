/**
 * Fuzz: mutated inputs in every file format and on every topic the worker reads, 10,000+ per run.
 * Never a crash, never a hang: a file either reads with `read = readings + rejects + register bases`
 * (duplicates are found at the store, after) and a reason naming the field for every reject, or
 * fails as a whole with a PowerscreenError naming what is wrong. A message is decoded or
 * dead-lettered with a reason. Seeds are fixed; a failure prints its seed and input so it can be
 * kept below as a regression case.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb, type Db } from '../../src/store/db.js';
import { ReadingStore } from '../../src/store/readingStore.js';
import { upsertMeters } from '../../src/store/reference.js';
import { meterSchema } from '../../src/contracts/registry.js';
import { Ingestor } from '../../src/pipeline/ingest.js';
import { readRecords } from '../../src/io/readers.js';
import { decodeReadings } from '../../src/kafka/readingsBatch.js';
import { decodeRegistryBatch } from '../../src/kafka/registryFeed.js';
import { PowerscreenError } from '../../src/errors.js';
import { rng } from '../../src/fixtures/district.js';
import { tempDir } from '../helpers.js';
import { mutate } from '../support/mutate.js';

const tmp = tempDir();
let db: Db;
let ingestor: Ingestor;
beforeAll(async () => {
  db = await openDb(':memory:');
  // a contract on one meter, so the plausibility guard is exercised too
  await upsertMeters(db, [meterSchema.parse({ meter_id: '3501020000901', street: 's', category: 'resident', contract_kva: 4 })]);
  ingestor = new Ingestor(new ReadingStore(db), 15);
});
afterAll(() => {
  db.close();
  tmp.cleanup();
});

const REASON = /^[A-Za-z_][\w.[\]-]*: \S/;
const HANG_MS = 10_000;

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, rej) => { t = setTimeout(() => rej(new Error(`hang: ${what} took over ${HANG_MS} ms`)), HANG_MS); })]).finally(() => clearTimeout(t));
}

/** Read a whole file through the reader and the Ingestor's validation (no store commit). */
async function readFile(file: string): Promise<{ read: number; readings: number; rejects: string[]; bases: number }> {
  const out = { read: 0, readings: 0, rejects: [] as string[], bases: 0 };
  for await (const batch of readRecords(file, 500)) {
    const p = await ingestor.prepare(batch, file);
    expect(p.read).toBe(batch.records.length + batch.broken.length);
    out.read += p.read;
    out.readings += p.readings.length;
    out.bases += p.registerBase;
    out.rejects.push(...p.rejects.map((r) => r.reason));
  }
  return out;
}

const SEEDS: Record<string, string> = {
  'readings.csv': ['meter_id,ts,kwh', ...Array.from({ length: 40 }, (_, i) => `350102000090${i % 3},2026-10-01T${String(Math.floor(i / 4)).padStart(2, '0')}:${String((i % 4) * 15).padStart(2, '0')}:00+08:00,0.${i + 10}`)].join('\n') + '\n',
  'readings-interval.csv': ['meter_id,ts,interval_min,kwh', ...Array.from({ length: 20 }, (_, i) => `3501020000911,2026-10-${String(i + 1).padStart(2, '0')}T00:00:00+08:00,1440,${(12 + i).toFixed(1)}`)].join('\n') + '\n',
  'readings-register.csv': ['meter_id,ts,reading_kwh', ...Array.from({ length: 30 }, (_, i) => `3501020000921,2026-10-01T${String(Math.floor(i / 2)).padStart(2, '0')}:${i % 2 ? '30' : '00'}:00+08:00,${(9990 + i * 0.7).toFixed(2)}`)].join('\n') + '\n',
  'readings.jsonl': Array.from({ length: 30 }, (_, i) => JSON.stringify({ meter_id: '3501020000931', ts: `2026-10-01T${String(Math.floor(i / 4)).padStart(2, '0')}:${String((i % 4) * 15).padStart(2, '0')}:00+08:00`, kwh: i / 10 })).join('\n') + '\n',
  'readings.json': JSON.stringify(Array.from({ length: 20 }, (_, i) => ({ meter_id: '3501020000941', ts: `2026-10-02T0${Math.floor(i / 4)}:${String((i % 4) * 15).padStart(2, '0')}:00+08:00`, kwh: 0.5 }))),
  'readings-wide.csv': ['meter_id,date,' + Array.from({ length: 96 }, (_, k) => `p${k + 1}`).join(','), ...Array.from({ length: 4 }, (_, i) => `350102000095${i},2026-10-0${i + 1},` + Array.from({ length: 96 }, (_, k) => (k % 7) / 10).join(','))].join('\n') + '\n',
};

describe('fuzz: reading files', () => {
  for (const [name, seedText] of Object.entries(SEEDS)) {
    it(`${name}: 800 mutations, never a crash or hang; every row counted`, async () => {
      const clean = join(tmp.dir, `clean-${name}`);
      writeFileSync(clean, seedText);
      const base = await readFile(clean);
      expect(base.rejects).toEqual([]);
      const rand = rng(name.length * 7919 + 11);
      for (let i = 0; i < 800; i++) {
        const text = mutate(seedText, rand);
        const file = join(tmp.dir, `${i}-${name}`);
        writeFileSync(file, text);
        try {
          const r = await withTimeout(readFile(file), `${name} mutation ${i}`);
          expect(r.read, `${name} mutation ${i}`).toBe(r.readings + r.rejects.length + r.bases);
          for (const reason of r.rejects) expect(reason, `${name} mutation ${i}: ${JSON.stringify(text.slice(0, 300))}`).toMatch(REASON);
        } catch (e) {
          // a file that cannot be read at all fails as a whole, naming why
          if (!(e instanceof PowerscreenError)) throw new Error(`${name} mutation ${i} crashed: ${(e as Error).stack}\ninput: ${JSON.stringify(text.slice(0, 500))}`);
          expect(e.message).toMatch(/\S/);
        }
      }
    }, 300_000);
  }

  it('mutated binary files (Parquet/Arrow bytes) are refused as a whole, not a crash', async () => {
    const parquet = join(tmp.dir, 'seed.parquet');
    await db.con.run(`copy (select '3501020000901' as meter_id, timestamp '2026-10-01 00:15:00' + to_minutes(15 * i) as ts, 0.25 as kwh from range(200) t(i)) to '${parquet}' (format parquet)`);
    const bytes = readFileSync(parquet);
    const rand = rng(5);
    for (let i = 0; i < 300; i++) {
      const b = Buffer.from(bytes);
      for (let k = 0; k < 1 + Math.floor(rand() * 8); k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      const file = join(tmp.dir, `${i}.parquet`);
      writeFileSync(file, rand() < 0.2 ? b.subarray(0, Math.floor(rand() * b.length)) : b);
      try {
        const r = await withTimeout(readFile(file), `parquet mutation ${i}`);
        expect(r.read).toBe(r.readings + r.rejects.length + r.bases);
      } catch (e) {
        if (!(e instanceof PowerscreenError)) throw new Error(`parquet mutation ${i} crashed: ${(e as Error).stack}`);
      }
    }
  }, 300_000);
});

describe('fuzz: Kafka messages on every topic the worker reads', () => {
  const reading = { meter_id: '3501020000901', ts: '2026-10-01T00:15:00+08:00', kwh: 0.25 };
  const SEED_MESSAGES: Record<string, string[]> = {
    readings: [JSON.stringify(reading), JSON.stringify([reading, { ...reading, ts: '2026-10-01T00:30:00+08:00' }]), JSON.stringify({ meter_id: '3501020000921', ts: '2026-10-01T01:00:00+08:00', reading_kwh: 1234.5 })],
    meters: [JSON.stringify({ meter_id: '3501020000901', account_name: '陈某', address: '某路1号', street: '鼓东街道', community: '', category: 'resident', contract_kva: 8 })],
    sites: [JSON.stringify({ case_no: 'GL1', meter_id: '3501020000901', site_name: '某厂', address: '', street: '鼓东街道', measure: '断电', status: '已关停', power_cut_at: '2026-10-01T12:00:00+08:00', halt_ordered_at: '' })],
    feedback: [JSON.stringify({ case_id: 'PS-20261001-abcdef0123', verdict: 'dismissed', note: '仓库', given_by: 'gudong' })],
    cases: [JSON.stringify({ case_id: 'PS-20261001-abcdef0123', revision: 2, meter_id: '3501020000901', status: 'open', family: 'site', detector: 'restored_power', evidence: {}, score: 0.9, detected_at: '2026-10-01T12:00:00+08:00', episode_start: '2026-10-01T12:00:00+08:00', window_start: '2026-10-01T12:00:00+08:00', window_end: '2026-10-02T12:00:00+08:00' })],
    peers: [JSON.stringify({ meter_id: '3501020000901', day: '2026-10-01', kwh_day: 12.5, profiled: true, work_kw: 1.2 }), JSON.stringify({ partition: 0, closed_through: '2026-10-01' })],
  };

  for (const [topic, seeds] of Object.entries(SEED_MESSAGES)) {
    it(`${topic}: ${topic === 'readings' ? 3000 : 800} mutated messages are decoded or dead-lettered with a reason`, async () => {
      const rand = rng(topic.length * 31 + 3);
      const n = topic === 'readings' ? 3000 : 800;
      const messages = Array.from({ length: n }, (_, i) => {
        const text = mutate(seeds[i % seeds.length]!, rand);
        return { offset: String(i), key: Buffer.from('k'), value: rand() < 0.02 ? null : Buffer.from(text, rand() < 0.1 ? 'latin1' : 'utf8') };
      });
      for (let i = 0; i < messages.length; i += 100) {
        const chunk = messages.slice(i, i + 100);
        if (topic === 'readings') {
          const d = decodeReadings(chunk, 'r', 0, 1024 * 1024, 15);
          for (const x of d.dead) expect(x.reason, `offset ${x.offset}`).toMatch(REASON);
          const p = await withTimeout(ingestor.prepare(d.raw, 'r', d.valid), `readings chunk ${i}`);
          expect(p.read).toBe(p.readings.length + p.rejects.length + p.registerBase);
          for (const r of p.rejects) expect(r.reason).toMatch(REASON);
          // every message is either dead-lettered whole or had its records counted
          expect(d.dead.length + d.decoded.length).toBe(chunk.filter((m) => m.value !== null).length + chunk.filter((m) => m.value === null && d.dead.some((x) => x.offset === m.offset)).length);
        } else {
          const d = decodeRegistryBatch(topic as never, topic, 0, chunk);
          for (const x of d.dead) expect(x.reason, `${topic} offset ${x.offset}`).toMatch(REASON);
          const applied = d.meters.length + d.sites.length + d.verdicts.length + d.cases.length + d.peerRows.length + d.marks.length;
          // tombstones (null values) are skipped on purpose: a deleted entry keeps its history
          expect(applied + d.dead.length).toBe(chunk.filter((m) => m.value !== null).length);
        }
      }
    }, 120_000);
  }
});
