/**
 * The detector registry: every `*.sql` file in a detectors folder, read through its header
 * (src/core/detectorSpec.ts). Everything else about detectors derives from here: the pipeline
 * file's `detectors` section and its JSON Schema, families, problem types, summaries, which
 * detectors run on raw readings and which need peer rows. Files are read on each load, so an
 * analyst's edit applies at the next run without a restart.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { parseDetectorSpec, parseSqlParams, type DetectorSpec, type ParamSpec } from '../core/detectorSpec.js';
import { PowerscreenError } from '../errors.js';
import { closestName } from '../core/names.js';
import { DETECTOR_DIR, PEER_SQL_FILE } from '../paths.js';

export interface DetectorRegistry {
  dir: string;
  detectors: readonly DetectorSpec[];
  get(name: string): DetectorSpec | undefined;
  /** Detectors judged on raw readings as they arrive (the worker runs these per batch). */
  siteDetectors(): string[];
  /** Detectors that read peer rows (`-- needs: peers`): a changed peer row sends back its group's meters for these. */
  peerReaders(): string[];
}

export function loadRegistry(dir = DETECTOR_DIR): DetectorRegistry {
  if (!existsSync(dir)) throw new PowerscreenError('INPUT_NOT_FOUND', `${dir}: detectors folder not found`);
  const detectors = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => parseDetectorSpec(join(dir, f), readFileSync(join(dir, f), 'utf8')));
  const byName = new Map<string, DetectorSpec>();
  for (const d of detectors) {
    const other = byName.get(d.name);
    if (other) throw new PowerscreenError('DETECTOR_FAILED', `${d.file}: detector ${d.name} is already defined in ${other.file}`);
    byName.set(d.name, d);
  }
  return {
    dir,
    detectors,
    get: (name) => byName.get(name),
    siteDetectors: () => detectors.filter((d) => d.runs === 'site').map((d) => d.name),
    peerReaders: () => detectors.filter((d) => d.peers).map((d) => d.name),
  };
}

/** peer_daily.sql: the per-meter peer inputs the peer detectors share across workers. */
export function loadPeerSql(): { file: string; sql: string; params: ParamSpec[]; bind: Map<string, string> } {
  const sql = readFileSync(PEER_SQL_FILE, 'utf8');
  // `-- bind: <param> <detector>`: whose setting a parameter takes
  const bind = new Map([...sql.matchAll(/^--\s*bind:\s*(\w+)\s+(\w+)\s*$/gm)].map((m) => [m[1]!, m[2]!]));
  return { file: PEER_SQL_FILE, sql, params: parseSqlParams(PEER_SQL_FILE, sql), bind };
}

/**
 * peer_daily's parameters take the values of the detector settings their `-- bind:` line names,
 * so a meter and its peers are always measured the same way.
 */
export function peerParamValues(registry: DetectorRegistry, settings: DetectorSettings, peer = loadPeerSql()): Record<string, unknown> {
  const { file, params, bind } = peer;
  const out: Record<string, unknown> = {};
  for (const p of params) {
    const owner = registry.get(bind.get(p.name) ?? '');
    if (!owner || !owner.params.some((q) => q.name === p.name)) {
      throw new PowerscreenError('DETECTOR_FAILED', `${file}: parameter ${p.name} needs a "-- bind: ${p.name} <detector>" line naming a detector that declares it`);
    }
    out[p.name] = settings[owner.name]?.[p.name];
  }
  return out;
}

/** One detector's settings from the pipeline file: `enabled` and its header's parameters. */
export type DetectorSettings = Record<string, Record<string, unknown> & { enabled: boolean }>;

function paramSchema(p: ParamSpec): z.ZodType {
  if (p.type === 'varchar[]') {
    const item = p.allowed ? z.enum(p.allowed as [string, ...string[]]) : z.string();
    return z.array(item).default(p.default as string[]);
  }
  let n = p.type === 'integer' ? z.number().int() : z.number();
  if (p.min !== undefined) n = n.min(p.min);
  if (p.max !== undefined) n = n.max(p.max);
  return n.default(p.default as number).describe(`${p.doc} [${p.unit}]`);
}

/** The `detectors` section of a pipeline file, derived from the SQL headers; unknown keys are errors. */
export function detectorSettingsSchema(registry: DetectorRegistry) {
  const shape: Record<string, z.ZodType> = {};
  for (const d of registry.detectors) {
    const params: Record<string, z.ZodType> = { enabled: z.boolean().default(true) };
    for (const p of d.params) params[p.name] = paramSchema(p);
    shape[d.name] = z.strictObject(params).prefault({}).describe(d.title);
  }
  return z.strictObject(shape);
}

