/** Gathers one meter's data for `explain` from the store. */
import type { Db } from './db.js';
import { loadCases } from './caseStore.js';
import type { ExplainData } from '../core/types.js';
import { PowerscreenError } from '../errors.js';

const q = async (db: Db, sql: string, params: Record<string, string | number>) => (await db.con.runAndReadAll(sql, params)).getRowObjectsJS();
const iso = (v: unknown) => (v instanceof Date ? v.toISOString().slice(0, 19) + '+08:00' : null);

export async function gatherExplainData(db: Db, meterId: string, recentDays = 14): Promise<ExplainData> {
  const m = (await q(db, `select * from meters where meter_id = $m`, { m: meterId }))[0];
  const daily = (await q(db, `select strftime(day, '%Y-%m-%d') as day, kwh * 1440.0 / covered_min as kwh, covered_min from meter_daily where meter_id = $m and covered_min >= 720 order by day`, { m: meterId }))
    .map((r) => ({ day: String(r.day), kwh: Number(r.kwh), covered_min: Number(r.covered_min) }));
  if (!m && !daily.length) throw new PowerscreenError('INPUT_MALFORMED', `meter_id: ${meterId} is neither in the registry nor in the readings of ${db.path}`);
  const recent = (await q(db, `
    select strftime(ts, '%Y-%m-%dT%H:%M:%S+08:00') as ts, kwh * 60.0 / interval_min as kw from readings
    where meter_id = $m and interval_min <= 60
      and ts > (select max(ts) from readings where meter_id = $m) - to_days(cast($d as integer))
    order by ts`, { m: meterId, d: recentDays })).map((r) => ({ ts: String(r.ts), kw: Number(r.kw) }));
  // a meter silent since before the raw horizon (store.raw_days): its last days from the hourly rollup
  if (!recent.length) {
    recent.push(...(await q(db, `
      select strftime(hour + interval 1 hour, '%Y-%m-%dT%H:%M:%S+08:00') as ts, kwh * 60.0 / covered_min as kw from meter_hourly
      where meter_id = $m and hour > (select max(hour) from meter_hourly where meter_id = $m) - to_days(cast($d as integer))
      order by hour`, { m: meterId, d: recentDays })).map((r) => ({ ts: String(r.ts), kw: Number(r.kw) })));
  }
  // the peers the detectors compare this meter with (meter_groups(): its street's, or the district's)
  const peerRows = await q(db, `
    with scope as (
      select s.street, s.category, s.peer_street from meters x
      join peer_streets() s on s.street = coalesce(x.street, '') and s.category = coalesce(x.category, 'other')
      where x.meter_id = $m
    ),
    levels as (
      select d.meter_id, median(d.kwh * 1440.0 / d.covered_min) kwh_day
      from meter_daily d join meters x using (meter_id) join scope s on s.category = coalesce(x.category, 'other')
      where d.covered_min >= 720 and d.day > (select max(day) from meter_daily) - 28
        and (s.peer_street = '*' or coalesce(x.street, '') = s.street)
      group by d.meter_id
    )
    select (select peer_street from scope) = '*' as district_pool,
           (select kwh_day from levels where meter_id = $m) me,
           (select median(kwh_day) from levels) peer_median,
           (select count(*) from levels) peers,
           (select count(*) from levels where kwh_day < (select kwh_day from levels where meter_id = $m)) below`, { m: meterId });
  const p = peerRows[0]!;
  const peers = Number(p.peers);
  const sites = (await q(db, `select * from sites where meter_id = $m order by coalesce(power_cut_at, halt_ordered_at)`, { m: meterId })).map((s) => ({
    case_no: String(s.case_no), site_name: String(s.site_name ?? ''), measure: String(s.measure ?? ''), status: String(s.status ?? ''),
    power_cut_at: iso(s.power_cut_at), halt_ordered_at: iso(s.halt_ordered_at),
  }));
  return {
    meter: m ? { meter_id: meterId, account_name: String(m.account_name ?? ''), address: String(m.address ?? ''), street: String(m.street ?? ''), category: String(m.category), contract_kva: m.contract_kva === null ? null : Number(m.contract_kva) } : null,
    daily, recent,
    peer: { percentile: p.me === null || peers < 2 ? null : Number(p.below) / (peers - 1), peers, meter_kwh_day: p.me === null ? null : Number(p.me), peer_median_kwh_day: p.peer_median === null ? null : Number(p.peer_median), scope: p.district_pool === true ? '全区' : '同街道' },
    sites,
    cases: await loadCases(db, { meterId }),
  };
}
