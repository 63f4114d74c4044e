/** Rejects file: every invalid reading, one JSON line with where it came from and why. Nothing is dropped silently. */
import { appendFileSync } from 'node:fs';
import { touchPrivateFile } from './private.js';

export interface Reject {
  source: string;
  row: number;
  reason: string;
  record: unknown;
}

export interface RejectSink {
  write(rejects: readonly Reject[]): void;
  readonly count: number;
  readonly path: string | undefined;
}

export class JsonlRejectSink implements RejectSink {
  count = 0;
  constructor(readonly path: string) {
    touchPrivateFile(path);
  }
  write(rejects: readonly Reject[]): void {
    if (!rejects.length) return;
    appendFileSync(this.path, rejects.map((r) => JSON.stringify(r)).join('\n') + '\n');
    this.count += rejects.length;
  }
}

/** Keeps rejects in memory (tests, and the Kafka worker before it forwards them to the DLQ). */
export class MemoryRejectSink implements RejectSink {
  readonly items: Reject[] = [];
  readonly path = undefined;
  get count() { return this.items.length; }
  write(rejects: readonly Reject[]): void { this.items.push(...rejects); }
}
