/**
 * The daily suspect list (排查明细表, seed 000 附件1) from cases: one row per case first raised in
 * the reporting window, grouped by street (主办单位). Pure renderers for CSV (Excel-safe, BOM),
 * Markdown and a self-contained HTML page.
 */
import type { Case, SiteContext } from '../core/types.js';
import { toCsv } from '../io/csv.js';

export const DAILY_COLUMNS = [
  '序号', '报送日期', '街道（镇）', '案件编号', '企业名称', '企业详细地址', '线索来源', '存在问题类型',
  '主办单位', '整治措施', '整改情况', '备注', '评分', '用电证据',
] as const;


export interface DailyRow {
  street: string;
  cells: string[];
}

export function dailyRows(cases: readonly Case[], reportDate: string, sites: ReadonlyMap<string, SiteContext>): DailyRow[] {
  const sorted = [...cases].sort((a, b) => (a.street || '~').localeCompare(b.street || '~', 'zh') || b.score - a.score || a.case_id.localeCompare(b.case_id));
  return sorted.map((c, i) => {
    const site = c.site_case_no ? sites.get(c.site_case_no) : undefined;
    const remark = [`电表 ${c.meter_id}`, c.site_case_no ? `反弹案件编号 ${c.site_case_no}` : '', `发现于 ${c.detected_at.slice(0, 16).replace('T', ' ')}`].filter(Boolean).join('；');
    return {
      street: c.street || '（未登记街道）',
      cells: [
        String(i + 1), reportDate, c.street || '（未登记）', c.case_id, c.account_name || '（未登记户名）', c.address || '（未登记地址）',
        c.clue_source, c.problem_type, c.street || '区整治办', site?.measure || '待现场核查',
        site ? `原案件${site.status || ''}，用电显示疑似反弹` : '待核查', remark, c.score.toFixed(2), c.summary_zh,
      ],
    };
  });
}

/**
 * A cell Excel or WPS would run as a formula (=, +, -, @, tab, CR first) is prefixed with an
 * apostrophe: names and addresses come from outside (the registry), and a list opened by a clerk
 * must not run =HYPERLINK(…) or @SUM(…) written into them.
 */
export function csvSafe(cell: string): string {
  return /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
}

export function renderCsv(rows: readonly DailyRow[]): string {
  return '\uFEFF' + toCsv(DAILY_COLUMNS, rows.map((r) => r.cells.map(csvSafe)));
}

const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function byStreet(rows: readonly DailyRow[]): Map<string, DailyRow[]> {
  const m = new Map<string, DailyRow[]>();
  for (const r of rows) (m.get(r.street) ?? m.set(r.street, []).get(r.street)!).push(r);
  return m;
}

export function renderMarkdown(rows: readonly DailyRow[], title: string): string {
  const out = [`# ${title}`, ''];
  if (!rows.length) return out.concat('本期无新线索。', '').join('\n');
  for (const [street, rs] of byStreet(rows)) {
    out.push(`## ${street}（${rs.length} 条）`, '', `| ${DAILY_COLUMNS.join(' | ')} |`, `|${DAILY_COLUMNS.map(() => '---').join('|')}|`);
    for (const r of rs) out.push(`| ${r.cells.map(mdCell).join(' | ')} |`);
    out.push('');
  }
  return out.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function renderHtml(rows: readonly DailyRow[], title: string): string {
  const sections = [...byStreet(rows)].map(([street, rs]) => `
<h2>${esc(street)}（${rs.length} 条）</h2>
<table><thead><tr>${DAILY_COLUMNS.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead>
<tbody>${rs.map((r) => `<tr>${r.cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n')}</tbody></table>`).join('\n');
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:1.5em}table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border:1px solid #999;padding:4px 6px;vertical-align:top}th{background:#eee}h2{margin-top:1.5em}</style></head>
<body><h1>${esc(title)}</h1>${rows.length ? sections : '<p>本期无新线索。</p>'}</body></html>
`;
}
