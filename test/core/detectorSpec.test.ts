import { describe, it, expect } from 'vitest';
import { parseDetectorSpec, parseSqlParams, renderSummary } from '../../src/core/detectorSpec.js';
import type { Lead } from '../../src/core/types.js';
import { parseLocalMs } from '../../src/time.js';

const header = (extra = '') => `-- detector: toy\n-- family: workshop\n-- problem_type: 测试\n-- runs: day\n-- summary_zh: x\n${extra}`;

describe('detector header', () => {
  it('refuses a parameter used but not declared, or declared but not used', () => {
    expect(() => parseSqlParams('x.sql', 'select $ratio')).toThrow(/uses \$ratio but the header declares no such parameter/);
    expect(() => parseSqlParams('x.sql', '-- param: ratio double = 2 [1] r\nselect 1')).toThrow(/ratio is declared but the query never uses/);
  });

  it('reads ranges and allowed values, and refuses a default outside them', () => {
    const [a, b] = parseSqlParams('x.sql', "-- param: q double = 0.5 [1] (0..1) a quantile\n-- param: c varchar[] = ['x'] [-] (x|y) kinds\nselect $q, $c");
    expect(a).toMatchObject({ name: 'q', min: 0, max: 1, doc: 'a quantile' });
    expect(b).toMatchObject({ name: 'c', allowed: ['x', 'y'], default: ['x'] });
    expect(() => parseSqlParams('x.sql', '-- param: q double = 2 [1] (0..1) q\nselect $q')).toThrow(/default 2 is outside its range/);
  });

  it('needs family, problem type, runs and a summary template', () => {
    expect(parseDetectorSpec('t.sql', header('select 1'))).toMatchObject({ name: 'toy', family: 'workshop', runs: 'day', peers: false });
    expect(() => parseDetectorSpec('t.sql', header().replace('workshop', 'shop'))).toThrow(/family:" must be site or workshop/);
    expect(() => parseDetectorSpec('t.sql', header().replace('-- runs: day\n', ''))).toThrow(/runs:" must be site or day/);
    expect(() => parseDetectorSpec('t.sql', header().replace('summary_zh: x', 'summary_zh: {nope:kwh}'))).toThrow(/cannot read placeholder \{nope:kwh\}/);
  });

  it('reads the sentence rank (a reason may follow it), after every ranked detector when absent', () => {
    expect(parseDetectorSpec('t.sql', header('-- sentence_rank: 3 (the level against the contract)\nselect 1')).sentenceRank).toBe(3);
    expect(parseDetectorSpec('t.sql', header('select 1')).sentenceRank).toBe(100);
    expect(() => parseDetectorSpec('t.sql', header('-- sentence_rank: first\nselect 1'))).toThrow(/t\.sql.*sentence_rank:" must start with a whole number, got "first"/);
  });
});

describe('summary template', () => {
  const lead: Lead = {
    detector: 'toy', family: 'site', problem_type: '', summary_zh: '', meter_id: 'm', site_case_no: null,
    episode_start_ms: parseLocalMs('2026-10-05T00:00:00')!, detected_at_ms: parseLocalMs('2026-10-05T09:15:00')!,
    window_start_ms: 0, window_end_ms: 0, score: 0.7, baseline_kwh_day: 0.04, level_kwh_day: 120.4, reference_kwh_day: null,
    evidence: { ratio: 4.26 },
  };
  it('formats energy, dates and decimals, and drops an optional part whose value is missing', () => {
    const t = '停电后日均 {baseline_kwh_day:kwh} kWh，{detected_at:datetime} 起恢复用电，日均 {level_kwh_day:kwh} kWh[（停电前日均 {reference_kwh_day:kwh} kWh）]，{evidence.ratio:1} 倍';
    expect(renderSummary(t, lead)).toBe('停电后日均 0.0 kWh，10月5日 09:15 起恢复用电，日均 120 kWh，4.3 倍');
    expect(renderSummary(t, { ...lead, reference_kwh_day: 214 })).toBe('停电后日均 0.0 kWh，10月5日 09:15 起恢复用电，日均 120 kWh（停电前日均 214 kWh），4.3 倍');
    expect(renderSummary('{evidence.missing:0} 倍', lead)).toBe('— 倍');
  });
  it('writes an evidence string as it is (whose peers: 同街道 or 全区), and only a string', () => {
    const t = '为{evidence.peer_scope:text}同类户中位的 {evidence.ratio:1} 倍';
    expect(renderSummary(t, { ...lead, evidence: { ratio: 4.26, peer_scope: '全区' } })).toBe('为全区同类户中位的 4.3 倍');
    expect(renderSummary(t, lead)).toBe('为—同类户中位的 4.3 倍');
    expect(renderSummary('[{evidence.ratio:text}]', lead)).toBe('');
  });
});

describe('hours of day for a visit', () => {
  it('merges consecutive hours into ranges, across midnight too', async () => {
    const { formatHours } = await import('../../src/core/detectorSpec.js');
    expect(formatHours([8, 9, 10, 11, 14, 15, 16, 17])).toBe('08:00–12:00、14:00–18:00');
    expect(formatHours([22, 23, 0, 1, 2, 3, 4, 5])).toBe('22:00–06:00');
    expect(formatHours(Array.from({ length: 24 }, (_, h) => h))).toBe('全天');
    expect(formatHours([])).toBe('—');
  });
});
