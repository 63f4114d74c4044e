/**
 * The console's pages: server-rendered HTML, Chinese UI, no scripts, nothing fetched from outside
 * (government intranets are offline). Pure: each page takes the data and returns the markup.
 */
import { EMPTY_LIST, esc, LIST_CSS, listTables, VERDICT_ZH, type DailyRow } from '../report/daily.js';
import { quarterlyText } from '../report/quarterly.js';
import { isoMinute } from '../time.js';
import type { Coverage, BacklogCase, QuarterCounts, StreetClosure } from '../store/districtStats.js';
import type { Case } from '../core/types.js';
import type { VerdictRecord } from '../store/feedback.js';
import type { CaseRevision } from '../store/caseStore.js';
import type { Principal } from './users.js';

export const CSS = `body{font-family:"Noto Sans CJK SC","Microsoft YaHei","WenQuanYi Zen Hei",sans-serif;margin:0;color:#222}
header{background:#1f4e9a;color:#fff;padding:.6em 1.5em;display:flex;gap:1.5em;align-items:center}
header a{color:#fff;text-decoration:none}header .who{margin-left:auto}main{padding:1em 1.5em}
table{border-collapse:collapse;width:100%;font-size:13px;margin:.5em 0 1.2em}th,td{border:1px solid #aaa;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#eee}.banner{padding:.5em .8em;margin:.5em 0;border-radius:4px;background:#eef6ee;border:1px solid #9c9}
.banner.stalled{background:#fdeaea;border-color:#d66}.banner.history{background:#f4f4f4;border-color:#bbb}
form.filters{display:flex;flex-wrap:wrap;gap:.6em;align-items:end;margin:.5em 0}form.filters label{display:flex;flex-direction:column;font-size:12px}
.error{color:#a00}.ok{color:#070}.muted{color:#777}.evidence li{margin:.3em 0}form.verdict{border:1px solid #ccc;padding:.8em;max-width:38em}
form.verdict label{display:block;margin:.4em 0}textarea{width:100%}${LIST_CSS}`;

export interface Banner {
  coverage: Coverage;
  /** live: a worker feeds the database; history: a database filled by backfill. */
  mode: 'live' | 'history';
  /** Why the feed looks stalled (live only), or undefined. */
  stalled?: string;
}

const ROLE_ZH = { district: '区整治办', street: '街道', analyst: '分析员' } as const;

export function layout(title: string, who: Principal | undefined, body: string, csrf?: string): string {
  const nav = who ? `<a href="/list">排查明细表</a><a href="/backlog">待核查</a><a href="/quarterly">季度调度</a>
<span class="who">${esc(who.username)}（${ROLE_ZH[who.role]}${who.street ? ` · ${esc(who.street)}` : ''}）
<form method="post" action="/logout" style="display:inline"><input type="hidden" name="_csrf" value="${esc(csrf ?? '')}"><button>退出</button></form></span>` : '';
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${esc(title)} — 电力数据筛查</title><link rel="stylesheet" href="/static/console.css"></head>
<body><header><strong>电力数据筛查 · 散乱污线索</strong>${nav}</header><main>${body}</main></body></html>
`;
}

export function loginPage(csrf: string, error?: string, next = '/list'): string {
  return layout('登录', undefined, `<h1>登录</h1>${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/login" class="verdict"><input type="hidden" name="_csrf" value="${esc(csrf)}"><input type="hidden" name="next" value="${esc(next)}">
<label>用户名 <input name="username" autocomplete="username" required maxlength="40"></label>
<label>密码 <input name="password" type="password" autocomplete="current-password" required maxlength="200"></label>
<button type="submit">登录</button></form>`);
}

export function bannerHtml(b: Banner): string {
  const c = b.coverage;
  const cls = b.stalled ? 'banner stalled' : b.mode === 'history' ? 'banner history' : 'banner';
  const state = b.stalled ? `<strong>数据中断：${esc(b.stalled)}</strong>。列表为空不代表无线索。` : b.mode === 'history' ? '历史数据库（回填），非实时。' : '数据实时接入中。';
  return `<div class="${cls}" id="coverage">${state} 数据截至 <b>${esc(c.data_through?.slice(0, 16).replace('T', ' ') ?? '无')}</b>；
当日上报电表 <b>${c.meters_reporting}</b> / 登记 ${c.meters_registered}；监测整治场所 ${c.sites_watched} 处；已判定至 <b>${esc(c.closed_through || c.data_day || '—')}</b>。</div>`;
}

export interface ListPageInput {
  rows: DailyRow[];
  title: string;
  query: Record<string, string>;
  streets: string[];
  banner: Banner;
  who: Principal;
  csrf: string;
}

const qs = (q: Record<string, string>) => new URLSearchParams(Object.entries(q).filter(([, v]) => v !== '')).toString();

function select(name: string, label: string, options: [string, string][], value: string): string {
  // a value typed into the URL (days=60) is shown as it is, not as the first option
  if (value && !options.some(([v]) => v === value)) options = [...options, [value, value]];
  return `<label>${label}<select name="${name}">${options.map(([v, t]) => `<option value="${esc(v)}"${v === value ? ' selected' : ''}>${esc(t)}</option>`).join('')}</select></label>`;
}

export function listPage(p: ListPageInput): string {
  const q = p.query;
  const streetPicker = p.who.role === 'street' ? '' : select('street', '街道', [['', '全部街道'], ...p.streets.map((s) => [s, s] as [string, string])], q.street ?? '');
  const form = `<form class="filters" method="get" action="/list">
<label>截止日期<input type="date" name="date" value="${esc(q.date ?? '')}"></label>
${select('days', '范围（天）', [['1', '当日'], ['7', '一周（至周五）'], ['30', '30 天']], q.days ?? '1')}
<label>起始日期（可选）<input type="date" name="from" value="${esc(q.from ?? '')}"></label>
${streetPicker}
${select('family', '类型', [['', '全部'], ['workshop', '疑似散乱污生产'], ['site', '整治场所反弹']], q.family ?? '')}
${select('status', '核查状态', [['', '全部'], ['open', VERDICT_ZH.open], ['confirmed', VERDICT_ZH.confirmed], ['dismissed', VERDICT_ZH.dismissed], ['duplicate', VERDICT_ZH.duplicate]], q.status ?? '')}
<label>最低评分<input type="number" name="min_score" min="0" max="1" step="0.05" value="${esc(q.min_score ?? '')}"></label>
<button type="submit">查询</button></form>`;
  const dl = qs(q);
  const empty = p.banner.stalled ? `<p class="error">数据中断：无法判断本期是否有新线索（${esc(p.banner.stalled)}）。</p>` : `<p>${EMPTY_LIST}</p>`;
  return layout(p.title, p.who, `<h1>${esc(p.title)}</h1>${bannerHtml(p.banner)}${form}
<p>共 <b id="row-count">${p.rows.length}</b> 条 · 下载 <a id="dl-csv" href="/list.csv?${esc(dl)}">CSV</a> · <a id="dl-xlsx" href="/list.xlsx?${esc(dl)}">XLSX（附件1格式）</a></p>
${p.rows.length ? listTables(p.rows, (id) => `/cases/${encodeURIComponent(id)}`) : empty}`, p.csrf);
}

export interface CasePageInput {
  c: Case;
  chartSvg: string;
  evidence: string[];
  visit: { ranges: string[] };
  sites: { case_no: string; site_name: string; measure: string; status: string; power_cut_at: string | null; halt_ordered_at: string | null }[];
  revisions: CaseRevision[];
  verdicts: VerdictRecord[];
  canJudge: boolean;
  who: Principal;
  csrf: string;
  message?: string;
  error?: string;
}


export function casePage(p: CasePageInput): string {
  const c = p.c;
  const latest = p.verdicts.at(-1);
  const form = p.canJudge ? `<form class="verdict" method="post" action="/cases/${encodeURIComponent(c.case_id)}/verdict">
<input type="hidden" name="_csrf" value="${esc(p.csrf)}">
<fieldset><legend>现场核查结果</legend>
<label><input type="radio" name="verdict" value="confirmed" required> 属实（确认散乱污/反弹）</label>
<label><input type="radio" name="verdict" value="dismissed"> 不属实（核查排除）</label>
<label><input type="radio" name="verdict" value="duplicate"> 重复线索，同案件 <input name="duplicate_of" maxlength="80" placeholder="案件编号"></label>
<label>核查说明<textarea name="note" rows="3" maxlength="2000"></textarea></label>
<button type="submit">提交核查结果</button></fieldset></form>` : '<p class="muted">分析员账号只读，不能提交核查结果。</p>';
  return layout(`案件 ${c.case_id}`, p.who, `<h1>案件 ${esc(c.case_id)}</h1>
${p.message ? `<p class="ok" role="status">${esc(p.message)}</p>` : ''}${p.error ? `<p class="error" role="alert">${esc(p.error)}</p>` : ''}
<table id="case-facts"><tr><th>企业名称</th><td>${esc(c.account_name || '（未登记户名）')}</td><th>地址</th><td>${esc(c.address || '（未登记地址）')}</td></tr>
<tr><th>街道</th><td>${esc(c.street)}</td><th>电表</th><td>${esc(c.meter_id)}</td></tr>
<tr><th>存在问题类型</th><td>${esc(c.problem_type)}</td><th>评分</th><td>${c.score.toFixed(2)}</td></tr>
<tr><th>发现时间</th><td>${esc(isoMinute(c.detected_at))}</td><th>核查状态</th><td id="case-status">${esc(VERDICT_ZH[c.status])}${latest?.note ? `：${esc(latest.note)}` : ''}</td></tr></table>
<p>${esc(c.summary_zh)}</p>
<h2>建议核查时段</h2><p id="visit-hours">${p.visit.ranges.length ? `电表在 ${esc(p.visit.ranges.join('、'))} 用电最高，建议在此时段前往，设备多在运行。` : '无分时数据，按日电量判断；建议工作时段前往。'}</p>
<h2>用电图</h2><div class="chart">${p.chartSvg}</div>
<h2>证据</h2><ul class="evidence">${p.evidence.map((s) => `<li>${esc(s)}</li>`).join('')}</ul>
<h2>整治记录</h2><table id="enforcement"><tr><th>案件编号</th><th>名称</th><th>整治措施</th><th>整改情况</th><th>停电</th><th>责令停产</th></tr>
${p.sites.map((s) => `<tr><td>${esc(s.case_no)}</td><td>${esc(s.site_name)}</td><td>${esc(s.measure)}</td><td>${esc(s.status)}</td><td>${esc(isoMinute(s.power_cut_at))}</td><td>${esc(isoMinute(s.halt_ordered_at))}</td></tr>`).join('') || '<tr><td colspan="6">无</td></tr>'}</table>
<h2>核查记录</h2><table id="verdicts"><tr><th>时间</th><th>结果</th><th>说明</th><th>核查人</th></tr>
${p.verdicts.map((v) => `<tr><td>${esc(isoMinute(v.given_at))}</td><td>${esc(VERDICT_ZH[v.verdict])}${v.duplicate_of ? `（同 ${esc(v.duplicate_of)}）` : ''}</td><td>${esc(v.note ?? '')}</td><td>${esc(v.given_by ?? '')}</td></tr>`).join('') || '<tr><td colspan="4">尚未核查</td></tr>'}</table>
${form}
<h2>案件修订</h2><table id="revisions"><tr><th>版本</th><th>评分</th><th>发现时间</th><th>证据截至</th><th>说明</th></tr>
${p.revisions.map((r) => `<tr><td>${r.revision}</td><td>${r.score.toFixed(2)}</td><td>${esc(isoMinute(r.detected_at))}</td><td>${esc(isoMinute(r.window_end))}</td><td>${esc(r.summary_zh)}</td></tr>`).join('')}</table>`, p.csrf);
}

/** `notices`: deliveries failing, for district and analyst accounts. */
export function backlogPage(b: { cases: BacklogCase[]; streets: StreetClosure[] }, banner: Banner, who: Principal, csrf: string, notices: readonly string[] = []): string {
  return layout('待核查', who, `<h1>待核查线索</h1>${bannerHtml(banner)}
${notices.length ? `<div class="banner stalled" id="delivery">${notices.map((n) => `<p>${esc(n)}</p>`).join('')}</div>` : ''}<h2>各街道闭环率</h2><table id="closure"><tr><th>街道</th><th>线索</th><th>已核查</th><th>待核查</th><th>闭环率</th><th>最久未核查（天）</th></tr>
${b.streets.map((s) => `<tr><td>${esc(s.street)}</td><td>${s.cases}</td><td>${s.verified}</td><td>${s.open}</td><td>${(s.closure_rate * 100).toFixed(0)}%</td><td>${s.oldest_open_days ?? '—'}</td></tr>`).join('') || '<tr><td colspan="6">无</td></tr>'}</table>
<h2>未核查（最早的在前）</h2><table id="backlog"><tr><th>案件编号</th><th>街道</th><th>存在问题类型</th><th>评分</th><th>发现时间</th><th>已等待（天）</th></tr>
${b.cases.map((c) => `<tr><td><a href="/cases/${encodeURIComponent(c.case_id)}">${esc(c.case_id)}</a></td><td>${esc(c.street)}</td><td>${esc(c.problem_type)}</td><td>${c.score.toFixed(2)}</td><td>${esc(isoMinute(c.detected_at))}</td><td>${c.age_days}</td></tr>`).join('') || '<tr><td colspan="6">无待核查线索</td></tr>'}</table>`, csrf);
}

export function quarterlyPage(quarter: string, rows: QuarterCounts[], who: Principal, csrf: string): string {
  return layout(`${quarter} 季度调度`, who, `<h1>综合整治情况季度调度表（附件2）— ${esc(quarter)}</h1>
<form class="filters" method="get" action="/quarterly"><label>季度<input name="quarter" value="${esc(quarter)}" pattern="\\d{4}Q[1-4]"></label><button>查询</button></form>
<table id="quarterly"><tr><th>序号</th><th>街道（镇）、管委会</th><th>摸排开展情况（电力数据筛查）</th><th>巩固整治成果</th></tr>
${rows.map((r, i) => { const t = quarterlyText(r); return `<tr><td>${i + 1}</td><td>${esc(r.street)}</td><td>${esc(t.leads)}</td><td>${esc(t.rebounds)}</td></tr>`; }).join('') || '<tr><td colspan="4">本季度无数据</td></tr>'}</table>`, csrf);
}

export function errorPage(status: number, message: string, who?: Principal, csrf?: string): string {
  return layout(`${status}`, who, `<h1>${status}</h1><p class="error" role="alert">${esc(message)}</p><p><a href="/list">返回排查明细表</a></p>`, csrf);
}

