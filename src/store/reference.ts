/** Reference data (meter registry, enforcement sites): upserts into DuckDB and the reads the rest of the tool needs. */
import { DuckDBTimestampValue, LIST, VARCHAR, listValue } from '@duckdb/node-api';
import type { Meter, Site } from '../contracts/registry.js';
import type { MeterInfo, SiteContext, SiteInfo } from '../core/types.js';
import type { Db } from './db.js';
import { markAllDirty } from './judgeState.js';

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
  // a new meter, or a changed street, category or capacity, changes whom detectors judge and against which peers
  const changed = await con.runAndReadAll(`
    select count(*) n from (select distinct on (meter_id) * from temp.meter_stage) s
    anti join meters m on m.meter_id = s.meter_id and m.street is not distinct from s.street
      and m.category is not distinct from s.category and m.contract_kva is not distinct from s.contract_kva`);
  await con.run(`insert or replace into meters select distinct on (meter_id) * from temp.meter_stage`);
  if (Number(changed.getRowObjectsJS()[0]!.n) > 0) await markAllDirty(con);
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
  // a meter that becomes a site leaves the workshop detectors (screened_meters)
  const newSiteMeters = await con.runAndReadAll(`select count(*) n from temp.site_stage anti join sites using (meter_id)`);
  await con.run(`insert or replace into sites select distinct on (case_no) * from temp.site_stage`);
  if (Number(newSiteMeters.getRowObjectsJS()[0]!.n) > 0) await markAllDirty(con);
}

/** Registry rows of the given meters (all when omitted), for naming cases. */
export async function loadReferenceMaps(db: Db, meterIds?: readonly string[]): Promise<{ meters: Map<string, MeterInfo>; sites: Map<string, SiteInfo> }> {
  const only = { ids: meterIds ? listValue([...meterIds]) : null };
  const types = { ids: LIST(VARCHAR) };
  const meters = new Map<string, MeterInfo>();
  for (const r of (await db.con.runAndReadAll(`select * from meters where $ids is null or list_contains($ids, meter_id)`, only, types)).getRowObjectsJS()) {
    meters.set(String(r.meter_id), {
      meter_id: String(r.meter_id), account_name: String(r.account_name ?? ''), address: String(r.address ?? ''),
      street: String(r.street ?? ''), community: String(r.community ?? ''), category: String(r.category),
      contract_kva: r.contract_kva === null ? null : Number(r.contract_kva),
    });
  }
  const sites = new Map<string, SiteInfo>();
  for (const r of (await db.con.runAndReadAll(`select * from sites where $ids is null or list_contains($ids, meter_id)`, only, types)).getRowObjectsJS()) {
    sites.set(String(r.case_no), {
      case_no: String(r.case_no), meter_id: String(r.meter_id), site_name: String(r.site_name ?? ''), address: String(r.address ?? ''),
      street: String(r.street ?? ''), measure: String(r.measure ?? ''), status: String(r.status ?? ''),
    });
  }
  return { meters, sites };
}

/** 整治措施 and 整改情况 of every enforcement site, by case_no (the daily list's columns). */
export async function siteContexts(db: Db): Promise<Map<string, SiteContext>> {
  const m = new Map<string, SiteContext>();
  for (const r of (await db.con.runAndReadAll(`select case_no, measure, status, power_cut_at is not null as power_cut from sites`)).getRowObjectsJS()) {
    m.set(String(r.case_no), { measure: String(r.measure ?? ''), status: String(r.status ?? ''), power_cut: Boolean(r.power_cut) });
  }
  return m;
}

/** Meters the site detectors watch: a cut or a halt order on record. */
export async function monitoredMeters(db: Db): Promise<Set<string>> {
  const rows = (await db.con.runAndReadAll(`select distinct meter_id from sites where power_cut_at is not null or halt_ordered_at is not null`)).getRowObjectsJS();
  return new Set(rows.map((r) => String(r.meter_id)));
}

export async function referenceCounts(db: Db): Promise<{ meters: number; sites: number }> {
  const r = (await db.con.runAndReadAll(`select (select count(*) from meters) m, (select count(*) from sites) s`)).getRowObjectsJS()[0]!;
  return { meters: Number(r.m), sites: Number(r.s) };
}
