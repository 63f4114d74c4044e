/** Reference data (meter registry, enforcement sites) into DuckDB, as upserts. */
import { DuckDBTimestampValue } from '@duckdb/node-api';
import type { Meter, Site } from '../contracts/registry.js';
import type { Db } from './db.js';

const tsOrNull = (ms: number | undefined) => (ms === undefined ? null : new DuckDBTimestampValue(BigInt(ms) * 1000n));

export async function upsertMeters(db: Db, meters: readonly Meter[]): Promise<void> {
  if (!meters.length) return;
  const con = db.con;
  await con.run(`create or replace temp table meter_stage as select * from meters limit 0`);
  const app = await con.createAppender('meter_stage', 'main', 'temp');
  for (const m of meters) {
    app.appendVarchar(m.meter_id);
    app.appendVarchar(m.account_name);
    app.appendVarchar(m.address);
    app.appendVarchar(m.street);
    app.appendVarchar(m.community);
    app.appendVarchar(m.category);
    if (m.contract_kva === undefined) app.appendNull(); else app.appendDouble(m.contract_kva);
    app.endRow();
  }
  app.closeSync();
  await con.run(`insert or replace into meters select distinct on (meter_id) * from temp.meter_stage`);
}

export async function upsertSites(db: Db, sites: readonly Site[]): Promise<void> {
  if (!sites.length) return;
  const con = db.con;
  await con.run(`create or replace temp table site_stage as select * from sites limit 0`);
  const app = await con.createAppender('site_stage', 'main', 'temp');
  for (const s of sites) {
    for (const v of [s.case_no, s.meter_id, s.site_name, s.address, s.street, s.measure, s.status]) app.appendVarchar(v);
    for (const t of [s.power_cut_at, s.halt_ordered_at]) {
      const v = tsOrNull(t);
      if (v === null) app.appendNull(); else app.appendTimestamp(v);
    }
    app.endRow();
  }
  app.closeSync();
  await con.run(`insert or replace into sites select distinct on (case_no) * from temp.site_stage`);
}
