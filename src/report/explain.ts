/**
 * One meter explained: its series (15-min and daily), baseline band, peer percentile, change
 * points, enforcement history and cases — as data (JSON) and as a self-contained SVG/HTML page
 * (no network fetches at view time). Pure: the caller gathers the data.
 */
import { median, medianAbsoluteDeviation } from 'simple-statistics';
import { binarySegmentation, type ChangePoint } from '../core/changepoints.js';
import type { ExplainData } from '../core/types.js';
import { evidenceSentences } from './evidence.js';

export type { ExplainData };


export interface Explanation extends ExplainData {
  band: { day: string; median: number; low: number; high: number }[];
  change_points: (Omit<ChangePoint, 'index'> & { day: string })[];
}

/**
 * Trailing 28-day median ± 3·MAD band, and change points of the daily series. The band's window
 * starts afresh at every change point and power cut: a window straddling a step would mix two
 * levels and balloon, hiding the very change it is drawn to show. A new regime has no band until
 * it has 7 days of its own.
 */
export function explain(d: ExplainData): Explanation {
  const cps = binarySegmentation(d.daily.map((x) => x.kwh)).map(({ index, ...c }) => ({ ...c, day: d.daily[index]!.day, index }));
  const cuts = d.sites.flatMap((s) => [s.power_cut_at, s.halt_ordered_at]).filter((t): t is string => !!t).map((t) => t.slice(0, 10));
  const regimeStart = (i: number) => {
    const day = d.daily[i]!.day;
    let from = 0;
    for (const c of cps) if (c.index <= i && c.index > from) from = c.index;
    for (const t of cuts) if (t < day) from = Math.max(from, d.daily.findIndex((x) => x.day > t));
    return from;
  };
  const band = d.daily.map((x, i) => {
    const w = d.daily.slice(Math.max(0, i - 28, regimeStart(i)), i).map((y) => y.kwh);
    if (w.length < 7) return { day: x.day, median: NaN, low: NaN, high: NaN };
    const m = median(w), mad = medianAbsoluteDeviation(w) * 1.4826;
    return { day: x.day, median: m, low: Math.max(0, m - 3 * mad), high: m + 3 * mad };
  }).filter((b) => Number.isFinite(b.median));
  return { ...d, band, change_points: cps.map(({ index: _, ...c }) => c) };
}

/** A round axis: the smallest step of 1, 2, 2.5 or 5 × 10^k that covers max in at most ticks + 1 intervals. */
export function niceAxis(max: number, ticks = 4): { step: number; top: number } {
  const m = Math.max(max, 1e-9);
  const p = 10 ** Math.floor(Math.log10(m / ticks));
  const step = [0.1, 1, 10].flatMap((k) => [1, 2, 2.5, 5].map((f) => f * k * p)).find((v) => Math.ceil(m / v - 1e-9) <= ticks + 1)!;
  return { step, top: Math.ceil(m / step - 1e-9) * step };
}

/** A text's width at 11 px sans-serif, estimated: charPx a Latin character, twice that a CJK one. */
function textWidth(text: string, charPx: number): number {
  return [...text].reduce((w, ch) => w + (ch.charCodeAt(0) > 0x2e80 ? 2 : 1), 0) * charPx;
}

/**
 * Rows for labels along an axis so none overlaps: each label goes in the first row whose last
 * label ends left of it. Widths are estimated from the character count (CJK counted double).
 */
export function labelRows(labels: readonly { x: number; text: string }[], charPx = 6.2): number[] {
  const ends: number[] = [];
  return labels.map((l) => {
    const width = textWidth(l.text, charPx) + 6;
    let row = ends.findIndex((e) => e <= l.x);
    if (row < 0) row = ends.push(0) - 1;
    ends[row] = l.x + width;
    return row;
  });
}

const esc = (s: unknown) => String(s ?? '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const r1 = (x: number) => (Math.round(x * 10) / 10).toString();
const tick = (v: number, step: number) => (step >= 1 ? String(Math.round(v)) : v.toFixed(step >= 0.1 ? 1 : 2));

/** Two panels: daily kWh with band, change points, enforcement and case markers; recent 15-min kW. */
export function renderSvg(e: Explanation): string {
  const W = 960, H = 530, L = 60, R = 20, top1 = 50, h1 = 260, top2 = 370, h2 = 120;
  const days = e.daily.map((x) => Date.parse(x.day));
  const t0 = Math.min(...days, Date.now()), t1 = Math.max(...days, t0 + 86_400_000) + 86_400_000;
  const x = (t: number) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const axis = niceAxis(Math.max(1, ...e.daily.map((d) => d.kwh)) * 1.05);
  const maxKwh = axis.top;
  // the band is clipped to the axis: the series sets the scale, not the band's upper edge
  const y1 = (v: number) => top1 + h1 - (Math.min(v, maxKwh) / maxKwh) * h1;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11" role="img" aria-label="meter ${esc(e.meter?.meter_id ?? '')}">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${L}" y="20" font-size="14" font-weight="bold">${esc(e.meter?.meter_id ?? '')} ${esc(e.meter?.account_name ?? '')} — 日用电量 (kWh/日)</text>`);
  const legend: [string, string][] = [
    ['<line x1="0" x2="16" y1="0" y2="0" stroke="#1f4e9a" stroke-width="1.8"/>', '日用电量'],
    ['<rect x="0" y="-5" width="16" height="10" fill="#cfe3ff"/><line x1="0" x2="16" y1="0" y2="0" stroke="#6b9bd1" stroke-dasharray="4 3"/>', '基线（近28日中位 ± 3倍MAD）'],
    ['<line x1="8" x2="8" y1="-6" y2="6" stroke="#8e44ad" stroke-dasharray="2 2"/>', '用电变化点'],
    ['<line x1="8" x2="8" y1="-6" y2="6" stroke="#c0392b" stroke-width="1.5"/>', '停电/责令停产'],
    ['<path d="M2,5 L14,5 L8,-5 Z" fill="#e67e22"/>', '线索发现'],
  ];
  // legend, on its own line under the title (a long account name must not run into it)
  let lx = L;
  const legendParts: string[] = [];
  for (const [sym, text] of legend) {
    legendParts.push(`<g transform="translate(${lx},36)">${sym}<text x="22" y="4" fill="#333">${esc(text)}</text></g>`);
    lx += 22 + textWidth(text, 5.5) + 18;
  }
  parts.push(`<g class="legend">${legendParts.join('')}</g>`);
  // axes and grid, on round values
  for (let v = 0; v <= maxKwh + 1e-9; v += axis.step) {
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y1(v)}" y2="${y1(v)}" stroke="#eee"/><text class="y-tick" x="${L - 6}" y="${y1(v) + 4}" text-anchor="end" fill="#555">${tick(v, axis.step)}</text>`);
  }
  for (let t = t0; t < t1; t += 7 * 86_400_000) parts.push(`<text x="${x(t)}" y="${top1 + h1 + 14}" text-anchor="middle" fill="#555">${new Date(t).toISOString().slice(5, 10)}</text>`);
  // baseline band
  // one polygon per run of consecutive days: no band is drawn across a regime's first week
  const runs: Explanation['band'][] = [];
  e.band.forEach((b, i) => {
    if (i && Date.parse(b.day) - Date.parse(e.band[i - 1]!.day) <= 86_400_000) runs.at(-1)!.push(b);
    else runs.push([b]);
  });
  for (const run of runs) {
    const upper = run.map((b) => `${x(Date.parse(b.day) + 43_200_000)},${y1(b.high)}`);
    const lower = [...run].reverse().map((b) => `${x(Date.parse(b.day) + 43_200_000)},${y1(b.low)}`);
    parts.push(`<polygon class="baseline-band" points="${[...upper, ...lower].join(' ')}" fill="#cfe3ff" opacity="0.7"><title>基线：近28日中位 ± 3倍MAD（变化点、停电后重新起算）</title></polygon>`);
    parts.push(`<polyline class="baseline-median" fill="none" stroke="#6b9bd1" stroke-dasharray="4 3" points="${run.map((b) => `${x(Date.parse(b.day) + 43_200_000)},${y1(b.median)}`).join(' ')}"/>`);
  }
  parts.push(`<polyline class="daily-series" fill="none" stroke="#1f4e9a" stroke-width="1.8" points="${e.daily.map((d) => `${x(Date.parse(d.day) + 43_200_000)},${y1(d.kwh)}`).join(' ')}"/>`);
  for (const d of e.daily) parts.push(`<circle cx="${x(Date.parse(d.day) + 43_200_000)}" cy="${y1(d.kwh)}" r="1.8" fill="#1f4e9a"><title>${d.day}: ${r1(d.kwh)} kWh</title></circle>`);
  // enforcement and change points: lines, and labels stacked in rows so none covers another
  const marks: { px: number; text: string; line: string; label: string }[] = [];
  for (const s of e.sites) {
    for (const [t, text, color] of [[s.power_cut_at, `停电 ${s.case_no}`, '#c0392b'], [s.halt_ordered_at, `责令停产 ${s.case_no}`, '#d35400']] as const) {
      if (!t) continue;
      const px = x(Date.parse(t.slice(0, 19) + 'Z'));
      marks.push({ px, text, line: `<line class="enforcement" x1="${px}" x2="${px}" y1="${top1}" y2="${top1 + h1}" stroke="${color}" stroke-width="1.5"/>`, label: `class="enforcement-label" fill="${color}"` });
    }
  }
  for (const c of e.change_points) {
    const px = x(Date.parse(c.day));
    marks.push({ px, text: `${c.direction === 'up' ? '▲' : '▼'} ${c.day.slice(5)} ${c.magnitude >= 0 ? '+' : ''}${r1(c.magnitude)} kWh/日`, line: `<line class="change-point" x1="${px}" x2="${px}" y1="${top1}" y2="${top1 + h1}" stroke="#8e44ad" stroke-dasharray="2 2"/>`, label: 'class="change-point-label" fill="#8e44ad"' });
  }
  marks.sort((a, b) => a.px - b.px);
  const rows = labelRows(marks.map((m) => ({ x: m.px + 3, text: m.text })));
  marks.forEach((m, i) => parts.push(`${m.line}<text ${m.label} x="${m.px + 3}" y="${top1 + 12 + rows[i]! * 13}" stroke="white" stroke-width="3" paint-order="stroke">${esc(m.text)}</text>`));
  // cases
  for (const c of e.cases) {
    const px = x(Date.parse(c.detected_at.slice(0, 19) + 'Z'));
    parts.push(`<path class="case-marker" d="M${px - 6},${top1 + h1 + 22} L${px + 6},${top1 + h1 + 22} L${px},${top1 + h1 + 12} Z" fill="#e67e22"><title>${esc(c.case_id)} ${esc(c.detector)} ${esc(c.summary_zh)}</title></path>`);
  }
  // recent full-resolution panel
  parts.push(`<text x="${L}" y="${top2 - 12}" font-size="13" font-weight="bold">最近 ${e.recent.length ? Math.round((Date.parse(e.recent.at(-1)!.ts.slice(0, 19) + 'Z') - Date.parse(e.recent[0]!.ts.slice(0, 19) + 'Z')) / 86_400_000) : 0} 天负荷 (kW)</text>`);
  if (e.recent.length) {
    const r0 = Date.parse(e.recent[0]!.ts.slice(0, 19) + 'Z'), rN = Date.parse(e.recent.at(-1)!.ts.slice(0, 19) + 'Z') + 1;
    const kwAxis = niceAxis(Math.max(0.5, ...e.recent.map((p) => p.kw)) * 1.05, 2);
    const maxKw = kwAxis.top;
    const xr = (t: number) => L + ((t - r0) / (rN - r0)) * (W - L - R);
    const y2 = (v: number) => top2 + h2 - (v / maxKw) * h2;
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${top2 + h2}" y2="${top2 + h2}" stroke="#999"/>`);
    for (let v = 0; v <= maxKw + 1e-9; v += kwAxis.step) parts.push(`<line x1="${L}" x2="${W - R}" y1="${y2(v)}" y2="${y2(v)}" stroke="#eee"/><text class="y-tick" x="${L - 6}" y="${y2(v) + 4}" text-anchor="end" fill="#555">${tick(v, kwAxis.step)}</text>`);
    parts.push(`<polyline class="recent-series" fill="none" stroke="#16a085" stroke-width="1" points="${e.recent.map((p) => `${r1(xr(Date.parse(p.ts.slice(0, 19) + 'Z')))},${r1(y2(p.kw))}`).join(' ')}"/>`);
  } else parts.push(`<text x="${L}" y="${top2 + 40}" fill="#999">无分时数据（日电量表计）</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

export function renderHtml(e: Explanation): string {
  const m = e.meter;
  const peer = e.peer.percentile === null ? '—' : `第 ${Math.round(e.peer.percentile * 100)} 百分位（${e.peer.scope}同类 ${e.peer.peers} 户；本户近 28 日日均 ${r1(e.peer.meter_kwh_day ?? 0)} kWh，同类中位 ${r1(e.peer.peer_median_kwh_day ?? 0)} kWh）`;
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>电表 ${esc(m?.meter_id ?? '')} 用电说明</title>
<style>body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:1.5em;max-width:1000px}table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}td,th{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}th{background:#f0f0f0}</style></head><body>
<h1>电表 ${esc(m?.meter_id ?? '')} ${esc(m?.account_name ?? '')}</h1>
<p>${esc(m?.address ?? '')} · ${esc(m?.street ?? '')} · 类别 ${esc(m?.category ?? '未登记')} · 合同容量 ${m?.contract_kva ?? '—'} kVA</p>
<p>同类对比：${esc(peer)}</p>
${renderSvg(e)}
<h2>用电变化点</h2>
<table id="change-points"><tr><th>日期</th><th>方向</th><th>之前日均 kWh</th><th>之后日均 kWh</th><th>变化</th></tr>
${e.change_points.map((c) => `<tr><td>${c.day}</td><td>${c.direction === 'up' ? '上升' : '下降'}</td><td>${r1(c.before)}</td><td>${r1(c.after)}</td><td>${c.magnitude >= 0 ? '+' : ''}${r1(c.magnitude)}</td></tr>`).join('\n') || '<tr><td colspan="5">无</td></tr>'}</table>
<h2>整治记录</h2>
<table id="enforcement"><tr><th>案件编号</th><th>名称</th><th>整治措施</th><th>整改情况</th><th>停电</th><th>责令停产</th></tr>
${e.sites.map((s) => `<tr><td>${esc(s.case_no)}</td><td>${esc(s.site_name)}</td><td>${esc(s.measure)}</td><td>${esc(s.status)}</td><td>${esc(s.power_cut_at ?? '')}</td><td>${esc(s.halt_ordered_at ?? '')}</td></tr>`).join('\n') || '<tr><td colspan="6">无</td></tr>'}</table>
<h2>线索（案件）</h2>
<table id="cases"><tr><th>案件编号</th><th>检测</th><th>发现时间</th><th>评分</th><th>状态</th><th>说明</th><th>证据</th></tr>
${e.cases.map((c) => `<tr><td>${esc(c.case_id)}</td><td>${esc(c.detector)}</td><td>${esc(c.detected_at)}</td><td>${c.score.toFixed(2)}</td><td>${esc(c.status)}</td><td>${esc(c.summary_zh)}</td><td>${evidenceSentences(c).map(esc).join('<br>')}</td></tr>`).join('\n') || '<tr><td colspan="7">无</td></tr>'}</table>
</body></html>
`;
}
