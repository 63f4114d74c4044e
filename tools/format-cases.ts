/**
 * Lays out given/expect case files as test/support/caseFormat.ts does (one segment, one meter per
 * line). `npm run cases:format` rewrites every case in test/sql/cases; name files to rewrite only
 * those; `--check` only lists the files not laid out so and exits 1 if there are any.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatCase } from '../test/support/caseFormat.js';

const args = process.argv.slice(2);
const check = args.includes('--check');
const named = args.filter((a) => a !== '--check');
const dir = join(import.meta.dirname, '..', 'test', 'sql', 'cases');
const files = named.length ? named : readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => join(dir, f));
const off: string[] = [];
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const laidOut = formatCase(JSON.parse(text));
  if (laidOut === text) continue;
  off.push(file);
  if (!check) writeFileSync(file, laidOut);
}
if (check && off.length) {
  console.error(`not laid out (npm run cases:format): ${off.join(', ')}`);
  process.exit(1);
}
console.log(check ? `${files.length} case files laid out` : `${off.length} of ${files.length} case files rewritten`);
