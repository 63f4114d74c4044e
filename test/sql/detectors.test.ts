/** Runs every given/expect case in test/sql/cases on in-memory DuckDB. Add a JSON file to add a case. */
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb } from '../../src/store/db.js';
import { ReadingStore } from '../../src/store/readingStore.js';
import { upsertMeters, upsertSites } from '../../src/store/reference.js';
import { runDetector } from '../../src/store/detectors.js';
import { loadRegistry } from '../../src/config/detectorRegistry.js';
import { parsePipeline } from '../../src/config/pipeline.js';
import { lastCompleteDay } from '../../src/pipeline/screen.js';
import { sqlCaseSchema, seriesReadings, caseReference, leadMatches, describeLead } from '../support/sqlCase.js';

const dir = join(import.meta.dirname, 'cases');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

describe('detector SQL given/expect cases', () => {
  it('has cases for every detector', () => {
    const detectors = new Set(files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')).detector));
    expect([...detectors].sort()).toEqual(loadRegistry().detectors.map((d) => d.name).sort());
  });

  for (const file of files) {
    it(file.replace(/\.json$/, ''), async () => {
      const c = sqlCaseSchema.parse(JSON.parse(readFileSync(join(dir, file), 'utf8')));
      const db = await openDb(':memory:', { threads: 1 });
      try {
        const { meters, sites } = caseReference(c);
        await upsertMeters(db, meters);
        await upsertSites(db, sites);
        const readings = c.given.series.flatMap(seriesReadings);
        await new ReadingStore(db).append(readings);
        const watermark = Math.max(...readings.map((r) => r.ts_ms));
        const defaults = parsePipeline({}).detectors[c.detector] as Record<string, unknown>;
        const sql = loadRegistry().get(c.detector)!;
        const leads = await runDetector(db, sql, { ...defaults, ...c.params }, { lastCompleteDayMs: lastCompleteDay(watermark) });
        const actual = leads as unknown as Record<string, unknown>[];
        for (const e of c.expect) {
          const hit = actual.find((a) => leadMatches(e, a));
          expect(hit, `${c.description}\nexpected ${JSON.stringify(e)}\ngot ${actual.map(describeLead).join('\n    ') || 'no leads'}`).toBeDefined();
        }
        expect(actual.length, `${c.description}\nunexpected leads: ${actual.filter((a) => !c.expect.some((e) => leadMatches(e, a))).map(describeLead).join('\n')}`).toBe(c.expect.length);
      } finally {
        db.close();
      }
    });
  }
});
