/** The `powerscreen` command line: one file per command in ./commands; errors print one line and exit non-zero. */
import { Command, CommanderError } from 'commander';
import { errorMessage, isPowerscreenError } from '../errors.js';
import { register as backfill } from './commands/backfill.js';
import { register as report } from './commands/report.js';
import { register as demo } from './commands/demo.js';
import { register as pipelineSchema } from './commands/pipelineSchema.js';
import { register as kafkaLocal } from './commands/kafkaLocal.js';
import { register as run } from './commands/run.js';
import { register as evalCmd } from './commands/eval.js';
import { register as feedback } from './commands/feedback.js';
import { register as explainCmd } from './commands/explain.js';
import { register as serve } from './commands/serve.js';
import { register as users } from './commands/users.js';
import { register as sqlTest } from './commands/sqlTest.js';

export function buildProgram(): Command {
  const program = new Command('powerscreen')
    .description('电力数据筛查: find 散乱污 workshops and rebounding shut-down sites from smart-meter data')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const r of [backfill, report, demo, evalCmd, explainCmd, feedback, sqlTest, serve, users, pipelineSchema, kafkaLocal, run]) r(program);
  for (const c of program.commands) {
    c.exitOverride();
    for (const s of c.commands) s.exitOverride();
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version exit 0; commander already printed usage errors
      return e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
    }
    process.stderr.write(`powerscreen: ${errorMessage(e)}\n`);
    if (!isPowerscreenError(e) && process.env.POWERSCREEN_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}
