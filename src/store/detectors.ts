/**
 * Running detection SQL. Each detector is one file in the pipeline's detectors folder, described by
 * its header (src/core/detectorSpec.ts, src/config/detectorRegistry.ts); parameter values come
 * from the pipeline and are BOUND as typed named parameters, never spliced into the SQL text.
 * About 420 lines and one thing: the runner that binds a SQL file and runs it whole, incrementally or
 * in slices (runDetectors, runDetector, the peer refresh that feeds them). The peer rows' storage
 * and paging live in ./peers.ts, kept flags and marks in ./judgeState.ts, day profiles in
 * ./dayProfiles.ts; the rest shares bindValues and the slice budget, which a split would export.
 */
import {
  DuckDBDateValue, DOUBLE, INTEGER, VARCHAR, DATE, LIST, listValue,
  type DuckDBType, type DuckDBValue,
} from '@duckdb/node-api';
import { createHash } from 'node:crypto';
import { inTransaction, type Db } from './db.js';
import { PowerscreenError } from '../errors.js';
import { FLAGS_RELATION } from '../core/incremental.js';
import { flagsTable, judgeFromMs, loadJudged, loadRejudgeMeters, macroSource, markPeerRowsDirty, saveJudged } from './judgeState.js';
import { refreshDayProfiles, widenLateRollups } from './dayProfiles.js';
import { pageChangedPeerRows, replacePeerRows, type PeerRow } from './peers.js';
import { renderSummary, type DetectorSpec, type ParamSpec } from '../core/detectorSpec.js';
import { loadPeerSql, loadRegistry, peerParamValues, type DetectorRegistry, type DetectorSettings } from '../config/detectorRegistry.js';
import type { Lead } from '../core/types.js';
import { DAY_MS } from '../time.js';

export interface DetectContext {
  /** The last local day the data watermark has passed (local ms of its midnight). */
  lastCompleteDayMs: number;
  /** peer_daily is already current (the worker refreshed and published it before judging). */
  peersReady?: boolean;
  /** meters_with_data is already current (runDetectors fills it once for all its detectors). */
  metersReady?: boolean;
  /**
   * refreshPeers: recompute only days from this one (local midnight ms); earlier rows are kept,
   * but for meters whose readings came late (the store's marks), which are recomputed from their day.
   */
  sinceDayMs?: number;
  /** Bound to peer_daily.sql's $only_meters: compute these meters only (empty or unset: all). */
  onlyMeters?: readonly string[];
  /**
   * A day detector that judges incrementally judges days from this one (local midnight ms; 0 = all)
   * and keeps their flags; leads are returned for the episodes those days touch. Unset: the whole
   * file runs as one query and nothing is kept (given/expect cases, references).
   */
  judgeFromMs?: number;
  /** Meter-days one flags statement judges at most; default JUDGE_SLICE_METER_DAYS_PER_GIB per GiB of memory_limit. */
  sliceMeterDays?: number;
}

/**
 * Recompute this store's meters' rows of peer_daily (sql/peers/peer_daily.sql, bound with the
 * peer detectors' settings) and return the rows that changed: what a worker publishes so the
 * other workers' peer medians include these meters. Many days (a first close after a backfill)
 * are computed in slices of days, as the detectors judge them (sliceMeterDays): a row uses its
 * day's past only. In one statement a year of a 16,667-meter partition peaked at 3.6 GiB RSS with a
 * 1 GB memory_limit.
 */
export async function refreshPeers(db: Db, settings: DetectorSettings, ctx: DetectContext, registry = loadRegistry(), { changedRows = true, onChanged }: RefreshPeersOptions = {}): Promise<PeerRow[]> {
  const peer = loadPeerSql();
  const params = peerParamValues(registry, settings, peer);
  const con = db.con;
  const out: PeerRow[] = [];
  try {
    const lastDay = Math.floor(ctx.lastCompleteDayMs / DAY_MS);
    const budget = ctx.sliceMeterDays ?? await sliceMeterDays(con);
    // late readings are recomputed per meter, unless there are more of them than a slice holds
    const widened = await widenLateRollups(db, budget, ctx.lastCompleteDayMs);
    if (widened !== undefined && ctx.sinceDayMs !== undefined) ctx = { ...ctx, sinceDayMs: Math.min(ctx.sinceDayMs, widened) };
    const span = (await con.runAndReadAll(`select min(day) - date '1970-01-01', count(distinct meter_id) from meter_daily where day >= date '1970-01-01' + ${Math.floor((ctx.sinceDayMs ?? 0) / DAY_MS)}`)).getRows()[0]!;
    const firstDay = Math.max(Math.floor((ctx.sinceDayMs ?? 0) / DAY_MS), span[0] === null ? lastDay : Number(span[0]));
    const sliceDays = Math.max(7, Math.floor(budget / Math.max(Number(span[1]), 1)));
    // computes one range of days (for `only` meters), replaces the rows that changed, marks their
    // peer groups for judging again and hands them over
    const refresh = async (c: DetectContext) => {
      const { values, types } = bindValues(peer, params, c);
      await con.run(`create or replace temp table peer_fresh as ${peer.sql}`, values, types);
      await con.run(`
        create or replace temp table peer_changed as
        select f.* from temp.peer_fresh f
        left join peer_daily p on p.meter_id = f.meter_id and p.day = f.day
        where p.meter_id is null or p.profiled <> f.profiled or not same_level(p.kwh_day, f.kwh_day) or not same_level(p.work_kw, f.work_kw)`);
      await replacePeerRows(db, 'temp.peer_changed');
      // changed peer levels change the peer detectors' judgement of those days
      await markPeerRowsDirty(con, 'temp.peer_changed', registry.peerReaders());
      // (a year's rows as JS objects take about a GiB: a caller that publishes nothing does not ask,
      // and a publisher takes them a page at a time, slice by slice)
      if (onChanged || changedRows) {
        await pageChangedPeerRows(con, 'temp.peer_changed', onChanged ?? (async (page) => { for (const r of page) out.push(r); }));
      }
    };
    // at least one slice: a refresh with no new day still brings the day profiles current
    let from = firstDay;
    do {
      const to = Math.min(lastDay, from + sliceDays - 1);
      // the first slice starts where asked (a full refresh: at the epoch), later ones where the last ended
      const since = from === firstDay ? ctx.sinceDayMs : from * DAY_MS;
      const slice = { ...ctx, sinceDayMs: since, lastCompleteDayMs: to * DAY_MS };
      // the working-hours levels come from the kept day profiles, brought current first
      const late = await refreshDayProfiles(db, bindValues(peer, params, slice), to * DAY_MS);
      // meters whose readings came late for days already computed: theirs alone, up to this range
      const lateTo = Math.min(firstDay - 1, lastDay);
      if (late && Math.floor(late.fromMs / DAY_MS) <= lateTo) {
        await refresh({ ...ctx, sinceDayMs: late.fromMs, lastCompleteDayMs: lateTo * DAY_MS, onlyMeters: late.meters });
      }
      if (from <= to) await refresh(slice);
      from += sliceDays;
    } while (from <= lastDay);
    return out.sort((a, b) => (a.meter_id < b.meter_id ? -1 : a.meter_id > b.meter_id ? 1 : a.day_ms - b.day_ms));
  } catch (e) {
    throw new PowerscreenError('DETECTOR_FAILED', `${peer.file}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
}

export interface RefreshPeersOptions {
  /** Return the changed rows (false: the caller publishes nothing). */
  changedRows?: boolean;
  /** Hand the changed rows over a page at a time as each slice is computed, instead of returning them. */
  onChanged?: (rows: PeerRow[]) => Promise<void>;
}

const TYPES: Record<ParamSpec['type'], DuckDBType> = { double: DOUBLE, integer: INTEGER, 'varchar[]': LIST(VARCHAR) };

interface Bound {
  values: Record<string, DuckDBValue>;
  types: Record<string, DuckDBType>;
}

function bindValues(d: { sql: string; params: readonly ParamSpec[] }, params: Record<string, unknown>, ctx: DetectContext): Bound {
  const values: Record<string, DuckDBValue> = {};
  const types: Record<string, DuckDBType> = {};
  for (const p of d.params) {
    const v = params[p.name] ?? p.default;
    values[p.name] = p.type === 'varchar[]' ? listValue(v as string[]) : (v as number);
    types[p.name] = TYPES[p.type];
  }
  if (d.sql.includes('$since_day')) {
    // days before it are not recomputed (a full refresh starts at the epoch)
    values.since_day = new DuckDBDateValue(Math.floor((ctx.sinceDayMs ?? 0) / DAY_MS));
    types.since_day = DATE;
  }
  if (d.sql.includes('$last_complete_day')) {
    values.last_complete_day = new DuckDBDateValue(Math.floor(ctx.lastCompleteDayMs / DAY_MS));
    types.last_complete_day = DATE;
  }
  if (d.sql.includes('$only_meters')) {
    values.only_meters = listValue([...(ctx.onlyMeters ?? [])]);
    types.only_meters = LIST(VARCHAR);
  }
  if (d.sql.includes('$judge_from_day')) {
    values.judge_from_day = new DuckDBDateValue(Math.floor((ctx.judgeFromMs ?? 0) / DAY_MS));
    types.judge_from_day = DATE;
  }
  return { values, types };
}

/** Run one statement of a file, binding only the parameters it uses (the two halves of an incremental detector use different ones). */
async function runBound(db: Db, sql: string, b: Bound): Promise<Record<string, unknown>[]> {
  const { values, types } = pickBound(sql, b);
  return (await db.con.runAndReadAll(sql, values, types)).getRowObjectsJS() as Record<string, unknown>[];
}

function pickBound(sql: string, b: Bound): Bound {
  const values: Record<string, DuckDBValue> = {};
  const types: Record<string, DuckDBType> = {};
  for (const k of Object.keys(b.values)) {
    if (new RegExp(`\\$${k}\\b`).test(sql)) {
      values[k] = b.values[k]!;
      types[k] = b.types[k]!;
    }
  }
  return { values, types };
}

/** What a detector's kept flags were computed with: its SQL, the shared macros and its bound parameters. */
export function detectorFingerprint(d: DetectorSpec, params: Record<string, unknown>): string {
  const bound = Object.fromEntries(d.params.map((p) => [p.name, params[p.name] ?? p.default]));
  return createHash('sha1').update(d.sql).update(macroSource()).update(JSON.stringify(bound)).digest('hex');
}

/**
 * Meter-days judged by one flags statement at most, per GiB of DuckDB's memory_limit (and never
 * fewer than 7 days). A judgement of many days (the first close, a backfill, a re-judge after an
 * edit) runs as consecutive closes of that many days: each decides its days from their past only,
 * as a day close does, so the flags are the same, and DuckDB holds one slice's windows at a time.
 * One statement over a year of a 16,667-meter partition ran baseline_anomaly out of a 1 GB
 * memory_limit and peaked at 4.8 GiB RSS with 4 GB. In slices of a million meter-days per GiB its
 * first close (peer rows, profiles and every detector) peaked at 2.09 GiB with 1 GB, over the 2 GiB
 * a worker must stay under; half a million: 1.83 GiB, in 119 s instead of 80 (750k: 1.94 GiB, 102 s;
 * 2026-12-02, one fresh process each). Each slice reads its windows' history again, so a larger
 * limit buys fewer, larger slices: at 100k meters × 60 days, 10-day slices took twice as long as
 * one statement.
 */
export const JUDGE_SLICE_METER_DAYS_PER_GIB = 500_000;

/** The slice budget for this connection's memory_limit ('3.7 GiB', '953.6 MiB', …). */
async function sliceMeterDays(con: Db['con']): Promise<number> {
  const limit = String((await con.runAndReadAll(`select current_setting('memory_limit')`)).getRows()[0]![0]);
  const m = /^([\d.]+)\s*([KMGT]i?B)$/i.exec(limit.trim());
  const gib = m ? Number(m[1]) * { K: 2 ** -20, M: 2 ** -10, G: 1, T: 2 ** 10 }[m[2]![0]!.toUpperCase() as 'K' | 'M' | 'G' | 'T'] : 1;
  return Math.max(0.1, gib) * JUDGE_SLICE_METER_DAYS_PER_GIB;
}

/**
 * An incremental detector's two statements (src/core/incremental.ts). Flags: the meters whose inputs
 * changed on days already judged (temp.rejudge_meters, judgeState.ts) are judged again alone from
 * their earliest changed day up to fromMs; then every meter from fromMs through the last complete
 * day; both in slices (sliceMeterDays), replacing the kept flags of what they judge.
 * Episodes are then built over all kept flags of the meters flagged now and the meters judged again.
 * Only episodes reaching the days judged come back, and every episode of a meter judged again: the
 * rest are unchanged.
 */
async function judgeIncrementally(db: Db, d: DetectorSpec, b: Bound, fromMs: number, lastCompleteDayMs: number, sliceBudget?: number): Promise<Record<string, unknown>[]> {
  const plan = d.incremental!;
  const table = flagsTable(d.name);
  const con = db.con;
  const flags = pickBound(plan.flagsSql, b);
  const lastDay = Math.floor(lastCompleteDayMs / DAY_MS);
  // "everything" starts at the first stored day
  const firstStored = fromMs > 0 ? null : (await con.runAndReadAll(`select min(day) - date '1970-01-01' from meter_daily`)).getRows()[0]?.[0];
  const firstDay = fromMs > 0 ? Math.floor(fromMs / DAY_MS) : Math.min(lastDay, firstStored === null || firstStored === undefined ? lastDay : Number(firstStored));
  const meters = Number((await con.runAndReadAll('select count(*) from meters_with_data')).getRows()[0]![0]);
  const budget = sliceBudget ?? await sliceMeterDays(con);
  const sliceDays = (n: number) => Math.max(7, Math.floor(budget / Math.max(n, 1)));
  await con.run('create or replace temp table flagged_meters (meter_id varchar)');
  const rejudge = fromMs > 0 ? await loadRejudgeMeters(con, d.name, fromMs) : { meters: 0, fromMs: undefined };
  const rejudged = new Set<string>();
  if (rejudge.fromMs !== undefined) {
    for (const [m] of (await con.runAndReadAll(`select meter_id from temp.rejudge_meters`)).getRows()) rejudged.add(String(m));
    // the detectors see only the meters they judge (every one starts from meters_with_data); a
    // meter's flags depend on its own rollups and the peer rows, which all stay
    await con.run('create or replace temp table meters_with_data_all as select * from meters_with_data');
    await con.run('delete from meters_with_data where meter_id not in (select meter_id from temp.rejudge_meters)');
    try {
      await judgeDays(con, table, plan.flagsSql, flags, Math.floor(rejudge.fromMs / DAY_MS), firstDay - 1, sliceDays(rejudge.meters), 'temp.rejudge_meters');
    } finally {
      await con.run('delete from meters_with_data; insert into meters_with_data select * from temp.meters_with_data_all; drop table temp.meters_with_data_all');
    }
    // a re-judged meter's episodes all come back, even when its late days lost it every flag:
    // a case took up what an earlier close judged (an episode the late days now end sooner or
    // remove), and only its remaining episodes, merged again as a full judgement merges them,
    // put back what the case shows
    await con.run('insert into temp.flagged_meters select meter_id from temp.rejudge_meters');
  }
  // a full judgement starts afresh: the flags may come from other SQL with other columns
  if (fromMs <= 0) await con.run(`drop table if exists ${table}`);
  // a close for late inputs alone has no new day: no statement for it once the kept table exists
  const kept = Number((await con.runAndReadAll(`select count(*) from duckdb_tables() where schema_name = 'main' and table_name = $t`, { t: table })).getRows()[0]![0]) > 0;
  if (firstDay <= lastDay || !kept) await judgeDays(con, table, plan.flagsSql, flags, firstDay, lastDay, sliceDays(meters));
  await con.run(`create or replace temp view ${FLAGS_RELATION} as
    select * from ${table} semi join temp.flagged_meters using (meter_id)`);
  const rows = await runBound(db, plan.episodesSql, b);
  await con.run('drop view temp.' + FLAGS_RELATION + '; drop table if exists temp.flags_new; drop table temp.flagged_meters');
  if (fromMs <= 0) return rows;
  return rows.filter((r) => rejudged.has(String(r.meter_id)) || (toMs(r.window_end) ?? Infinity) > fromMs);
}

/**
 * Judge days fromDay..toDay (day numbers) in slices of sliceDays days,
 * putting their flags in place of the kept ones (of the meters in `onlyMeters`, when given: days
 * fromDay..toDay; otherwise every meter's from fromDay on, so a run through an earlier day drops later
 * flags) and noting the meters flagged in temp.flagged_meters. Runs at least one statement, so the
 * kept table exists even when no day is left to judge.
 */
async function judgeDays(con: Db['con'], table: string, flagsSql: string, flags: Bound, fromDay: number, toDay: number, sliceDays: number, onlyMeters?: string): Promise<void> {
  for (let from = fromDay; ; from += sliceDays) {
    const to = Math.min(toDay, from + sliceDays - 1);
    const values = { ...flags.values }, types = { ...flags.types };
    if ('judge_from_day' in values) values.judge_from_day = new DuckDBDateValue(from);
    if ('last_complete_day' in values) values.last_complete_day = new DuckDBDateValue(to);
    await con.run(`create or replace temp table flags_new as ${flagsSql}`, values, types);
    await inTransaction(con, async () => {
      await con.run(`create table if not exists ${table} as select * from temp.flags_new limit 0`);
      await con.run(onlyMeters
        ? `delete from ${table} where day between date '1970-01-01' + ${from} and date '1970-01-01' + ${to} and meter_id in (select meter_id from ${onlyMeters})`
        : `delete from ${table} where day >= date '1970-01-01' + ${from}`);
      await con.run(`insert into ${table} select * from temp.flags_new`);
    });
    await con.run('insert into temp.flagged_meters select distinct meter_id from temp.flags_new');
    if (to >= toDay) break;
  }
}


const toMs = (v: unknown): number | null => (v instanceof Date ? v.getTime() : v === null || v === undefined ? null : Number(v));
/** A day counts as read in intervals when readings of an hour or less cover this many minutes of it (half). */
const INTERVAL_DAY_MIN_COVERED = 720;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * The meters with data and whether they have interval data (the macros' meters_with_data), from the
 * daily rollup. Interval data means a day with at least half of it read in intervals of an hour or
 * less: what the hourly detectors can judge. A daily feed's stray short reading (a day read for its
 * last half-hour, as 1,472 of the 1,500 London households have) is not: it used to move the meter
 * out of the daily-feed detectors for good, and they judged 28 London homes, not 1,500.
 */
export async function refreshMetersWithData(db: Db): Promise<void> {
  await db.con.run(`delete from meters_with_data`);
  await db.con.run(`insert into meters_with_data
    select meter_id, bool_or(covered_min <= 60 * n_readings and covered_min >= ${INTERVAL_DAY_MIN_COVERED}) from meter_daily group by meter_id`);
}

/**
 * Run one detector. A peer detector first brings peer_daily up to date for this store's meters
 * unless ctx says it is (`all` and `registry` give the peer step its settings).
 */
export async function runDetector(db: Db, d: DetectorSpec, params: Record<string, unknown>, ctx: DetectContext, all?: DetectorSettings, registry?: DetectorRegistry): Promise<Lead[]> {
  if (!ctx.metersReady) await refreshMetersWithData(db);
  if (!ctx.peersReady && d.peers) {
    await refreshPeers(db, all ?? ({ [d.name]: params } as DetectorSettings), ctx, registry, { changedRows: false });
  }
  const bound = bindValues(d, params, ctx);
  let rows: Record<string, unknown>[];
  try {
    rows = d.incremental && ctx.judgeFromMs !== undefined
      ? await judgeIncrementally(db, d, bound, ctx.judgeFromMs, ctx.lastCompleteDayMs, ctx.sliceMeterDays)
      : await runBound(db, d.sql, bound);
  } catch (e) {
    throw new PowerscreenError('DETECTOR_FAILED', `${d.file}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  return rows.map((r) => {
    const lead: Lead = {
      detector: d.name,
      family: d.family,
      problem_type: d.problemType,
      summary_zh: '',
      meter_id: String(r.meter_id),
      site_case_no: r.site_case_no === null || r.site_case_no === undefined ? null : String(r.site_case_no),
      episode_start_ms: toMs(r.episode_start)!,
      detected_at_ms: toMs(r.detected_at)!,
      window_start_ms: toMs(r.window_start)!,
      window_end_ms: toMs(r.window_end)!,
      score: Number(r.score),
      baseline_kwh_day: num(r.baseline_kwh_day),
      level_kwh_day: num(r.level_kwh_day),
      reference_kwh_day: num(r.reference_kwh_day),
      evidence: typeof r.evidence === 'string' ? JSON.parse(r.evidence) : (r.evidence as Record<string, unknown>) ?? {},
    };
    lead.summary_zh = renderSummary(d.summaryZh, lead);
    return lead;
  });
}

export interface DetectorRun {
  leads: Lead[];
  byDetector: Record<string, number>;
  ms: Record<string, number>;
  /** The first day each incremental detector judged (local midnight ms; 0 = all), for some meters at least. */
  judgedFrom: Record<string, number>;
  /** How many meters each incremental detector judged again before the days it judged for all (late inputs). */
  rejudgedMeters: Record<string, number>;
  /**
   * Record that the incremental detectors' flags are current through the judged day. Call it once
   * the leads are safely stored: until then a crash leaves the next run judging the same days again.
   */
  commit(): Promise<void>;
}

/**
 * Run every enabled detector of the registry; returns leads in a deterministic order. With
 * `incremental`, a day detector that supports it judges only the days since its last committed run
 * (or since the earliest day whose inputs changed), and returns leads only for episodes reaching them.
 */
export async function runDetectors(
  db: Db, settings: DetectorSettings, ctx: DetectContext & { incremental?: boolean }, only?: readonly string[], registry = loadRegistry(),
): Promise<DetectorRun> {
  const leads: Lead[] = [];
  const byDetector: Record<string, number> = {};
  const timing: Record<string, number> = {};
  const judgedFrom: Record<string, number> = {};
  const rejudgedMeters: Record<string, number> = {};
  const judged: { name: string; fingerprint: string }[] = [];
  const chosen = registry.detectors.filter((d) => {
    const p = settings[d.name];
    return p && p.enabled !== false && (!only || only.includes(d.name));
  });
  // the day every meter is judged from, and the meters judged again from earlier days than that
  const judgeFrom = async (d: DetectorSpec) =>
    ctx.incremental && d.incremental ? judgeFromMs(await loadJudged(db, d.name), detectorFingerprint(d, settings[d.name]!), ctx.lastCompleteDayMs) : 0;
  const tMeters = performance.now();
  await refreshMetersWithData(db);
  timing.meters_with_data = Math.round(performance.now() - tMeters);
  const readsPeers = chosen.filter((d) => d.peers || d.incremental);
  // peer rows first: changing them marks the days they change for judging again. An incremental run
  // recomputes them from the first day any detector judges for every meter (a peer row uses its
  // day's past only); meters whose readings came late, from their day (the refresh finds them)
  if (!ctx.peersReady && chosen.some((d) => d.peers)) {
    const t0 = performance.now();
    let since = Infinity;
    // (site detectors judge raw readings and read no peer rows; every incremental one counts, as
    // changed peer rows mark all of them)
    for (const d of readsPeers) since = Math.min(since, await judgeFrom(d));
    await refreshPeers(db, settings, { ...ctx, sinceDayMs: since > 0 && Number.isFinite(since) ? since : ctx.sinceDayMs }, registry, { changedRows: false });
    timing.peer_daily = Math.round(performance.now() - t0);
  }
  for (const d of chosen) {
    const p = settings[d.name]!;
    const t0 = performance.now();
    let from: number | undefined;
    if (ctx.incremental && d.incremental) {
      from = await judgeFrom(d);
      const again = from > 0 ? await loadRejudgeMeters(db.con, d.name, from) : { meters: 0, fromMs: undefined };
      judgedFrom[d.name] = Math.min(from, again.fromMs ?? Infinity);
      rejudgedMeters[d.name] = again.meters;
      judged.push({ name: d.name, fingerprint: detectorFingerprint(d, p) });
    }
    const found = await runDetector(db, d, p, { ...ctx, peersReady: true, metersReady: true, judgeFromMs: from }, settings, registry);
    timing[d.name] = Math.round(performance.now() - t0);
    byDetector[d.name] = found.length;
    leads.push(...found);
  }
  return {
    leads, byDetector, ms: timing, judgedFrom, rejudgedMeters,
    async commit() {
      for (const j of judged) await saveJudged(db, j.name, j.fingerprint, ctx.lastCompleteDayMs);
    },
  };
}
