/**
 * A batch's rollup groups (src/store/batchRollups.ts) read for repeated (meter, ts) keys: a group
 * of an hour holding fewer minutes than readings may repeat one, and every repeat shows so.
 */
import { describe, it, expect } from 'vitest';
import { openDb } from '../../src/store/db.js';
import { rollupsWithoutRepeats } from '../../src/store/batchRollups.js';

async function judge(rows: [string, string, number][]): Promise<{ clean: boolean; hours: unknown[] }> {
  const db = await openDb(':memory:');
  try {
    await db.con.run(`create temp table stage (seq bigint, meter_id varchar, ts timestamp, interval_min smallint, kwh double)`);
    for (const [i, [meter, t, iv]] of rows.entries()) await db.con.run(`insert into temp.stage values (${i}, '${meter}', timestamp '${t}', ${iv}, 1)`);
    const clean = await rollupsWithoutRepeats(db.con, 'temp.stage');
    const hours = clean ? (await db.con.runAndReadAll(`select meter_id, strftime(hour, '%H') h, kwh, n_readings from temp.hourly_fresh order by all`)).getRowObjectsJS() : [];
    return { clean, hours };
  } finally {
    db.close();
  }
}

describe('rollupsWithoutRepeats', () => {
  it('keeps the groups of a batch that repeats no key, an hour ending on the hour included', async () => {
    const r = await judge([['a', '2026-11-21 00:15', 15], ['a', '2026-11-21 01:00', 15], ['b', '2026-11-21 01:00', 15], ['a', '2026-11-21 01:15', 15]]);
    expect(r).toEqual({ clean: true, hours: [{ meter_id: 'a', h: '00', kwh: 2, n_readings: 2n }, { meter_id: 'a', h: '01', kwh: 1, n_readings: 1n }, { meter_id: 'b', h: '00', kwh: 1, n_readings: 1n }] });
  });

  it('sends a repeat, one of an hour of another interval, two readings in one minute and a daily value to the general path', async () => {
    expect((await judge([['a', '2026-11-21 00:15', 15], ['b', '2026-11-21 00:15', 15], ['a', '2026-11-21 00:15', 15]])).clean).toBe(false);
    expect((await judge([['a', '2026-11-21 01:00', 60], ['a', '2026-11-21 01:00', 15]])).clean).toBe(false);
    // not repeats, but one minute cannot tell them apart: the general path finds none
    expect((await judge([['a', '2026-11-21 00:15:10', 15], ['a', '2026-11-21 00:15:40', 15]])).clean).toBe(false);
    // a daily value is in no hour's group: a 15-minute reading may share its key unseen there
    expect((await judge([['a', '2026-11-22 00:00', 1440], ['a', '2026-11-21 12:00', 15]])).clean).toBe(false);
  });
});
