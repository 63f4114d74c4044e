import type { Command } from 'commander';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadRegistry } from '../../config/detectorRegistry.js';
import { loadPipeline } from '../../config/pipeline.js';
import { loadSqlCase, runSqlCase, runSqlCaseDayByDay } from '../../store/sqlCaseRunner.js';
import { PowerscreenError, isPowerscreenError } from '../../errors.js';
import { PROJECT_ROOT } from '../../paths.js';

/** The analysts' cases shipped with the project. */
const CASES_DIR = join(PROJECT_ROOT, 'test', 'sql', 'cases');

/** Case files named (files, folders of *.json, or a shipped case by its name), or every shipped case. */
function caseFiles(paths: string[]): string[] {
  const named = paths.length ? paths : [CASES_DIR];
  return named.flatMap((given) => {
    const shipped = join(CASES_DIR, `${given}.json`);
    const p = !existsSync(given) && /^[\w-]+$/.test(given) && existsSync(shipped) ? shipped : given;
    let dir: boolean;
    try {
      dir = statSync(p).isDirectory();
    } catch (e) {
      throw new PowerscreenError('INPUT_NOT_FOUND', `${p}: no such case file, folder or shipped case`, { cause: e });
    }
    return dir ? readdirSync(p).filter((f) => f.endsWith('.json')).sort().map((f) => join(p, f)) : [p];
  });
}

export function register(program: Command): void {
  program
    .command('sql-test')
    .description('run given/expect cases (test/sql/cases/*.json) against the detector SQL: the leads each case expects, nothing more; closed day by day as a worker closes them, the same flags')
    .argument('[cases...]', 'case files, folders, or names of shipped cases (default: every case in test/sql/cases)')
    .option('--detectors-dir <dir>', "detector SQL folder to test (default: the pipeline's detectors_dir)")
    .option('--detector <name>', "only the cases of this detector")
    .option('--once', 'skip the day-by-day close (faster)')
    .option('--pipeline <file>', "pipeline file (JSON): its detectors' parameters, under each case's own, and its detectors_dir")
    .action(async (paths: string[], o: { detectorsDir?: string; detector?: string; once?: boolean; pipeline?: string }) => {
      // the pipeline's detector settings (its tuned parameters) on the folder named, its own otherwise
      const pipeline = loadPipeline(o.pipeline, o.detectorsDir ? { detectors_dir: resolve(o.detectorsDir) } : {});
      const registry = loadRegistry(pipeline.detectors_dir);
      const cases = caseFiles(paths).map((file) => ({ file, c: loadSqlCase(file) }));
      const chosen = o.detector ? cases.filter(({ c }) => c.detector === o.detector) : cases;
      if (!chosen.length) throw new PowerscreenError('INPUT_NOT_FOUND', o.detector ? `no case of detector ${o.detector} among ${cases.length} case(s)` : 'no case files');
      let failed = 0;
      for (const { file, c } of chosen) {
        const problems = await runSqlCase(c, registry, pipeline.detectors).catch((e: unknown) => {
          throw isPowerscreenError(e) ? new PowerscreenError(e.code, `${file}: ${e.message}`, { cause: e }) : e;
        });
        if (!problems.length && !o.once) problems.push(...await runSqlCaseDayByDay(c, registry, pipeline.detectors));
        if (problems.length) failed++;
        process.stdout.write(`${problems.length ? 'FAIL' : 'ok  '}  ${c.detector.padEnd(20)} ${basename(file, '.json')}\n`);
        if (problems.length) process.stdout.write(`      ${c.description}\n`);
        // each problem repeats the case's description (for a test's message): said once above
        for (const p of problems) process.stdout.write(`${p.replace(`${c.description}\n`, '').replace(/^/gm, '      ')}\n`);
      }
      process.stdout.write(`${chosen.length} case(s) against ${registry.dir}: ${chosen.length - failed} held, ${failed} failed\n`);
      if (failed) throw new PowerscreenError('CHECK_FAILED', `${failed} of ${chosen.length} case(s) failed`);
    });
}
