/** The daily list's CSV: a cell from outside (a name, an address) never runs as a formula (issue 11, item 8). */
import { describe, it, expect } from 'vitest';
import { csvSafe, dailyRows, renderCsv } from '../../src/report/daily.js';
import type { Case } from '../../src/core/types.js';

const aCase = (account_name: string, address: string): Case => ({
  case_id: 'PS-1', clue_source: '电力数据筛查', detector: 'step_up', family: 'workshop', problem_type: '疑似散乱污生产', meter_id: 'm1', site_case_no: null,
  account_name, address, street: '鼓东街道', score: 0.8, episode_start: '2026-10-12T00:00:00+08:00', window_start: '2026-10-12T00:00:00+08:00',
  window_end: '2026-10-20T00:00:00+08:00', detected_at: '2026-10-16T00:00:00+08:00', evidence: {}, summary_zh: '10月12日起日均用电 60 kWh', status: 'open', revision: 1,
});

describe('daily list CSV', () => {
  it('prefixes cells that a spreadsheet would run as formulas', () => {
    expect(['=HYPERLINK("http://x","点我")', '@SUM(A1:A9)', '+1', '-1+2', '\tx', '陈某'].map(csvSafe)).toEqual(["'=HYPERLINK(\"http://x\",\"点我\")", "'@SUM(A1:A9)", "'+1", "'-1+2", "'\tx", '陈某']);
    const csv = renderCsv(dailyRows([aCase('=HYPERLINK("http://evil","x")', '@SUM(1,2)')], new Map()));
    expect(csv).not.toMatch(/(^|,)"?=HYPERLINK/m);
    expect(csv).toContain(`"'=HYPERLINK(""http://evil"",""x"")"`);
    expect(csv).toContain(`'@SUM(1,2)`);
  });
});
