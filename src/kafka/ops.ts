/** /healthz and /metrics (Prometheus text) for operators; served by the console (src/console/app.ts). */

export interface Metrics {
  counters: Record<string, number>;
  gauges: Record<string, Record<string, number>>; // name → label value → number
  healthy: () => { ok: boolean; detail: Record<string, unknown> };
}

export function renderMetrics(m: Metrics): string {
  const lines: string[] = [];
  for (const [name, v] of Object.entries(m.counters)) {
    lines.push(`# TYPE powerscreen_${name} counter`, `powerscreen_${name} ${v}`);
  }
  for (const [name, byLabel] of Object.entries(m.gauges)) {
    lines.push(`# TYPE powerscreen_${name} gauge`);
    for (const [label, v] of Object.entries(byLabel)) lines.push(label ? `powerscreen_${name}{partition="${label}"} ${v}` : `powerscreen_${name} ${v}`);
  }
  return lines.join('\n') + '\n';
}
