/**
 * One meter explained: its series (15-min and daily), baseline band, peer percentile, change
 * points, enforcement history and cases — as data (JSON) and as a self-contained SVG/HTML page
 * (no network fetches at view time). Pure: the caller gathers the data.
 */
import { median, medianAbsoluteDeviation } from 'simple-statistics';
import { binarySegmentation, type ChangePoint } from '../core/changepoints.js';
import type { ExplainData } from '../core/types.js';

export type { ExplainData };


export interface Explanation extends ExplainData {
  band: { day: string; median: number; low: number; high: number }[];
  change_points: (Omit<ChangePoint, 'index'> & { day: string })[];
}

/** Trailing 28-day median ± 3·MAD band, and change points of the daily series. */
export function explain(d: ExplainData): Explanation {
  const band = d.daily.map((x, i) => {
    const w = d.daily.slice(Math.max(0, i - 28), i).map((y) => y.kwh);
    if (w.length < 7) return { day: x.day, median: NaN, low: NaN, high: NaN };
    const m = median(w), mad = medianAbsoluteDeviation(w) * 1.4826;
    return { day: x.day, median: m, low: Math.max(0, m - 3 * mad), high: m + 3 * mad };
  }).filter((b) => Number.isFinite(b.median));
  const cps = binarySegmentation(d.daily.map((x) => x.kwh)).map(({ index, ...c }) => ({ ...c, day: d.daily[index]!.day }));
  return { ...d, band, change_points: cps };
}

const esc = (s: unknown) => String(s ?? '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const r1 = (x: number) => (Math.round(x * 10) / 10).toString();

/** Two panels: daily kWh with band, change points, enforcement and case markers; recent 15-min kW. */
export function renderSvg(e: Explanation): string {
  const W = 960, H = 520, L = 60, R = 20, top1 = 40, h1 = 260, top2 = 360, h2 = 120;
  const days = e.daily.map((x) => Date.parse(x.day));
  const t0 = Math.min(...days, Date.now()), t1 = Math.max(...days, t0 + 86_400_000) + 86_400_000;
  const x = (t: number) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const maxKwh = Math.max(1, ...e.daily.map((d) => d.kwh), ...e.band.map((b) => b.high)) * 1.1;
  const y1 = (v: number) => top1 + h1 - (v / maxKwh) * h1;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11" role="img" aria-label="meter ${esc(e.meter?.meter_id ?? '')}">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${L}" y="20" font-size="14" font-weight="bold">${esc(e.meter?.meter_id ?? '')} ${esc(e.meter?.account_name ?? '')} — 日用电量 (kWh/day)</text>`);
  // axes and grid
  for (let i = 0; i <= 4; i++) {
    const v = (maxKwh / 4) * i;
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y1(v)}" y2="${y1(v)}" stroke="#eee"/><text x="${L - 6}" y="${y1(v) + 4}" text-anchor="end" fill="#555">${r1(v)}</text>`);
  }
  for (let t = t0; t < t1; t += 7 * 86_400_000) parts.push(`<text x="${x(t)}" y="${top1 + h1 + 14}" text-anchor="middle" fill="#555">${new Date(t).toISOString().slice(5, 10)}</text>`);
  // baseline band
  if (e.band.length) {
    const upper = e.band.map((b) => `${x(Date.parse(b.day) + 43_200_000)},${y1(b.high)}`);
    const lower = [...e.band].reverse().map((b) => `${x(Date.parse(b.day) + 43_200_000)},${y1(b.low)}`);
    parts.push(`<polygon class="baseline-band" points="${[...upper, ...lower].join(' ')}" fill="#cfe3ff" opacity="0.7"><title>baseline: trailing 28-day median ± 3 MAD</title></polygon>`);
    parts.push(`<polyline class="baseline-median" fill="none" stroke="#6b9bd1" stroke-dasharray="4 3" points="${e.band.map((b) => `${x(Date.parse(b.day) + 43_200_000)},${y1(b.median)}`).join(' ')}"/>`);
  }
  parts.push(`<polyline class="daily-series" fill="none" stroke="#1f4e9a" stroke-width="1.8" points="${e.daily.map((d) => `${x(Date.parse(d.day) + 43_200_000)},${y1(d.kwh)}`).join(' ')}"/>`);
  for (const d of e.daily) parts.push(`<circle cx="${x(Date.parse(d.day) + 43_200_000)}" cy="${y1(d.kwh)}" r="1.8" fill="#1f4e9a"><title>${d.day}: ${r1(d.kwh)} kWh</title></circle>`);
  // enforcement history
  for (const s of e.sites) {
    for (const [t, label, color] of [[s.power_cut_at, `停电 ${s.case_no}`, '#c0392b'], [s.halt_ordered_at, `责令停产 ${s.case_no}`, '#d35400']] as const) {
      if (!t) continue;
      const px = x(Date.parse(t.slice(0, 19) + 'Z'));
      parts.push(`<line class="enforcement" x1="${px}" x2="${px}" y1="${top1}" y2="${top1 + h1}" stroke="${color}" stroke-width="1.5"/><text x="${px + 3}" y="${top1 + 10}" fill="${color}">${esc(label)}</text>`);
    }
  }
  // change points
  for (const c of e.change_points) {
    const px = x(Date.parse(c.day));
    parts.push(`<line class="change-point" x1="${px}" x2="${px}" y1="${top1}" y2="${top1 + h1}" stroke="#8e44ad" stroke-dasharray="2 2"/><text class="change-point-label" x="${px + 3}" y="${top1 + 24}" fill="#8e44ad">${c.direction === 'up' ? '▲' : '▼'} ${c.day.slice(5)} ${c.magnitude >= 0 ? '+' : ''}${r1(c.magnitude)} kWh/d</text>`);
  }
  // cases
  for (const c of e.cases) {
    const px = x(Date.parse(c.detected_at.slice(0, 19) + 'Z'));
    parts.push(`<path class="case-marker" d="M${px - 6},${top1 + h1 + 22} L${px + 6},${top1 + h1 + 22} L${px},${top1 + h1 + 12} Z" fill="#e67e22"><title>${esc(c.case_id)} ${esc(c.detector)} ${esc(c.summary_zh)}</title></path>`);
  }
  // recent full-resolution panel
  parts.push(`<text x="${L}" y="${top2 - 12}" font-size="13" font-weight="bold">最近 ${e.recent.length ? Math.round((Date.parse(e.recent.at(-1)!.ts.slice(0, 19) + 'Z') - Date.parse(e.recent[0]!.ts.slice(0, 19) + 'Z')) / 86_400_000) : 0} 天负荷 (kW)</text>`);
  if (e.recent.length) {
    const r0 = Date.parse(e.recent[0]!.ts.slice(0, 19) + 'Z'), rN = Date.parse(e.recent.at(-1)!.ts.slice(0, 19) + 'Z') + 1;
    const maxKw = Math.max(0.5, ...e.recent.map((p) => p.kw)) * 1.1;
    const xr = (t: number) => L + ((t - r0) / (rN - r0)) * (W - L - R);
    const y2 = (v: number) => top2 + h2 - (v / maxKw) * h2;
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${top2 + h2}" y2="${top2 + h2}" stroke="#999"/><text x="${L - 6}" y="${top2 + 4}" text-anchor="end" fill="#555">${r1(maxKw)}</text>`);
    parts.push(`<polyline class="recent-series" fill="none" stroke="#16a085" stroke-width="1" points="${e.recent.map((p) => `${r1(xr(Date.parse(p.ts.slice(0, 19) + 'Z')))},${r1(y2(p.kw))}`).join(' ')}"/>`);
  } else parts.push(`<text x="${L}" y="${top2 + 40}" fill="#999">无分时数据（日电量表计）</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

export function renderHtml(e: Explanation): string {
  const m = e.meter;
  const peer = e.peer.percentile === null ? '—' : `第 ${Math.round(e.peer.percentile * 100)} 百分位（同街道同类 ${e.peer.peers} 户；本户近 28 日日均 ${r1(e.peer.meter_kwh_day ?? 0)} kWh，同类中位 ${r1(e.peer.peer_median_kwh_day ?? 0)} kWh）`;
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
${e.cases.map((c) => `<tr><td>${esc(c.case_id)}</td><td>${esc(c.detector)}</td><td>${esc(c.detected_at)}</td><td>${c.score.toFixed(2)}</td><td>${esc(c.status)}</td><td>${esc(c.summary_zh)}</td><td><code>${esc(JSON.stringify(c.evidence))}</code></td></tr>`).join('\n') || '<tr><td colspan="7">无</td></tr>'}</table>
</body></html>
`;
}
