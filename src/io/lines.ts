import { createReadStream, existsSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { createInterface } from 'node:readline';
import { PowerscreenError } from '../errors.js';

export function assertExists(file: string, what: string): void {
  if (!existsSync(file)) throw new PowerscreenError('INPUT_NOT_FOUND', `${file}: ${what} file not found`);
}

/** Lines of a text file (gzip if it ends in .gz), with 1-based line numbers; BOM stripped. */
export async function* readLines(file: string): AsyncGenerator<[string, number]> {
  const raw = createReadStream(file);
  const stream = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    n++;
    yield [n === 1 && line.charCodeAt(0) === 0xfeff ? line.slice(1) : line, n];
  }
}
