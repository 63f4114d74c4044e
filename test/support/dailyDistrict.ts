/**
 * A written district (src/fixtures/districtFiles.ts) turned into daily feeds only: every meter's
 * 15-minute readings (the wide export and the late ones) summed per local day, as a power company
 * that delivers daily values would. Days with fewer than 90 of 96 readings are left out, as a
 * daily export would leave them. Done in DuckDB, outside the product's ingest.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

export async function toDailyFeeds(dir: string): Promise<void> {
  const points = Array.from({ length: 96 }, (_, k) => `p${k + 1}`);
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  try {
    await con.run(`create table r as
      select meter_id, cast(date as timestamp) + to_minutes(15 * cast(substr(k, 2) as int)) as ts, try_cast(v as double) as kwh
      from (unpivot (select * from read_csv('${join(dir, 'readings-wide.csv')}', all_varchar = true)) on ${points.join(', ')} into name k value v)`);
    // the late file holds some malformed lines on purpose (they test the rejects): skip them here
    await con.run(`insert into r
      select meter_id, cast(substr(ts, 1, 19) as timestamp), try_cast(kwh as double)
      from read_json('${join(dir, 'readings-late.jsonl')}', ignore_errors = true, columns = {meter_id: 'varchar', ts: 'varchar', kwh: 'varchar'})
      where try_cast(kwh as double) >= 0 and try_cast(substr(ts, 1, 19) as timestamp) is not null`);
    await con.run(`copy (
      select meter_id, strftime(cast(day + 1 as timestamp), '%Y-%m-%dT%H:%M:%S+08:00') as ts, round(sum(kwh), 3) as kwh, 1440 as interval_min
      from (select *, cast(ts - interval 1 minute as date) as day from r where kwh >= 0)
      group by meter_id, day having count(*) >= 90
      union all
      select meter_id, ts, try_cast(kwh as double), try_cast(interval_min as integer) from read_csv('${join(dir, 'readings-daily.csv')}', all_varchar = true)
      order by 1, 2) to '${join(dir, 'readings-daily.csv')}' (header)`);
  } finally {
    con.closeSync();
    inst.closeSync();
  }
  writeFileSync(join(dir, 'readings-wide.csv'), ['meter_id', 'date', ...points].join(',') + '\n');
  writeFileSync(join(dir, 'readings-late.jsonl'), '');
}
