/** Runs every given/expect case in test/sql/cases on in-memory DuckDB. Add a JSON file to add a case. */
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRegistry } from '../../src/config/detectorRegistry.js';
import { sqlCaseSchema } from '../../src/core/sqlCase.js';
import { runSqlCase, runSqlCaseDayByDay } from '../../src/store/sqlCaseRunner.js';
import { formatCase } from '../support/caseFormat.js';

const dir = join(import.meta.dirname, 'cases');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

describe('detector SQL given/expect cases', () => {
  it('has cases for every detector', () => {
    const detectors = new Set(files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')).detector));
    expect([...detectors].sort()).toEqual(loadRegistry().detectors.map((d) => d.name).sort());
  });

  it('are laid out one segment and one meter a line (npm run cases:format), which changes no value', () => {
    const off: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(dir, file), 'utf8');
      const laidOut = formatCase(JSON.parse(text));
      expect(JSON.parse(laidOut)).toEqual(JSON.parse(text));
      expect(Math.max(...laidOut.split('\n').filter((l) => !l.trimStart().startsWith('"description"')).map((l) => l.length))).toBeLessThanOrEqual(120);
      if (laidOut !== text) off.push(file);
    }
    expect(off, 'run npm run cases:format').toEqual([]);
  });

  for (const file of files) {
    it(file.replace(/\.json$/, ''), async () => {
      const c = sqlCaseSchema.parse(JSON.parse(readFileSync(join(dir, file), 'utf8')));
      expect(await runSqlCase(c)).toEqual([]);
    });
  }
});

describe('detector SQL given/expect cases closed day by day', () => {
  // every case of a detector judged incrementally, closed as a worker closes its days: a close must
  // read what its windows need (the week behind a window's first day, too), and keep the flags of
  // one judgement of everything
  for (const file of files) {
    it(file.replace(/\.json$/, ''), async () => {
      const c = sqlCaseSchema.parse(JSON.parse(readFileSync(join(dir, file), 'utf8')));
      expect(await runSqlCaseDayByDay(c)).toEqual([]);
    });
  }
});
