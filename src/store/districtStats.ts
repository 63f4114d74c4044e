/**
 * What the district console shows beside the list: coverage (is the feed alive?), the backlog of
 * unverified cases with closure rates per street, and the quarterly counts of 附件2. Each takes an
 * optional street: a street user's figures are computed over its own street only.
 */
import { VARCHAR } from '@duckdb/node-api';
import type { Db } from './db.js';
import { formatDate, formatLocal, DAY_MS } from '../time.js';
import { loadWorkerDays } from './workerState.js';
import { dataWatermarkMs } from './readingStore.js';

export interface Coverage {
  /** Latest interval end stored (local ISO), or null for an empty store. */
  data_through: string | null;
  /** The local day data_through falls in. */
  data_day: string | null;
  meters_registered: number;
  /** Meters with readings on data_day. */
  meters_reporting: number;
  sites_watched: number;
  /** Last day the day-level detectors judged ('' when unknown). */
  closed_through: string;
  /** First and last day with readings, for "date outside the data" errors. */
  first_day: string | null;
}

const streetIs = (col: string) => `($street is null or coalesce(${col}, '') = $street)`;
const STREET = streetIs('street');

export async function coverage(db: Db, street?: string): Promise<Coverage> {
  const p = { street: street ?? null };
  const t = { street: VARCHAR };
  const w = await dataWatermarkMs(db);
  const first = (await db.con.runAndReadAll(`select min(day) as first_day from meter_daily`)).getRowObjectsJS()[0]!.first_day as Date | null;
  const dataDay = w === undefined ? null : formatDate(w - 1);
  const counts = (await db.con.runAndReadAll(
    `select (select count(*) from meters where ${STREET}) as registered,
            (select count(distinct d.meter_id) from meter_daily d join meters m using (meter_id) where d.day = cast($day as date) and ${streetIs('m.street')}) as reporting,
            (select count(*) from sites where (power_cut_at is not null or halt_ordered_at is not null) and ${STREET}) as sites`,
    { ...p, day: dataDay }, { ...t, day: VARCHAR },
  )).getRowObjectsJS()[0]!;
  const days = await loadWorkerDays(db);
  const closed = days.lastClosedDay !== undefined ? formatDate(days.lastClosedDay) : '';
  return {
    data_through: w === undefined ? null : formatLocal(w), data_day: dataDay,
    meters_registered: Number(counts.registered), meters_reporting: Number(counts.reporting), sites_watched: Number(counts.sites),
    closed_through: closed, first_day: first === null ? null : formatDate(first.getTime()),
  };
}

export interface BacklogCase { case_id: string; street: string; meter_id: string; problem_type: string; score: number; detected_at: string; age_days: number }
export interface StreetClosure { street: string; cases: number; verified: number; open: number; closure_rate: number; oldest_open_days: number | null }

/** Open cases not yet verified (oldest first, age in days at `asOfMs`), and 闭环率 per street. */
export async function backlog(db: Db, asOfMs: number, street?: string): Promise<{ cases: BacklogCase[]; streets: StreetClosure[] }> {
  const base = `select c.case_id, c.meter_id, c.problem_type, c.score, c.status, epoch_ms(c.detected_at) as detected_ms, coalesce(s.street, m.street, '') as street
                from cases c left join meters m using (meter_id) left join sites s on s.case_no = c.site_case_no`;
  const rows = (await db.con.runAndReadAll(`select * from (${base}) where ${STREET} order by detected_ms, case_id`, { street: street ?? null }, { street: VARCHAR })).getRowObjectsJS();
  const cases: BacklogCase[] = [];
  const by = new Map<string, StreetClosure>();
  for (const r of rows) {
    const st = String(r.street) || '（未登记街道）';
    const s = by.get(st) ?? { street: st, cases: 0, verified: 0, open: 0, closure_rate: 0, oldest_open_days: null };
    by.set(st, s);
    s.cases++;
    const age = Math.max(0, Math.floor((asOfMs - Number(r.detected_ms)) / DAY_MS));
    if (r.status === 'open') {
      s.open++;
      s.oldest_open_days = Math.max(s.oldest_open_days ?? 0, age);
      cases.push({ case_id: String(r.case_id), street: st, meter_id: String(r.meter_id), problem_type: String(r.problem_type), score: Number(r.score), detected_at: formatLocal(Number(r.detected_ms)), age_days: age });
    } else s.verified++;
  }
  for (const s of by.values()) s.closure_rate = s.cases ? s.verified / s.cases : 0;
  return { cases, streets: [...by.values()].sort((a, b) => a.street.localeCompare(b.street, 'zh')) };
}

export interface QuarterCounts {
  street: string;
  /** 新增线索（源自电力大数据筛查）: distinct meters with a workshop case first raised in the quarter. */
  workshop_leads: number;
  /** 出现反弹: distinct enforcement sites with a rebound case raised in the quarter (not dismissed). */
  rebounds: number;
  rebound_case_nos: string[];
  /** 巡查（用电监测）: sites with a cut or halt order on record by the quarter's end. */
  sites_watched: number;
  confirmed: number;
  dismissed: number;
  open: number;
}

/** `2026Q4` → its first and last local day; undefined when malformed. */
export function quarterRange(q: string): { from: string; to: string } | undefined {
  const m = /^(\d{4})Q([1-4])$/.exec(q);
  if (!m) return undefined;
  const y = Number(m[1]);
  const startMonth = (Number(m[2]) - 1) * 3;
  const from = Date.UTC(y, startMonth, 1);
  const to = Date.UTC(y, startMonth + 3, 1) - DAY_MS;
  return { from: formatDate(from), to: formatDate(to) };
}

/** 附件2 counts per street for the quarter [from, to] (local days). */
export async function quarterCounts(db: Db, from: string, to: string, street?: string): Promise<QuarterCounts[]> {
  const rows = (await db.con.runAndReadAll(
    `with c as (
       select c.*, coalesce(s.street, m.street, '') as street
       from cases c left join meters m using (meter_id) left join sites s on s.case_no = c.site_case_no
       where cast(c.detected_at - interval 1 microsecond as date) between cast($from as date) and cast($to as date)),
     watched as (
       select coalesce(street, '') as street, count(*) n from sites
       where coalesce(power_cut_at, halt_ordered_at) < cast($to as date) + interval 1 day group by all)
     select coalesce(c.street, w.street) as street,
            count(distinct c.meter_id) filter (where c.family = 'workshop' and c.status <> 'duplicate') as workshop_leads,
            count(distinct c.site_case_no) filter (where c.family = 'site' and c.status not in ('dismissed', 'duplicate')) as rebounds,
            list(distinct c.site_case_no order by c.site_case_no) filter (where c.family = 'site' and c.status not in ('dismissed', 'duplicate')) as rebound_case_nos,
            coalesce(any_value(w.n), 0) as sites_watched,
            count(c.case_id) filter (where c.status = 'confirmed') as confirmed,
            count(c.case_id) filter (where c.status = 'dismissed') as dismissed,
            count(c.case_id) filter (where c.status = 'open') as open
     from c full join watched w on w.street = c.street
     where ${streetIs('coalesce(c.street, w.street)')}
     group by 1 order by 1`,
    { from, to, street: street ?? null }, { from: VARCHAR, to: VARCHAR, street: VARCHAR },
  )).getRowObjectsJS();
  return rows.map((r) => ({
    street: String(r.street) || '（未登记街道）', workshop_leads: Number(r.workshop_leads), rebounds: Number(r.rebounds),
    rebound_case_nos: ((r.rebound_case_nos ?? []) as unknown[]).filter((x) => x !== null).map(String),
    sites_watched: Number(r.sites_watched), confirmed: Number(r.confirmed), dismissed: Number(r.dismissed), open: Number(r.open),
  }));
}

/** Street names the registry knows (for "unknown street" errors and the street picker). */
export async function knownStreets(db: Db): Promise<string[]> {
  const rows = (await db.con.runAndReadAll(`select distinct street from (select street from meters union all select street from sites) where coalesce(street, '') <> '' order by street`)).getRowObjectsJS();
  return rows.map((r) => String(r.street));
}
