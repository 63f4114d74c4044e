/**
 * Arrival order must not decide where a site episode starts: a streaming site check holds a meter
 * back at a gap that may still fill (judge_horizon), so the case id is the one a backfill of the
 * same readings derives. Without the horizon the id forks (checked too, so the test can fail).
 */
import { describe, it, expect } from 'vitest';
import { openDb, type Db } from '../../src/store/db.js';
import { clearJudgeHorizon, ReadingStore, setJudgeHorizon } from '../../src/store/readingStore.js';
import { upsertMeters, upsertSites } from '../../src/store/reference.js';
import { loadCases } from '../../src/store/caseStore.js';
import { screen } from '../../src/pipeline/screen.js';
import { parsePipeline, registryOf } from '../../src/config/pipeline.js';
import { meterSchema, siteSchema } from '../../src/contracts/registry.js';
import type { Reading } from '../../src/contracts/reading.js';
import { formatLocal, parseLocalMs } from '../../src/time.js';

const pipeline = parsePipeline({});
const siteDetectors = registryOf(pipeline).siteDetectors();
const Q = 900_000;
const at = (s: string) => parseLocalMs(s)!;
const REBOUND = at('2026-10-08T01:00:00');

/** 20 kW before the cut (10-01 12:00), dark after it, 10 kW again from the interval ending 10-08 01:00. */
function series(): Reading[] {
  const out: Reading[] = [];
  for (let t = at('2026-09-20T00:15:00'); t <= at('2026-10-08T06:00:00'); t += Q) {
    const kw = t <= at('2026-10-01T12:00:00') ? 20 : t >= REBOUND ? 10 : 0;
    out.push({ meter_id: 'M1', ts_ms: t, interval_min: 15, kwh: kw / 4 });
  }
  return out;
}

async function district(): Promise<Db> {
  const db = await openDb(':memory:');
  await upsertMeters(db, [meterSchema.parse({ meter_id: 'M1', street: '鼓东街道', category: 'commercial', contract_kva: 50 })]);
  await upsertSites(db, [siteSchema.parse({ case_no: 'GL1', meter_id: 'M1', status: '已关停', power_cut_at: '2026-10-01T12:00:00+08:00', halt_ordered_at: '' })]);
  return db;
}

/** The worker's path: store what arrived, then a site check after every arrival. */
async function stream(arrivals: Reading[][], horizon: boolean): Promise<string[]> {
  const db = await district();
  const store = new ReadingStore(db);
  for (const batch of arrivals) {
    await store.append(batch);
    if (horizon) await setJudgeHorizon(db, pipeline.worker.allowed_lateness_min);
    else await clearJudgeHorizon(db);
    await screen(db, pipeline, [], { only: siteDetectors });
  }
  const ids = (await loadCases(db)).map((c) => `${c.case_id} ${c.episode_start}`);
  db.close();
  return ids;
}

describe('site checks do not depend on arrival order', () => {
  const all = series();
  const before = all.filter((r) => r.ts_ms < REBOUND);
  const after = all.filter((r) => r.ts_ms > REBOUND);
  const late = all.find((r) => r.ts_ms === REBOUND)!;
  // the first reading of the rebound arrives 75 minutes late (within the 120 allowed)
  const arrivals = [before, ...after.slice(0, 5).map((r) => [r]), [late], ...after.slice(5).map((r) => [r])];

  it('the late reading makes no second episode start: the stream derives the backfill\'s case id', async () => {
    const db = await district();
    await new ReadingStore(db).append(all);
    await screen(db, pipeline, [], { only: siteDetectors });
    const expected = (await loadCases(db)).map((c) => `${c.case_id} ${c.episode_start}`);
    db.close();
    expect(expected).toHaveLength(1);
    expect(expected[0]).toContain(formatLocal(REBOUND + Q * 3));
    expect(await stream(arrivals, true)).toEqual(expected);
    // the same arrivals judged without the horizon fork the id (what the hostile probe found)
    expect(await stream(arrivals, false)).not.toEqual(expected);
  });

  it('a gap that never fills holds the meter back only for the allowed lateness', async () => {
    const db = await district();
    await new ReadingStore(db).append(all.filter((r) => r.ts_ms !== REBOUND && r.ts_ms <= REBOUND + 4 * Q));
    expect(await setJudgeHorizon(db, pipeline.worker.allowed_lateness_min)).toBe(1);
    // once the watermark has moved past the gap by more than the lateness, the gap is final
    await new ReadingStore(db).append(all.filter((r) => r.ts_ms > REBOUND + 4 * Q));
    expect(await setJudgeHorizon(db, pipeline.worker.allowed_lateness_min)).toBe(0);
    db.close();
  });
});
