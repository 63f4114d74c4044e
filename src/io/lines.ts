import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createGunzip, gunzipSync } from 'node:zlib';
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

export type TextEncoding = 'auto' | 'utf-8' | 'gb18030';

/**
 * A whole (small) text file decoded: UTF-8, or GB18030/GBK, which Chinese office software still
 * writes. 'auto' takes UTF-8 when the bytes are valid UTF-8 and GB18030 otherwise (GBK text is
 * practically never valid UTF-8), so a registry never lands as U+FFFD mojibake. Says which it used.
 */
export function readTextFile(file: string, encoding: TextEncoding = 'auto'): { text: string; encoding: 'utf-8' | 'gb18030' } {
  const raw = readFileSync(file);
  const bytes = file.endsWith('.gz') ? gunzipSync(raw) : raw;
  if (encoding === 'gb18030') return { text: new TextDecoder('gb18030').decode(bytes), encoding };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes), encoding: 'utf-8' };
  } catch (e) {
    if (encoding === 'utf-8') throw new PowerscreenError('INPUT_MALFORMED', `${file}: not valid UTF-8 (give --encoding gb18030 for a GBK/GB18030 file)`, { cause: e });
    return { text: new TextDecoder('gb18030').decode(bytes), encoding: 'gb18030' };
  }
}
