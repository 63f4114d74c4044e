import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { pipelineJsonSchema } from '../../config/pipeline.js';

export function register(program: Command): void {
  program
    .command('pipeline-schema')
    .description('print (or write) the JSON Schema of pipeline files, for editors')
    .option('--out <file>', 'write to this file')
    .action((o: { out?: string }) => {
      const text = JSON.stringify(pipelineJsonSchema(), null, 2) + '\n';
      if (o.out) writeFileSync(o.out, text);
      else process.stdout.write(text);
    });
}
