/**
 * Bulk ingest into DuckDB: readings go through the appender into a staging table, then one
 * transaction de-duplicates them (within the batch and against what is stored), appends the new
 * ones and adds them into the daily and hourly rollups. A late reading therefore updates the
 * rollups of its own day, and the next detection run sees it.
 */
import { BIGINT, DOUBLE, DuckDBDataChunk, DuckDBTimestampValue, INTEGER, LIST, listValue, SMALLINT, VARCHAR } from '@duckdb/node-api';
import type { Reading } from '../contracts/reading.js';
import { inTransaction, type Db } from './db.js';
import { PowerscreenError } from '../errors.js';
import { dropKeptStateOf, markReadingsDirty } from './judgeState.js';
import type { RegisterState } from '../core/register.js';
import type { DayLevel } from '../core/cases.js';
import { HOUR_MS } from '../time.js';
import { addIntoRollup, batchRollups, rollupsWithoutRepeats } from './batchRollups.js';

export interface AppendResult {
  accepted: number;
  duplicate: number;
}

/** Kafka position to store in the same transaction as the readings (exactly-once ingest). */
export interface OffsetMark {
  topic: string;
  partition: number;
  next_offset: bigint;
  watermark_ms?: number;
}

// Numbers only (place and time as doubles: exact for any file row and millisecond): a BigInt and
// a timestamp object per reading cost the appender half its time (2.4 M readings: 0.94 -> 0.46 µs
// each, scratch). The time becomes a timestamp where the stage is read (STAGE).
const STAGE_TYPES = [DOUBLE, VARCHAR, DOUBLE, SMALLINT, DOUBLE];
const STAGE_CHUNK_ROWS = 2048;
/** The staged readings with the stage's columns (seq, meter_id, ts, interval_min, kwh). */
const STAGE = `(select cast(seq as bigint) as seq, meter_id, epoch_ms(cast(ts_ms as bigint)) as ts, interval_min, kwh from temp.reading_stage)`;
const ts = (ms: number) => new DuckDBTimestampValue(BigInt(Math.round(ms)) * 1000n);

/**
 * Readings already staged in DuckDB as a query with the stage's columns (seq, meter_id, ts,
 * interval_min, kwh): a file whose rows passed the contract's checks in SQL (nativeFile.ts).
 */
export interface StagedQuery {
  sql: string;
  rows: number;
  minTsMs: number;
  maxTsMs: number;
  /** The distinct meters among them. */
  meters: readonly string[];
}

export class ReadingStore {
  constructor(readonly db: Db) {}

  /** A fresh stage per batch: rows deleted from a DuckDB table keep their memory, a dropped table frees it. */
  private async ensureStage(): Promise<void> {
    await this.db.con.run(`create or replace temp table reading_stage (seq double, meter_id varchar, ts_ms double, interval_min smallint, kwh double)`);
  }

  /**
   * Store a batch: its readings, the Kafka offsets and register state it covers, in one transaction.
   * `seqOf`: each reading's place in its source (a file row) when not its index; where two carry the
   * same (meter, ts), the lower place wins. `also`: readings a file's SQL checks already hold in
   * DuckDB (nativeFile.ts), stored with these and read where they are rather than copied.
   */
  async append(readings: readonly Reading[], offsets: readonly OffsetMark[] = [], registerState?: ReadonlyMap<string, RegisterState>,
    opts: { seqOf?: (i: number) => number; also?: StagedQuery } = {}): Promise<AppendResult> {
    const registers = registerState?.size ? registerState : undefined;
    if (registers) await this.stageRegisterState(registers);
    const also = opts.also?.rows ? opts.also : undefined;
    if (readings.length === 0 && !also) {
      if (offsets.length || registers) {
        await inTransaction(this.db.con, async () => {
          if (registers) await this.db.con.run(`insert or replace into register_state select * from temp.register_stage`);
          if (offsets.length) await this.saveOffsets(offsets, false);
        });
      }
      return { accepted: 0, duplicate: 0 };
    }
    await this.ensureStage();
    const con = this.db.con;
    let minTs = also?.minTsMs ?? Infinity, maxTs = also?.maxTsMs ?? -Infinity;
    const app = await con.createAppender('reading_stage', 'main', 'temp');
    try {
      // column-wise data chunks: one crossing into DuckDB per column of 2,048 rows, not per value
      for (let o = 0; o < readings.length; o += STAGE_CHUNK_ROWS) {
        const n = Math.min(STAGE_CHUNK_ROWS, readings.length - o);
        const seq = new Array<number>(n), ids = new Array<string>(n), tss = new Array<number>(n), ivs = new Array<number>(n), kwh = new Array<number>(n);
        for (let i = 0; i < n; i++) {
          const r = readings[o + i]!;
          if (r.ts_ms < minTs) minTs = r.ts_ms;
          if (r.ts_ms > maxTs) maxTs = r.ts_ms;
          seq[i] = opts.seqOf ? opts.seqOf(o + i) : o + i;
          ids[i] = r.meter_id;
          tss[i] = Math.round(r.ts_ms);
          ivs[i] = r.interval_min;
          kwh[i] = r.kwh;
        }
        const chunk = DuckDBDataChunk.create(STAGE_TYPES, n);
        chunk.setColumns([seq, ids, tss, ivs, kwh]);
        app.appendDataChunk(chunk);
      }
      app.flushSync();
    } finally {
      app.closeSync();
    }
    const stage = also ? `(select * from ${STAGE} union all select * from ${also.sql})` : STAGE;
    const stagedRows = readings.length + (also?.rows ?? 0);
    // The batch's new readings and their rollup groups are made before the transaction: temp
    // tables created inside it are read back several times slower (a 5.76 M-reading file's
    // insert and rollups took 5 s instead of 2.7). Nothing else writes this store meanwhile (one
    // connection, one queue), so what they were judged against is what the transaction sees.
    let fresh = 'temp.reading_fresh';
    try {
      const params = { min_ts: ts(minTs), max_ts: ts(maxTs) };
      const stored = (await con.runAndReadAll(`select exists (select 1 from readings where ts between $min_ts and $max_ts) as stored`, params)).getRowObjectsJS()[0]!.stored === true;
      // New history (a backfill's file): the batch is what is stored, read in place, if it repeats
      // no (meter, ts). That is read off the hour groups it needs anyway: a group holding fewer
      // distinct minutes than readings may repeat one, and any repeat shows so. A group-by over
      // every (meter, ts) to find none took a third of a Parquet backfill (1.0 s of 2.8 at 5.76 M
      // readings). Readings of more than an hour take the general path below.
      if (!stored && await rollupsWithoutRepeats(con, stage)) {
        fresh = `(select meter_id, ts, interval_min, kwh from ${stage})`;
      } else {
        // First occurrence of a (meter, ts) wins, inside the batch and against the store. Only the
        // keys the batch repeats are grouped: a group-by carrying every reading cost more than
        // finding the (usually no) repeated keys, and the rest keep their order (and the zone maps theirs).
        await con.run(`create or replace temp table batch_repeats as select meter_id, ts from ${stage} group by meter_id, ts having count(*) > 1`);
        await con.run(`
          create or replace temp table reading_fresh as
          with batch_unique as (
            select meter_id, ts, interval_min, kwh from ${stage} s anti join temp.batch_repeats d using (meter_id, ts)
            union all
            select meter_id, ts, arg_min(interval_min, seq) as interval_min, arg_min(kwh, seq) as kwh
            from ${stage} s semi join temp.batch_repeats d using (meter_id, ts) group by meter_id, ts
          ),
          already_stored as (
            select r.meter_id, r.ts from readings r
            where r.ts between $min_ts and $max_ts
              and r.meter_id in (select distinct meter_id from batch_unique)
          )
          select b.* from batch_unique b anti join already_stored s on b.meter_id = s.meter_id and b.ts = s.ts`,
          params);
        await batchRollups(con, fresh, false);
      }
    } catch (e) {
      await con.run('drop table if exists temp.reading_stage').catch(() => undefined);
      throw new PowerscreenError('STORE_FAILED', `appending ${stagedRows} readings failed: ${(e as Error).message}`);
    }
    await con.run('begin transaction');
    try {
      await con.run(`insert into readings select meter_id, ts, interval_min, kwh from ${fresh}`);
      // Rollups add in. Where nothing is stored yet for the batch's time range (a backfill of new
      // history), a plain insert does the same as a merge at a fraction of its cost: the range
      // test reads the zone maps only, and the batch's own groups are unique.
      const range = { lo: ts(minTs - HOUR_MS), hi: ts(maxTs) };
      const daysInRange = (c: string) => `${c} between cast($lo as date) and cast($hi as date)`, hoursInRange = (c: string) => `${c} between $lo and $hi`;
      const stored = (await con.runAndReadAll(`
        select exists (select 1 from meter_daily where ${daysInRange('day')}) as days, exists (select 1 from meter_hourly where ${hoursInRange('hour')}) as hours`,
      range)).getRowObjectsJS()[0]!;
      await addIntoRollup(con, 'meter_daily', 'day', 'temp.daily_fresh', ['kwh', 'covered_min', 'n_readings'], stored.days === true, range, daysInRange);
      await addIntoRollup(con, 'meter_hourly', 'hour', 'temp.hourly_fresh', ['kwh', 'covered_min'], stored.hours === true, range, hoursInRange);
      // the days these readings complete are judged again: a late reading for a closed day, its meter's
      await markReadingsDirty(con, 'temp.daily_fresh');
      const accepted = Number((await con.runAndReadAll(`select count(*) n from ${fresh}`)).getRowObjectsJS()[0]!.n);
      if (offsets.length === 1) {
        // a worker's batch comes from one partition: remember where each meter lives, so the
        // worker can drop exactly these meters' state if a rebalance moves the partition away
        // (only meters not mapped there yet: every batch re-writing its 10k meters' unchanged rows cost
        // about 0.4 µs a reading in 20k-reading JSON batches)
        await con.run(`
          insert or replace into meter_partition
          select distinct s.meter_id, $p from ${stage} s
          anti join meter_partition m on m.meter_id = s.meter_id and m."partition" = $p`, { p: offsets[0]!.partition });
      }
      if (registers) await con.run(`insert or replace into register_state select * from temp.register_stage`);
      if (offsets.length) await this.saveOffsets(offsets, false);
      await con.run('commit');
      await con.run('drop table temp.reading_stage; drop table if exists temp.batch_repeats; drop table if exists temp.reading_fresh; drop table temp.daily_fresh; drop table temp.hourly_fresh');
      return { accepted, duplicate: stagedRows - accepted };
    } catch (e) {
      await con.run('rollback').catch(() => undefined);
      await con.run('drop table if exists temp.reading_stage').catch(() => undefined);
      throw new PowerscreenError('STORE_FAILED', `appending ${stagedRows} readings failed: ${(e as Error).message}`);
    }
  }

  private async saveOffsets(offsets: readonly OffsetMark[], ownTransaction: boolean): Promise<void> {
    const con = this.db.con;
    if (ownTransaction) await con.run('begin transaction');
    try {
      for (const o of offsets) {
        await con.run(
          `insert into kafka_offsets values ($t, $p, $o, $w)
           on conflict (topic, "partition") do update set next_offset = excluded.next_offset,
             watermark = greatest(kafka_offsets.watermark, excluded.watermark)`,
          { t: o.topic, p: o.partition, o: o.next_offset, w: o.watermark_ms === undefined ? null : ts(o.watermark_ms) },
        );
      }
      if (ownTransaction) await con.run('commit');
    } catch (e) {
      if (ownTransaction) await con.run('rollback').catch(() => undefined);
      throw e;
    }
  }

  /**
   * Delete everything stored for the meters of these partitions (readings, rollups, register state,
   * offsets): a rebalance gave them to another worker. Cases and peer rows stay: every worker holds
   * all cases and all peers.
   */
  async dropPartitions(topic: string, partitions: readonly number[]): Promise<number> {
    if (!partitions.length) return 0;
    const con = this.db.con;
    const parts = `(${partitions.map((p) => Math.floor(p)).join(',')})`;
    await con.run('begin transaction');
    try {
      const meters = Number((await con.runAndReadAll(`select count(*) n from meter_partition where "partition" in ${parts}`)).getRowObjectsJS()[0]!.n);
      const lostMeters = `select meter_id from meter_partition where "partition" in ${parts}`;
      for (const t of ['readings', 'meter_daily', 'meter_hourly', 'register_state']) {
        await con.run(`delete from ${t} where meter_id in (${lostMeters})`);
      }
      // their kept flags too: a full judgement of what this store now holds would find none
      await dropKeptStateOf(con, lostMeters);
      await con.run(`delete from meter_partition where "partition" in ${parts}`);
      await con.run(`delete from kafka_offsets where topic = $t and "partition" in ${parts}`, { t: topic });
      await con.run('commit');
      return meters;
    } catch (e) {
      await con.run('rollback').catch(() => undefined);
      throw new PowerscreenError('STORE_FAILED', `dropping partitions ${partitions.join(',')} failed: ${(e as Error).message}`);
    }
  }

  /** Stored next offsets (and watermarks) of a topic's partitions. */
  /** Contract capacity (kVA) of every registered meter that has one: what a reading is checked against. */
  async contractCapacities(): Promise<Map<string, number>> {
    const rows = (await this.db.con.runAndReadAll(`select meter_id, contract_kva from meters where contract_kva > 0`)).getRowObjectsJS();
    return new Map(rows.map((r) => [String(r.meter_id), Number(r.contract_kva)]));
  }

  async loadOffsets(topic: string): Promise<Map<number, { next_offset: bigint; watermark_ms: number | undefined }>> {
    const rows = (await this.db.con.runAndReadAll(`select "partition" p, next_offset, epoch_ms(watermark) w from kafka_offsets where topic = $t`, { t: topic })).getRowObjectsJS();
    return new Map(rows.map((r) => [Number(r.p), { next_offset: BigInt(r.next_offset as bigint), watermark_ms: r.w === null ? undefined : Number(r.w) }]));
  }

  async loadRegisterState(): Promise<Map<string, RegisterState>> {
    const rows = (await this.db.con.runAndReadAll(`select meter_id, epoch_ms(ts) as ts_ms, reading_kwh from register_state`)).getRowObjectsJS();
    return new Map(rows.map((r) => [String(r.meter_id), { ts_ms: Number(r.ts_ms), reading_kwh: Number(r.reading_kwh) }]));
  }

  private async stageRegisterState(state: ReadonlyMap<string, RegisterState>): Promise<void> {
    const con = this.db.con;
    await con.run(`create or replace temp table register_stage (meter_id varchar, ts timestamp, reading_kwh double)`);
    const app = await con.createAppender('register_stage', 'main', 'temp');
    for (const [id, s] of state) {
      app.appendVarchar(id);
      app.appendTimestamp(ts(s.ts_ms));
      app.appendDouble(s.reading_kwh);
      app.endRow();
    }
    app.closeSync();
  }

  /**
   * Which of these (meter, time) points stored readings already cover: an interval of the meter
   * starts, ends or spans it (before the raw horizon: the hourly rollup holds the hour it ends).
   * Keys are `meter_id|ts_ms`.
   */
  async registerTimesCovered(points: readonly { meter_id: string; ts_ms: number }[]): Promise<Set<string>> {
    const out = new Set<string>();
    if (!points.length) return out;
    const con = this.db.con;
    await con.run(`create or replace temp table register_points (meter_id varchar, ts timestamp)`);
    const app = await con.createAppender('register_points', 'main', 'temp');
    try {
      for (const p of points) {
        app.appendVarchar(p.meter_id);
        app.appendTimestamp(new DuckDBTimestampValue(BigInt(p.ts_ms) * 1000n));
        app.endRow();
      }
    } finally {
      app.closeSync();
    }
    const rows = (await con.runAndReadAll(`
      select distinct p.meter_id, epoch_ms(p.ts) as ts_ms from temp.register_points p
      where exists (select 1 from readings r where r.meter_id = p.meter_id
                    and p.ts >= r.ts - to_minutes(cast(r.interval_min as bigint)) and p.ts <= r.ts)
         -- before the raw horizon (store.raw_days) the raw rows are gone: the hour the point ends
         -- is covered when the rollup holds readings of the meter in it
         or (p.ts <= (select cast(raw_from as timestamp) from store_retention)
             and exists (select 1 from meter_hourly h where h.meter_id = p.meter_id and h.hour = date_trunc('hour', p.ts - interval 1 second)))`)).getRowObjectsJS();
    for (const r of rows) out.add(`${String(r.meter_id)}|${Number(r.ts_ms)}`);
    return out;
  }

  /** Latest interval end stored: the data watermark detection treats as "now". */
  watermarkMs(): Promise<number | undefined> {
    return dataWatermarkMs(this.db);
  }
}

/** Latest interval end stored (local ms), or undefined for an empty store. */
export async function dataWatermarkMs(db: Db): Promise<number | undefined> {
  const r = (await db.con.runAndReadAll(`select epoch_ms(max(ts)) as w from readings`)).getRowObjectsJS()[0]!;
  return r.w === null ? undefined : Number(r.w);
}

/**
 * Daily energy (kWh/day, scaled from days covered ≥ minCoveredMin) of the given meters through a
 * day (local ms, exclusive), oldest first. Case building judges escalation of dismissed cases on it.
 */
export async function dailyLevels(db: Db, meterIds: readonly string[], beforeDayMs: number, minCoveredMin = 720): Promise<Map<string, DayLevel[]>> {
  const out = new Map<string, DayLevel[]>();
  if (!meterIds.length) return out;
  const rows = (await db.con.runAndReadAll(`
    select meter_id, epoch_ms(cast(day as timestamp)) as day_ms, kwh * 1440.0 / covered_min as kwh_day
    from meter_daily
    where list_contains($ids, meter_id) and covered_min >= $min and day < make_timestamp($before * 1000)
    order by meter_id, day`, { ids: listValue([...meterIds]), min: minCoveredMin, before: beforeDayMs }, { ids: LIST(VARCHAR), min: INTEGER, before: BIGINT })).getRowObjectsJS();
  for (const r of rows) {
    const id = String(r.meter_id);
    (out.get(id) ?? out.set(id, []).get(id)!).push({ day_ms: Number(r.day_ms), kwh_day: Number(r.kwh_day) });
  }
  return out;
}

/**
 * Fill judge_horizon (sql/macros/shared_steps.sql) for a streaming site check: a monitored
 * meter with a missing interval that may still arrive - it ends after the store's watermark less
 * the allowed lateness - is judged only through the reading before that gap. Once the reading
 * arrives or the lateness has passed, the meter is judged through all it has, as a backfill would.
 * Returns how many meters are held back.
 */
export async function setJudgeHorizon(db: Db, allowedLatenessMin: number): Promise<number> {
  await db.con.run(`delete from judge_horizon`);
  await db.con.run(`
    insert into judge_horizon
    with wm as (select max(ts) as wm_ts from readings),
    monitored as (select distinct meter_id from sites where power_cut_at is not null or halt_ordered_at is not null),
    recent as (
      select r.meter_id, r.ts, r.interval_min, lag(r.ts) over (partition by r.meter_id order by r.ts) as prev_ts
      from readings r join monitored using (meter_id), wm
      -- a day more than the lateness: a gap before it could not be waited for anyway
      where r.ts > wm.wm_ts - to_minutes(cast($late + 1440 as bigint))
    )
    select meter_id, min(prev_ts) as through_ts
    from recent, wm
    where prev_ts is not null
      and ts - to_minutes(cast(interval_min as bigint)) > prev_ts
      and prev_ts + to_minutes(cast(interval_min as bigint)) > wm.wm_ts - to_minutes(cast($late as bigint))
    group by meter_id`, { late: allowedLatenessMin }, { late: INTEGER });
  return Number((await db.con.runAndReadAll(`select count(*) as n from judge_horizon`)).getRowObjectsJS()[0]!.n);
}

/** Judge every reading (a backfill, or a check that must see all). */
export async function clearJudgeHorizon(db: Db): Promise<void> {
  await db.con.run(`delete from judge_horizon`);
}
