/**
 * npm run bench [-- --quick]: each scenario prints its figure and its ratio to a reference
 * measured in the same run on the same data (never a timed assertion in tests).
 * Scenarios: backfill from CSV and Parquet vs DuckDB's own read_csv / read_parquet; detection time
 * over N meters × 60 days as N grows; and against a real Kafka broker (bench/kafka.ts) ingest vs a
 * bare kafkajs consumer and vs DuckDB's appender, peak worker memory, end-to-end latency.
 * `--only name,name` runs some of them (names: backfill, detection, close, json, arrow, memory, latency, start).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { openDb } from '../src/store/db.js';
import { backfill } from '../src/pipeline/backfill.js';
import { parsePipeline } from '../src/config/pipeline.js';
import { loadRegistry } from '../src/config/detectorRegistry.js';
import { MemoryRejectSink } from '../src/sinks/rejects.js';
import { runDetectors } from '../src/store/detectors.js';
import { markReadingsDirty } from '../src/store/judgeState.js';
import { ReadingStore } from '../src/store/readingStore.js';
import { upsertMeters } from '../src/store/reference.js';
import { meterSchema } from '../src/contracts/registry.js';
import { lastCompleteDay } from '../src/time.js';
import { rng } from '../src/fixtures/district.js';
import type { Reading } from '../src/contracts/reading.js';
import { DAY_MS, parseDate } from '../src/time.js';
import { startTestBroker } from '../test/support/testBroker.js';
import { kafkaArrowIngest, kafkaJsonIngest, workerMemory, endToEndLatency } from './kafka.js';
import { newWorkerStart } from './workerStart.js';

const quick = process.argv.includes('--quick');
const dir = mkdtempSync(join(tmpdir(), 'powerscreen-bench-'));
const results: string[] = [];
const say = (s: string) => { console.log(s); results.push(s); };
const secs = async (f: () => Promise<unknown>) => { const t = performance.now(); await f(); return (performance.now() - t) / 1000; };

/** Synthetic 15-min readings: n meters × d days, household-like with noise. */
function readings(n: number, days: number, seed = 1): Reading[] {
  const rand = rng(seed);
  const start = parseDate('2026-09-01')!;
  const out: Reading[] = [];
  for (let m = 0; m < n; m++) {
    const id = `M${String(m).padStart(7, '0')}`;
    const scale = 0.5 + rand();
    for (let k = 1; k <= days * 96; k++) {
      const h = Math.floor(((k - 1) % 96) / 4);
      out.push({ meter_id: id, ts_ms: start + k * 900_000, interval_min: 15, kwh: Math.round((h >= 18 && h < 23 ? 0.3 : 0.05) * scale * (0.6 + 0.8 * rand()) * 1000) / 1000 });
    }
  }
  return out;
}

/**
 * File backfill against the same work in plain DuckDB SQL on the same schema: read_csv /
 * read_parquet into a table, the de-duplication anti-join against what is stored, the readings
 * insert and the daily/hourly rollup inserts (issue 13's reference). The bare read is printed too,
 * and the line reader (source.native_files false) for what the native path replaced.
 */
async function fileBackfill(): Promise<void> {
  const n = quick ? 500 : 2000, days = 30;
  const rs = readings(n, days);
  const csv = join(dir, 'r.csv');
  writeFileSync(csv, 'meter_id,ts,kwh\n' + rs.map((r) => `${r.meter_id},${new Date(r.ts_ms).toISOString().slice(0, 19)}+08:00,${r.kwh}`).join('\n') + '\n');
  const parquet = join(dir, 'r.parquet');
  {
    const inst = await DuckDBInstance.create(':memory:');
    const con = await inst.connect();
    await con.run(`copy (select * from read_csv('${csv}', timestampformat='%Y-%m-%dT%H:%M:%S+08:00')) to '${parquet}' (format parquet)`);
    con.closeSync();
    inst.closeSync();
  }
  // every detector of the registry off: the backfill bench times ingest only
  const noDetectors = { detectors: Object.fromEntries(loadRegistry().detectors.map((d) => d.name).map((d) => [d, { enabled: false }])) };
  const csvRead = `read_csv('${csv}', columns = {'meter_id': 'VARCHAR', 'ts': 'TIMESTAMP', 'kwh': 'DOUBLE'}, header = true, timestampformat = '%Y-%m-%dT%H:%M:%S+08:00')`;
  for (const [name, file, read] of [['CSV', csv, csvRead], ['Parquet', parquet, `read_parquet('${parquet}')`]] as const) {
    const bare = await openDb(join(dir, `${name}-bare.duckdb`));
    const tBare = await secs(() => bare.con.run(`create temp table t as select * from ${read}`));
    bare.close();
    // the reference: the store's own tables, filled by hand-written SQL
    const ref = await openDb(join(dir, `${name}-ref.duckdb`));
    const tRef = await secs(async () => {
      await ref.con.run(`create temp table s as select meter_id, ts, 15 as interval_min, kwh from ${read}`);
      await ref.con.run(`create temp table fresh as select s.* from temp.s anti join readings r on r.meter_id = s.meter_id and r.ts = s.ts`);
      await ref.con.run(`insert into readings select meter_id, ts, interval_min, kwh from temp.fresh`);
      await ref.con.run(`insert into meter_daily select meter_id, cast(ts - interval 1 second as date), sum(kwh), sum(interval_min), count(*) from temp.fresh group by all`);
      await ref.con.run(`insert into meter_hourly select meter_id, date_trunc('hour', ts - interval 1 second), sum(kwh), sum(interval_min) from temp.fresh group by all`);
    });
    ref.close();
    const times: Record<string, number> = {};
    for (const native of [true, false]) {
      const db = await openDb(join(dir, `${name}-${native}.duckdb`));
      times[String(native)] = await secs(() => backfill({ readings: [file], db, pipeline: parsePipeline({ ...noDetectors, source: { native_files: native } }), rejects: new MemoryRejectSink(), sinks: [] }));
      db.close();
    }
    const t = times.true!, tLine = times.false!;
    say(`backfill ${name}: ${rs.length.toLocaleString('en-US')} readings in ${t.toFixed(2)} s = ${Math.round(rs.length / t).toLocaleString('en-US')}/s; the same work in plain DuckDB SQL ${tRef.toFixed(2)} s: ratio ${(tRef / t).toFixed(2)} (target ≥ 0.5); ` +
      `bare ${read.split('(')[0]} into a table ${tBare.toFixed(2)} s: ratio ${(tBare / t).toFixed(2)}; row by row (native_files: false) ${tLine.toFixed(2)} s, ${(tLine / t).toFixed(1)}× slower`);
  }
}

async function detectionScaling(): Promise<void> {
  const sizes = quick ? [500, 1000, 2000] : [10_000, 50_000, 100_000];
  const days = 60;
  const rows: [number, number][] = [];
  for (const n of sizes) {
    const db = await openDb(join(dir, `detect-${n}.duckdb`));
    await upsertMeters(db, Array.from({ length: n }, (_, m) => meterSchema.parse({ meter_id: `M${String(m).padStart(7, '0')}`, street: `s${m % 20}`, category: 'resident' })));
    const store = new ReadingStore(db);
    for (let m0 = 0; m0 < n; m0 += 250) {
      const chunk = readings(Math.min(250, n - m0), days, m0 + 7).map((r) => ({ ...r, meter_id: `M${String(Number(r.meter_id.slice(1)) + m0).padStart(7, '0')}` }));
      await store.append(chunk);
    }
    const t = await secs(() => runDetectors(db, parsePipeline({}).detectors, { lastCompleteDayMs: lastCompleteDay(parseDate('2026-09-01')! + days * DAY_MS) }));
    db.close();
    rows.push([n, t]);
    say(`detection, all detectors over ${n.toLocaleString('en-US')} meters × ${days} days (15-min): ${t.toFixed(2)} s (${(t / n * 1e6).toFixed(0)} µs a meter)`);
  }
  const [n0, t0] = rows[0]!, [n1, t1] = rows.at(-1)!;
  say(`detection growth: ${n1 / n0}× meters → ${(t1 / t0).toFixed(2)}× time (linear = ${n1 / n0}×)`);
}

/** The process's highest resident memory while it runs, sampled every 100 ms (DuckDB works in its own threads, so the timer fires during queries). */
class PeakRss {
  private peak = process.memoryUsage().rss;
  private timer = setInterval(() => { this.peak = Math.max(this.peak, process.memoryUsage().rss); }, 100);
  stop(): void { clearInterval(this.timer); this.peak = Math.max(this.peak, process.memoryUsage().rss); }
  get mib(): number { return Math.round(this.peak / 2 ** 20); }
}

/**
 * A district's day close at scale: N meters × 60 days of hourly and daily rollups generated inside
 * DuckDB (what the day detectors read; raw readings are not generated, the Kafka scenarios time
 * their ingest). 1 % of meters are workshops (a weekday 8:00-18:00 load from day 30), 1 % heavy
 * households. Times the first close (everything judged), a steady-state close (one new day judged
 * incrementally) and, as its reference, a full re-judge of the same 60 days; then a close after a
 * late day of 1 % of the meters (in two streets), checked against a full re-judge too.
 */
async function districtClose(): Promise<void> {
  const sizes = quick ? [5_000, 20_000] : [25_000, 100_000];
  const days = 60;
  const start = parseDate('2026-09-01')!;
  const rows: [number, number][] = [];
  for (const n of sizes) {
    const file = join(dir, `close-${n}.duckdb`);
    const db = await openDb(file);
    const detectors = parsePipeline({}).detectors;
    const gen = await secs(async () => {
      await db.con.run(`insert into meters select 'M' || lpad(i::varchar, 7, '0'), '', '', 's' || (i % 40), '', 'resident', 8 from range(${n}) t(i)`);
      // one day per statement, as the ingest lands a district's readings: a single 60-day insert
      // sorted by hour needs the whole sort in memory (100k meters ran DuckDB out of its 4 GB)
      for (let day = 0; day < days - 1; day++) {
        await db.con.run(`
          insert into meter_hourly
          select 'M' || lpad(m::varchar, 7, '0'), timestamp '2026-09-01' + to_hours(h), 
                 round(greatest(0, (case when hour(timestamp '2026-09-01' + to_hours(h)) between 18 and 22 then 1.2 else 0.25 end) * (0.5 + hash(m) % 1000 / 1000.0) * (0.6 + 0.8 * random())
                   + case when m % 100 = 7 and h >= 30 * 24 and isodow(timestamp '2026-09-01' + to_hours(h)) <= 5 and hour(timestamp '2026-09-01' + to_hours(h)) between 8 and 17 then 6 else 0 end), 3), 60
          -- in time order, as the ingest stores a district's readings (day by day)
          from range(${day * 24}, ${(day + 1) * 24}) b(h), range(${n}) a(m) order by h, m`);
        await db.con.run(`insert into meter_daily select meter_id, cast(hour as date), sum(kwh), sum(covered_min), 24 from meter_hourly
          where hour >= timestamp '2026-09-01' + to_days(${day}) and hour < timestamp '2026-09-01' + to_days(${day + 1}) group by all`);
      }
    });
    const lastDay = start + (days - 2) * DAY_MS;
    let first!: Awaited<ReturnType<typeof runDetectors>>;
    const rssFirst = new PeakRss();
    const tFirst = await secs(async () => { first = await runDetectors(db, detectors, { lastCompleteDayMs: lastDay, incremental: true }); await first.commit(); });
    rssFirst.stop();
    // the 60th day lands (as the ingest would: rollups up, the day marked for judging)
    await db.con.run(`
      insert into meter_hourly
      select meter_id, hour + interval 1 day, kwh, covered_min from meter_hourly where cast(hour as date) = date '2026-09-01' + ${days - 2}`);
    await db.con.run(`insert into meter_daily select meter_id, day + 1, kwh, covered_min, n_readings from meter_daily where day = date '2026-09-01' + ${days - 2}`);
    await db.con.run(`update detector_judged set dirty_from = least(coalesce(dirty_from, date '2026-09-01' + ${days - 1}), date '2026-09-01' + ${days - 1})`);
    // a worker lands a day over a day: DuckDB checkpoints its write-ahead log as it grows (every
    // 16 MB), so the close starts with the day's rows written. Without this the steady close would
    // also write out the first close's flags and the whole day's rollups.
    await db.con.run('checkpoint');
    let steady!: Awaited<ReturnType<typeof runDetectors>>;
    const tSteady = await secs(async () => { steady = await runDetectors(db, detectors, { lastCompleteDayMs: lastDay + DAY_MS, incremental: true }); await steady.commit(); });
    let full!: Awaited<ReturnType<typeof runDetectors>>;
    const rssFull = new PeakRss();
    const tFull = await secs(async () => { full = await runDetectors(db, detectors, { lastCompleteDayMs: lastDay + DAY_MS }); });
    rssFull.stop();
    // every lead of the steady close is one the full re-judge also finds, unchanged
    const key = (l: (typeof full.leads)[number]) => `${l.detector}|${l.meter_id}|${l.episode_start_ms}|${l.detected_at_ms}|${l.window_end_ms}|${l.score.toFixed(6)}`;
    const fullKeys = new Set(full.leads.map(key));
    const mismatched = steady.leads.filter((l) => !fullKeys.has(key(l))).length;
    // a late day: a fifth of two streets' meters (1 % of the district) send their day four days back
    // again, now with a workshop's 6 kW from 8:00 to 18:00 (concentrators back online), as the ingest
    // would land it: rollups up and the meter-days marked. The close judges those meters and their
    // two peer groups again and returns every episode of theirs; each must be one a full re-judge of
    // the same data has
    const lateDay = `date '2026-09-01' + ${days - 5}`;
    await db.con.run(`create or replace temp table late_days as select meter_id, ${lateDay} as day from meters where street in ('s3', 's4') and hash(meter_id) % 5 = 0`);
    await db.con.run(`update meter_hourly set kwh = kwh + 6 where meter_id in (select meter_id from temp.late_days) and cast(hour as date) = ${lateDay} and hour(hour) between 8 and 17`);
    await db.con.run(`update meter_daily set kwh = kwh + 60 where meter_id in (select meter_id from temp.late_days) and day = ${lateDay}`);
    await markReadingsDirty(db.con, 'temp.late_days');
    await db.con.run('checkpoint');
    const lateMeters = Number((await db.con.runAndReadAll('select count(*) from temp.late_days')).getRows()[0]![0]);
    let late!: Awaited<ReturnType<typeof runDetectors>>;
    const tLate = await secs(async () => { late = await runDetectors(db, detectors, { lastCompleteDayMs: lastDay + DAY_MS, incremental: true }); await late.commit(); });
    const fullAfterLate = await runDetectors(db, detectors, { lastCompleteDayMs: lastDay + DAY_MS });
    const lateKeys = new Set(fullAfterLate.leads.map(key));
    const lateMismatched = late.leads.filter((l) => !lateKeys.has(key(l))).length;
    const rss = process.memoryUsage().rss / 2 ** 20;
    db.close();
    const { statSync } = await import('node:fs');
    const mb = statSync(file).size / 2 ** 20;
    rows.push([n, tSteady]);
    // the re-judge alone, in a fresh process, at the default memory limit and at 1 GB: the peak
    // resident memory of this process also holds what generating the district left behind
    if (n === sizes.at(-1)) {
      for (const limit of ['4GB', '1GB']) {
        const out = execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'rejudge.ts'), file, limit, String(lastDay + DAY_MS)], { encoding: 'utf8' });
        const r = JSON.parse(out.trim().split('\n').at(-1)!) as { secs: number; peak_rss_mib: number; leads: number };
        say(`full re-judge of the ${n.toLocaleString('en-US')}-meter district in a process of its own, store.memory_limit ${limit}: ${r.secs.toFixed(1)} s, peak RSS ${r.peak_rss_mib} MiB (target ≤ 2048), ${r.leads} leads`);
      }
    }
    say(`day close, ${n.toLocaleString('en-US')} meters × ${days} days (rollups generated in DuckDB in ${gen.toFixed(1)} s): first close ${tFirst.toFixed(2)} s (${first.leads.length} leads); steady-state close of one new day ${tSteady.toFixed(2)} s (${steady.leads.length} leads, ${mismatched} not as the full re-judge has them); full re-judge ${tFull.toFixed(2)} s (${full.leads.length} leads); ratio full/steady ${(tFull / tSteady).toFixed(1)}×; steps ${JSON.stringify(steady.ms)}; a late day of ${lateMeters.toLocaleString('en-US')} meters: close ${tLate.toFixed(2)} s, meters judged again per detector ${JSON.stringify(late.rejudgedMeters)}, ${late.leads.length} leads (${lateMismatched} not as a full re-judge has them), steps ${JSON.stringify(late.ms)}; peak RSS first close ${rssFirst.mib} MiB, full re-judge ${rssFull.mib} MiB; RSS after ${Math.round(rss)} MiB; file ${Math.round(mb)} MiB`);
  }
  const [n0, t0] = rows[0]!, [n1, t1] = rows.at(-1)!;
  say(`steady-state close growth: ${n1 / n0}× meters → ${(t1 / t0).toFixed(2)}× time (target ≤ ${(n1 / n0 * 1.125).toFixed(1)}×)`);
}

console.log(`powerscreen bench${quick ? ' --quick' : ''}: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`);
try {
  const onlyArg = process.argv.indexOf('--only');
  const only = onlyArg > 0 ? new Set(process.argv[onlyArg + 1]!.split(',')) : undefined;
  const want = (name: string) => !only || only.has(name);
  if (want('backfill')) await fileBackfill();
  if (want('detection')) await detectionScaling();
  if (want('close')) await districtClose();
  const kafkaScenarios = [['json', kafkaJsonIngest], ['arrow', kafkaArrowIngest], ['memory', workerMemory], ['latency', endToEndLatency], ['start', newWorkerStart]] as const;
  if (kafkaScenarios.some(([n]) => want(n))) {
    const broker = await startTestBroker((m) => console.log(`[kafka] ${m}`));
    try {
      for (const [name, run] of kafkaScenarios) if (want(name)) await run({ brokers: broker.brokers, dir, quick, say });
    } finally {
      await broker.stop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
