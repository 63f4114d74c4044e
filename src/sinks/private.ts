/** Files that hold names and addresses (cases, daily lists) are readable by their owner only. */
import { mkdirSync, writeFileSync, chmodSync, openSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';

export function writePrivateFile(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600); // writeFileSync keeps the mode of an existing file
}

export function touchPrivateFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}
