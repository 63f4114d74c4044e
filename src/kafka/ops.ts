/** /healthz and /metrics (Prometheus text) for operators. */
import { createServer, type Server } from 'node:http';

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

export function startOpsServer(port: number, m: Metrics, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      const h = m.healthy();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: h.ok ? 'ok' : 'unhealthy', ...h.detail }));
    } else if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(renderMetrics(m));
    } else {
      res.writeHead(404).end('not found: try /healthz or /metrics\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
