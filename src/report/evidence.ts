/**
 * A case's evidence as sentences a street office reads (no raw JSON), and the hours to visit:
 * when the meter draws most, so the inspectors find the machines running. Pure.
 */
import type { Case, DetectorEvidence } from '../core/types.js';
import { isoMinute, parseLocalMs } from '../time.js';
import { formatHours } from '../core/detectorSpec.js';

const r1 = (x: number) => (Math.round(x * 10) / 10).toString();

/** Known evidence keys → how a sentence names them (unit last). Every key a detector writes has one (test/report). */
export const EVIDENCE_LABELS: Record<string, [string, string]> = {
  ratio: ['为此前水平的倍数', '倍'],
  peer_ratio: ['为同类户的倍数', '倍'],
  peer_kwh_day: ['同类户日均', 'kWh'],
  peer_work_kw: ['同类户工作时段负荷', 'kW'],
  peer_percentile: ['同类户中百分位', ''],
  peer_scope: ['同类户范围', ''],
  capacity_pct: ['占合同容量', '%'],
  capacity_use: ['合同容量利用率', ''],
  contract_kva: ['合同容量', 'kVA'],
  level_kw: ['持续负荷', 'kW'],
  quiet_kw: ['空闲时段负荷', 'kW'],
  work_kw: ['工作时段负荷', 'kW'],
  night_kw: ['夜间负荷', 'kW'],
  rest_day_kw: ['休息日负荷', 'kW'],
  work_cv: ['工作时段负荷波动系数', ''],
  load_factor: ['负荷率', ''],
  plateau_workdays: ['平稳生产工作日', '天'],
  working_days: ['高负荷工作日', '天'],
  window_days: ['观察窗口', '天'],
  sustained_hours: ['每日持续小时数门槛', '小时'],
  draw_hours: ['用电时段', ''],
  weekdays: ['有数据的工作日', '天'],
  weekday_kwh: ['工作日日均', 'kWh'],
  weekend_kwh: ['周末低用电日日均', 'kWh'],
  low_weekends: ['周末明显停工', '个'],
  quiet_weekdays: ['工作日同样低用电', '天'],
  on_days: ['生产日', '天'],
  off_days: ['停工日', '天'],
  switches: ['生产日与停工日交替', '次'],
  on_kwh: ['生产日日均', 'kWh'],
  off_kwh: ['停工日日均', 'kWh'],
  dismissed_kwh_day: ['排除时日均', 'kWh'],
  flagged_days: ['异常天数', '天'],
  high_days: ['高用电天数', '天'],
  continuous_days: ['昼夜连续运行', '天'],
  fast_path: ['快速判定（数日内大幅跃升）', ''],
  jump_days: ['大幅跃升天数', '天'],
  anomalous_days: ['异常天数', '天'],
  change_day: ['变化日', ''],
  base_median_kwh: ['此前日均中位数', 'kWh'],
  history_level_kwh: ['历史较高水平', 'kWh'],
  confirm_median_kwh: ['确认期日均中位数', 'kWh'],
  median_excess_kwh: ['超出基线（中位）', 'kWh'],
  median_robust_z: ['偏离程度（稳健 z 值）', ''],
  power_cut_at: ['停电时间', ''],
  halt_ordered_at: ['责令停产时间', ''],
  floor_kw: ['停电后应有的最低负荷', 'kW'],
  production_kw: ['停产前生产负荷', 'kW'],
  first_window_kw: ['恢复用电初始负荷', 'kW'],
  peak_window_kw: ['峰值负荷', 'kW'],
  flagged_intervals: ['异常时段数', '个'],
  window_hours: ['观察窗口', '小时'],
};

/** Detector names as a street office reads them. */
export const DETECTOR_ZH: Record<string, string> = {
  restored_power: '停电后恢复用电', resumed_production: '责令停产后恢复生产', step_up: '用电量阶跃上升', baseline_anomaly: '用电偏离自身基线',
  industrial_profile: '工业化用电曲线', sustained_draw: '持续高负荷', daily_capacity: '日电量超出容量',
  working_week: '按工作周生产', batch_days: '间歇批量生产',
};

const SKIP = new Set(['score', 'detected_at', 'episode_start', 'window_end', 'baseline_kwh_day', 'level_kwh_day', 'reference_kwh_day', 'escalates_dismissed_case']);

function value(v: unknown, unit: string): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return `${Math.abs(v) >= 100 ? Math.round(v) : r1(v)}${unit ? ` ${unit}` : ''}`;
  if (typeof v === 'string' && v) return /^\d{4}-\d{2}-\d{2}T/.test(v) ? isoMinute(v) : v;
  if (typeof v === 'boolean') return v ? '是' : '否';
  return undefined;
}

/** What a site detector's reference level is; the others' is their peers' (evidence.peer_scope: 同街道 or 全区). */
const REFERENCE_ZH: Record<string, string> = { restored_power: '停电前日均', resumed_production: '停产前日均' };

/** One sentence per detector that contributed to the case. */
export function evidenceSentences(c: Pick<Case, 'evidence'>, detectorTitle: (d: string) => string = (d) => DETECTOR_ZH[d] ?? d): string[] {
  return Object.entries(c.evidence).map(([detector, e]: [string, DetectorEvidence]) => {
    const parts = [`${detectorTitle(detector)}：评分 ${e.score.toFixed(2)}，${isoMinute(e.episode_start)} 起，${isoMinute(e.detected_at)} 达到阈值`];
    const levels: string[] = [];
    if (e.baseline_kwh_day != null) levels.push(`此前日均 ${r1(e.baseline_kwh_day)} kWh`);
    if (e.level_kwh_day != null) levels.push(`期间日均 ${r1(e.level_kwh_day)} kWh`);
    if (e.reference_kwh_day != null) levels.push(`${REFERENCE_ZH[detector] ?? `${typeof e.peer_scope === 'string' ? e.peer_scope : '同街道'}同类户日均`} ${r1(e.reference_kwh_day)} kWh`);
    if (levels.length) parts.push(levels.join('，'));
    for (const [k, v] of Object.entries(e)) {
      if (SKIP.has(k)) continue;
      const [label, unit] = EVIDENCE_LABELS[k] ?? [k.replace(/_/g, ' '), ''];
      // hours of day (draw_hours) read as ranges, as the sentence writes them
      const text = Array.isArray(v) && v.length && v.every((h) => Number.isInteger(h)) ? formatHours(v as number[]) : value(v, unit);
      if (text !== undefined) parts.push(`${label} ${text}`);
    }
    if (e.escalates_dismissed_case) parts.push(`已核查排除的案件 ${String(e.escalates_dismissed_case)} 用电再次升高`);
    return parts.join('；') + '。';
  });
}

/**
 * The hours of the day to visit: hours whose mean draw over the recent days is at least half the
 * busiest hour's, as ranges ("08:00–12:00、13:00–18:00"). Empty when the meter has no interval data.
 */
export function visitHours(recent: readonly { ts: string; kw: number }[]): { ranges: string[]; peak_hour: number | null } {
  if (!recent.length) return { ranges: [], peak_hour: null };
  const sum = new Array<number>(24).fill(0), n = new Array<number>(24).fill(0);
  for (const p of recent) {
    // ts is the interval END: a reading ending at 09:00 was drawn in the 08 o'clock hour
    const h = new Date(parseLocalMs(p.ts)! - 1).getUTCHours();
    sum[h]! += p.kw;
    n[h]!++;
  }
  const mean = sum.map((s, h) => (n[h] ? s / n[h]! : 0));
  const top = Math.max(...mean);
  if (!(top > 0)) return { ranges: [], peak_hour: null };
  const busy = mean.map((m) => m >= top / 2);
  const ranges: string[] = [];
  for (let h = 0; h < 24;) {
    if (!busy[h]) { h++; continue; }
    const start = h;
    while (h < 24 && busy[h]) h++;
    ranges.push(`${String(start).padStart(2, '0')}:00–${String(h).padStart(2, '0')}:00`);
  }
  return { ranges, peak_hour: mean.indexOf(top) };
}
