/** The quarterly counts (seed 000 附件2) as sentences and as Markdown/CSV/JSON. Pure. */
import type { QuarterCounts } from '../store/districtStats.js';
import { toCsv } from '../io/csv.js';

export function quarterlyText(q: QuarterCounts): { leads: string; rebounds: string } {
  return {
    leads: `源自电力大数据筛查 ${q.workshop_leads} 家（本季电力数据线索 ${q.confirmed + q.dismissed + q.open} 条：核实属实 ${q.confirmed}，核查排除 ${q.dismissed}，待核查 ${q.open}）`,
    rebounds: `用电监测整治场所 ${q.sites_watched} 家，其中出现反弹 ${q.rebounds} 家${q.rebound_case_nos.length ? `（反弹案件编号为 ${q.rebound_case_nos.join('、')}）` : ''}`,
  };
}

export function renderQuarterly(rows: readonly QuarterCounts[], format: 'md' | 'csv' | 'json', meta: { title: string; quarter: string; from: string; to: string }): string {
  const lines = rows.map((r) => ({ r, t: quarterlyText(r) }));
  if (format === 'json') return JSON.stringify({ quarter: meta.quarter, from: meta.from, to: meta.to, streets: lines.map(({ r, t }) => ({ ...r, ...t })) }, null, 2) + '\n';
  if (format === 'csv') {
    return '\uFEFF' + toCsv(['序号', '街道（镇）、管委会', '摸排开展情况', '巩固整治成果', '电力数据筛查线索', '出现反弹', '反弹案件编号', '监测场所', '核实属实', '核查排除', '待核查'],
      lines.map(({ r, t }, i) => [String(i + 1), r.street, t.leads, t.rebounds, String(r.workshop_leads), String(r.rebounds), r.rebound_case_nos.join('、'), String(r.sites_watched), String(r.confirmed), String(r.dismissed), String(r.open)]));
  }
  return [`# ${meta.title}`, '', '| 序号 | 街道（镇）、管委会 | 摸排开展情况 | 巩固整治成果 |', '|---|---|---|---|', ...lines.map(({ r, t }, i) => `| ${i + 1} | ${r.street} | ${t.leads} | ${t.rebounds} |`), ''].join('\n');
}
