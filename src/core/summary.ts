/** One sentence per case that a street office understands (summary_zh). */
import type { Lead } from './types.js';
import { formatZhDate } from '../time.js';

const kwh = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(1));

export const PROBLEM_TYPE: Record<Lead['detector'], string> = {
  restored_power: '关停取缔后恢复用电（疑似死灰复燃）',
  resumed_production: '整改期间疑似私自恢复生产',
  step_up: '疑似散乱污生产（用电量突增）',
  industrial_profile: '疑似散乱污生产（工业用电特征）',
  baseline_anomaly: '疑似散乱污生产（用电持续异常）',
};

export function summarize(lead: Lead): string {
  const e = lead.evidence;
  switch (lead.detector) {
    case 'restored_power':
      return `停电后日均 ${kwh(lead.baseline_kwh_day)} kWh，${formatZhDate(lead.detected_at_ms, true)} 起恢复用电，日均 ${kwh(lead.level_kwh_day)} kWh` +
        (lead.reference_kwh_day !== null ? `（停电前日均 ${kwh(lead.reference_kwh_day)} kWh）` : '');
    case 'resumed_production':
      return `责令停产后日均 ${kwh(lead.baseline_kwh_day)} kWh，${formatZhDate(lead.detected_at_ms, true)} 起用电回到生产水平，日均 ${kwh(lead.level_kwh_day)} kWh` +
        (lead.reference_kwh_day !== null ? `（停产前日均 ${kwh(lead.reference_kwh_day)} kWh）` : '');
    case 'step_up':
      return `${formatZhDate(lead.episode_start_ms)}起日均用电 ${kwh(lead.level_kwh_day)} kWh，此前日均 ${kwh(lead.baseline_kwh_day)} kWh，升至 ${Number(e.ratio ?? 0).toFixed(1)} 倍并持续`;
    case 'industrial_profile':
      return `工作日白天持续约 ${kwh(Number(e.work_kw))} kW 平稳负荷、夜间 ${kwh(Number(e.night_kw))} kW，为同街道同类用户的 ${(Number(e.work_kw) / Math.max(Number(e.peer_work_kw), 0.1)).toFixed(0)} 倍，呈工业生产用电特征`;
    case 'baseline_anomaly':
      return `${formatZhDate(lead.episode_start_ms)}起多个时段用电持续显著高于自身同时段基线，日均多用 ${kwh(Number(e.median_excess_kwh))} kWh`;
  }
}
