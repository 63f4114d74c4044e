/**
 * Case sinks: where published cases go. Adapters: the local registry table (always, in the
 * store), a JSONL file, and (worker) a Kafka topic. Each passes the same conformance tests.
 */
import { appendFileSync } from 'node:fs';
import type { Case } from '../core/types.js';
import { touchPrivateFile, writePrivateFile } from './private.js';

export interface CaseSink {
  /** Publish new or changed cases; the same (case_id, revision) may be published again, never a different case under it. */
  publish(cases: readonly Case[]): Promise<void>;
  close(): Promise<void>;
}

/** Appends each published revision as one JSON line (a log consumers can replay). */
export class JsonlCaseSink implements CaseSink {
  constructor(readonly path: string) {
    touchPrivateFile(path);
  }
  async publish(cases: readonly Case[]): Promise<void> {
    if (cases.length) appendFileSync(this.path, cases.map((c) => JSON.stringify(c)).join('\n') + '\n');
  }
  async close(): Promise<void> {}
}

/** Writes the full current case set on close (what `backfill --cases-out` gives an operator). */
export class SnapshotCaseSink implements CaseSink {
  private readonly byId = new Map<string, Case>();
  constructor(readonly path: string, initial: readonly Case[] = []) {
    for (const c of initial) this.byId.set(c.case_id, c);
  }
  async publish(cases: readonly Case[]): Promise<void> {
    for (const c of cases) this.byId.set(c.case_id, c);
  }
  async close(): Promise<void> {
    const all = [...this.byId.values()].sort((a, b) => a.detected_at.localeCompare(b.detected_at) || a.case_id.localeCompare(b.case_id));
    writePrivateFile(this.path, all.map((c) => JSON.stringify(c)).join('\n') + (all.length ? '\n' : ''));
  }
}

export class MemoryCaseSink implements CaseSink {
  readonly published: Case[] = [];
  async publish(cases: readonly Case[]): Promise<void> { this.published.push(...structuredClone(cases)); }
  async close(): Promise<void> {}
}
