/**
 * A batch's rollup groups and how they are added into the store's rollups (ReadingStore.append):
 * the day and hour groups of its new readings, the same groups read for repeated keys when the batch
 * is new history, and the add into meter_daily / meter_hourly.
 */
import type { DuckDBTimestampValue } from '@duckdb/node-api';
import type { Db } from './db.js';

/**
 * Add a batch's groups (`fresh`: a temp table keyed by meter_id and `key`) into a rollup. The
 * rollups have no index to upsert on (migration 009: the index cost several times the table on
 * disk and lived in memory), so where the table holds rows in the batch's range (`anyStored`) the
 * held keys are added into and the others inserted, both reading only that range, which the zone
 * maps find.
 */
export async function addIntoRollup(con: Db['con'], table: string, key: string, fresh: string, sums: readonly string[], anyStored: boolean,
  /** The batch's time range ($lo, $hi) and the test of a key column against it. */
  range: { lo: DuckDBTimestampValue; hi: DuckDBTimestampValue }, inRange: (column: string) => string): Promise<void> {
  // named columns: a batch's groups may carry more (rollupsWithoutRepeats)
  const cols = ['meter_id', key, ...sums];
  if (!anyStored) {
    await con.run(`insert into ${table} (${cols.join(', ')}) select ${cols.join(', ')} from ${fresh}`);
    return;
  }
  await con.run(`
    update ${table} t set ${sums.map((c) => `${c} = t.${c} + f.${c}`).join(', ')}
    from ${fresh} f
    where t.meter_id = f.meter_id and t.${key} = f.${key} and ${inRange(`t.${key}`)}`, range);
  await con.run(`
    insert into ${table} (${cols.join(', ')})
    select ${cols.map((c) => `f.${c}`).join(', ')} from ${fresh} f
    anti join (select meter_id, ${key} from ${table} where ${inRange(key)}) t on t.meter_id = f.meter_id and t.${key} = f.${key}`, range);
}

/** The batch's day and hour groups (`fresh`: its new readings), as temp.daily_fresh and temp.hourly_fresh. */
export async function batchRollups(con: Db['con'], fresh: string, minuteCheck: boolean): Promise<void> {
  await con.run(`
    create or replace temp table daily_fresh as
    select meter_id, cast(ts - interval 1 second as date) as day, sum(kwh) as kwh, sum(interval_min) as covered_min, count(*) as n_readings
    from ${fresh} group by all`);
  // minute_mask: the minutes of the clock its readings end on (an hour's group, (h, h+1h], meets
  // each once). A group holding fewer minutes than readings may repeat a (meter, ts); one that
  // repeats one surely does. (The shift is by a ubigint: cast to an integer it cost 4× as much;
  // the contract's times are from 1970, so the minute is not negative.)
  await con.run(`
    create or replace temp table hourly_fresh as
    select meter_id, date_trunc('hour', ts - interval 1 second) as hour, sum(kwh) as kwh, sum(interval_min) as covered_min
    ${minuteCheck ? `, count(*) as n_readings, bit_or(1::ubigint << (epoch_us(ts) // 60000000 % 60)::ubigint) as minute_mask` : ''}
    from ${fresh} where interval_min <= 60 group by all`);
}

/**
 * The rollups of a batch read as its new readings, if it surely repeats no (meter, ts): true when
 * every reading is of an hour or less and no hour's group holds a minute twice. (Two readings
 * in one minute are sent to the general path though they may differ: a meter reads on minutes.)
 */
export async function rollupsWithoutRepeats(con: Db['con'], stage: string): Promise<boolean> {
  const longer = (await con.runAndReadAll(`select exists (select 1 from ${stage} where interval_min > 60 or interval_min is null) as any`)).getRowObjectsJS()[0]!.any === true;
  if (longer) return false;
  await batchRollups(con, `(select meter_id, ts, interval_min, kwh from ${stage})`, true);
  const repeats = (await con.runAndReadAll(`
    select exists (select 1 from temp.hourly_fresh where bit_count(minute_mask) < n_readings) as any`)).getRowObjectsJS()[0]!.any === true;
  return !repeats;
}
