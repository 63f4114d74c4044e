/**
 * How far each day detector's kept flags are current (migration 006), and the marks that send a
 * detector back: every write of a detection input (readings, peer rows, the registry) notes the
 * earliest day it touched, and the next run judges again from there.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from './db.js';
import { DAY_MS } from '../time.js';
import { MACRO_DIR } from '../paths.js';

export interface JudgedState {
  fingerprint: string;
  /** Local midnight (ms) of the last day whose flags are kept. */
  judgedThroughMs: number;
  /** Local midnight (ms) of the earliest day whose inputs changed since; undefined = none. */
  dirtyFromMs: number | undefined;
}

/** The kept flags of one detector (its columns are the detector's flagged CTE's). */
export const flagsTable = (detector: string): string => `detector_flags_${detector}`;

type Con = Db['con'];

let macroText: string | undefined;

/** The shared macros' text: kept state made with other macros is made again. */
export function macroSource(): string {
  macroText ??= readdirSync(MACRO_DIR).filter((f) => f.endsWith('.sql')).sort().map((f) => readFileSync(join(MACRO_DIR, f), 'utf8')).join('\n');
  return macroText;
}

/**
 * Note that inputs changed from the day `dayExpr` yields (a SQL scalar query returning a date, or
 * null for nothing) on. Cheap: one row per detector. Run inside the writer's transaction.
 * `readings: false` for inputs the rollups do not read (peer rows): only the detectors are marked.
 */
export async function markDirtyFrom(con: Con, dayExpr: string, { readings = true } = {}): Promise<void> {
  await con.run(`
    update detector_judged set dirty_from = least(coalesce(dirty_from, x.d), x.d)
    from (${dayExpr}) x(d) where x.d is not null${readings ? '' : ` and detector not like 'rollup:%'`}`);
}

/** Everything is judged again at the next run (registry changes: categories, streets, capacities, sites). */
export async function markAllDirty(con: Con): Promise<void> {
  await con.run(`update detector_judged set dirty_from = date '1970-01-01'`);
}

export async function loadJudged(db: Db, detector: string): Promise<JudgedState | undefined> {
  const rows = (await db.con.runAndReadAll(
    `select fingerprint, epoch_ms(judged_through) t, epoch_ms(dirty_from) d from detector_judged where detector = $d`, { d: detector })).getRowObjectsJS();
  const r = rows[0];
  if (!r) return undefined;
  return { fingerprint: String(r.fingerprint), judgedThroughMs: Number(r.t), dirtyFromMs: r.d === null ? undefined : Number(r.d) };
}

export async function saveJudged(db: Db, detector: string, fingerprint: string, judgedThroughMs: number): Promise<void> {
  await db.con.run(`
    insert or replace into detector_judged values ($d, $f, date '1970-01-01' + cast($days as integer), null)`,
    { d: detector, f: fingerprint, days: Math.floor(judgedThroughMs / DAY_MS) });
}

/**
 * The first day to judge: everything when the flags were made by other SQL or parameters (or never),
 * otherwise the day after the last judged one, the earliest changed day, or the day after the one
 * asked for if that is earlier (a run through an earlier day drops later flags).
 */
export function judgeFromMs(state: JudgedState | undefined, fingerprint: string, lastCompleteDayMs: number): number {
  if (!state || state.fingerprint !== fingerprint) return 0;
  return Math.max(0, Math.min(state.judgedThroughMs + DAY_MS, state.dirtyFromMs ?? Infinity, lastCompleteDayMs + DAY_MS));
}

/** Drop the kept flags and day profiles of meters whose readings this store no longer holds (a lost partition). */
export async function dropKeptStateOf(con: Con, meterSelect: string): Promise<void> {
  const tables = (await con.runAndReadAll(`select table_name from duckdb_tables() where schema_name = 'main' and table_name like 'detector!_flags!_%' escape '!'`)).getRowObjectsJS();
  for (const t of tables) await con.run(`delete from "${String(t.table_name)}" where meter_id in (${meterSelect})`);
  await con.run(`delete from meter_day_profiles where meter_id in (${meterSelect})`);
}
