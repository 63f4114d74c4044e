/**
 * The suspect list (排查明细表, seed 000 附件1) from cases: one row per case first raised in the
 * reporting window, grouped by street (主办单位), with the latest verdict in 整改情况 and its note
 * in 备注. Pure renderers for CSV (Excel-safe, BOM), Markdown and a self-contained HTML page; the
 * XLSX laid out like 附件1 is in ./xlsx.ts.
 */
import type { Case, SiteContext } from '../core/types.js';
import { toCsv } from '../io/csv.js';
import { dayOfIntervalEnd, formatDate, isoMinute, parseLocalMs } from '../time.js';

/** 附件1's columns in its order (社区/网格 added after 街道), then what the power data adds. */
export const DAILY_COLUMNS = [
  '序号', '报送日期', '街道（镇）、管委会', '社区/网格', '案件编号', '企业名称', '企业详细地址', '线索来源', '存在问题类型',
  '主办单位', '配套办法', '整治措施', '整改情况', '中督件（是/否）', '备注', '评分', '用电证据',
] as const;

const WIDE_COLUMNS = new Set<string>(['企业详细地址', '存在问题类型', '备注', '用电证据']);
/** Dates and case numbers are read (and copied) whole: never broken across lines. */
const WHOLE_COLUMNS = new Set<string>(['报送日期', '案件编号']);

/**
 * Column widths for the list's HTML tables (the console and the CLI's HTML file). The wide columns'
 * 12em lets a whole 附件1 row, 用电证据 last, fit a 1920-pixel office monitor (at 14em it scrolled 34
 * pixels sideways there, and the evidence was what scrolled out of view).
 */
export const LIST_CSS = '.list-scroll{overflow-x:auto}table.list th{white-space:nowrap}table.list td{min-width:4.5em}table.list td.wide{min-width:12em}table.list td.whole{white-space:nowrap}';

export interface DailyRow {
  street: string;
  case_id: string;
  cells: string[];
}

/** The latest verdict on a case, as the list shows it. */
export interface VerdictView {
  verdict: 'confirmed' | 'dismissed' | 'duplicate';
  note: string | null;
  duplicate_of: string | null;
  given_by: string | null;
  given_at: string;
}

/** The list's header lines (附件1: 填报单位, 填报日期). */
export interface ListMeta {
  title: string;
  unit: string;
  date: string;
}

export const VERDICT_ZH = { open: '待核查', confirmed: '已核实属实', dismissed: '已核查排除', duplicate: '重复线索' } as const;

function progress(c: Case, site: SiteContext | undefined, v: VerdictView | undefined): string {
  if (v?.verdict === 'confirmed') return `${VERDICT_ZH.confirmed}，待整治`;
  if (v?.verdict === 'dismissed') return VERDICT_ZH.dismissed;
  if (v?.verdict === 'duplicate') return `${VERDICT_ZH.duplicate}（同 ${v.duplicate_of}）`;
  return site ? `原案件${site.status || ''}，用电显示疑似反弹，待核查` : VERDICT_ZH.open;
}

// detected_at is an interval end: midnight belongs to the day before
const localDay = (iso: string) => formatDate(dayOfIntervalEnd(parseLocalMs(iso)!));

export function dailyRows(
  cases: readonly (Case & { community?: string })[], sites: ReadonlyMap<string, SiteContext & { power_cut?: boolean }>,
  verdicts: ReadonlyMap<string, VerdictView> = new Map(),
): DailyRow[] {
  const sorted = [...cases].sort((a, b) => (a.street || '~').localeCompare(b.street || '~', 'zh') || b.score - a.score || a.case_id.localeCompare(b.case_id));
  return sorted.map((c, i) => {
    const site = c.site_case_no ? sites.get(c.site_case_no) : undefined;
    const v = verdicts.get(c.case_id);
    const remark = [
      `电表 ${c.meter_id}`, c.site_case_no ? `反弹案件编号 ${c.site_case_no}` : '', `发现于 ${isoMinute(c.detected_at)}`,
      v ? `核查：${v.note ?? VERDICT_ZH[v.verdict]}（${v.given_by ?? '街道'} ${v.given_at.slice(0, 10)}）` : '',
    ].filter(Boolean).join('；');
    return {
      street: c.street || '（未登记街道）',
      case_id: c.case_id,
      cells: [
        String(i + 1), localDay(c.detected_at), c.street || '（未登记）', c.community || '', c.case_id, c.account_name || '（未登记户名）', c.address || '（未登记地址）',
        c.clue_source, c.problem_type, c.street || '区整治办', site?.power_cut ? '停电' : '', site?.measure || '待现场核查',
        progress(c, site, v), '否', remark, c.score.toFixed(2), c.summary_zh,
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

/** CSV: the 附件1 header lines (title, 填报单位/填报日期), then the table. */
export function renderCsv(rows: readonly DailyRow[], meta?: ListMeta): string {
  const head = meta ? toCsv([meta.title], [[`填报单位：${meta.unit}`, `填报日期：${meta.date}`]].map((r) => r.map(csvSafe))) : '';
  return '\uFEFF' + head + toCsv(DAILY_COLUMNS, rows.map((r) => r.cells.map(csvSafe)));
}

const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function byStreet<T extends { street: string }>(rows: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) (m.get(r.street) ?? m.set(r.street, []).get(r.street)!).push(r);
  return m;
}

export const EMPTY_LIST = '本期无新线索。';

export function renderMarkdown(rows: readonly DailyRow[], meta: ListMeta): string {
  const out = [`# ${meta.title}`, '', `填报单位：${meta.unit}　填报日期：${meta.date}`, ''];
  if (!rows.length) return out.concat(EMPTY_LIST, '').join('\n');
  for (const [street, rs] of byStreet(rows)) {
    out.push(`## ${street}（${rs.length} 条）`, '', `| ${DAILY_COLUMNS.join(' | ')} |`, `|${DAILY_COLUMNS.map(() => '---').join('|')}|`);
    for (const r of rs) out.push(`| ${r.cells.map(mdCell).join(' | ')} |`);
    out.push('');
  }
  return out.join('\n');
}

export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** The table part of the list (also inside the console's pages); `caseHref` links 案件编号. */
export function listTables(rows: readonly DailyRow[], caseHref?: (caseId: string) => string): string {
  const idCol = DAILY_COLUMNS.indexOf('案件编号');
  // Short-valued columns (主办单位, 整治措施…) would otherwise be squeezed to one character a line
  // by the long ones; the long ones get a wide minimum and the table scrolls sideways instead.
  const cls = DAILY_COLUMNS.map((c) => (WIDE_COLUMNS.has(c) ? ' class="wide"' : WHOLE_COLUMNS.has(c) ? ' class="whole"' : ''));
  return [...byStreet(rows)].map(([street, rs]) => `
<h2>${esc(street)}（${rs.length} 条）</h2>
<div class="list-scroll"><table class="list"><thead><tr>${DAILY_COLUMNS.map((c, i) => `<th${cls[i]}>${esc(c)}</th>`).join('')}</tr></thead>
<tbody>${rs.map((r) => `<tr data-case="${esc(r.case_id)}">${r.cells.map((c, i) => `<td${cls[i]}>${i === idCol && caseHref ? `<a href="${esc(caseHref(r.case_id))}">${esc(c)}</a>` : esc(c)}</td>`).join('')}</tr>`).join('\n')}</tbody></table></div>`).join('\n');
}

export function renderHtml(rows: readonly DailyRow[], meta: ListMeta): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>${esc(meta.title)}</title>
<style>body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:1.5em}table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border:1px solid #999;padding:4px 6px;vertical-align:top}th{background:#eee}h2{margin-top:1.5em}${LIST_CSS}</style></head>
<body><h1>${esc(meta.title)}</h1><p>填报单位：${esc(meta.unit)}　填报日期：${esc(meta.date)}</p>${rows.length ? listTables(rows) : `<p>${EMPTY_LIST}</p>`}</body></html>
`;
}
