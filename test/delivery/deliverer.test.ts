/**
 * E-mail delivery against a real SMTP server (smtp-server, listening on a socket) and a webhook
 * against a real HTTP server: each street's list arrives once with the right rows attached, also
 * across a restart; a failed send is retried and delivered later; Fridays bring the weekly table (./plan.test.ts).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import type { ParsedMail } from 'mailparser';
import ExcelJS from 'exceljs';
import { pino } from 'pino';
import { tempDir } from '../helpers.js';
import { backfillSmallDistrict, startSmtp, type RunningSmtp } from '../support/delivery.js';
import { openDb, serialQueue, type Db } from '../../src/store/db.js';
import { parsePipeline } from '../../src/config/pipeline.js';
import { Deliverer, transportsFor } from '../../src/delivery/deliverer.js';
import { freePort } from '../../src/kafka/localBroker.js';
import { parseLocalMs } from '../../src/time.js';

const tmp = tempDir();
const dbPath = join(tmp.dir, 'd.duckdb');
let db: Db;
const mails: ParsedMail[] = [];
let smtp: RunningSmtp;
let smtpPort = 0;

const pipelineWith = (port: number, extra: Record<string, unknown> = {}) => parsePipeline({
  delivery: { time: '07:30', smtp: { host: '127.0.0.1', port, from: 'powerscreen@district.example' }, recipients: { 鼓东街道: ['gudong@street.example'], '*': ['office@district.example'] }, ...extra },
});
const at = (iso: string) => () => parseLocalMs(iso)!;
const deliverer = async (port: number, now: () => number, extra: Record<string, unknown> = {}) => {
  const pipeline = pipelineWith(port, extra);
  const serial = serialQueue();
  return new Deliverer({ pipeline, withDb: (fn) => serial(() => fn(db)), transports: await transportsFor(pipeline, { POWERSCREEN_WEBHOOK_SECRET: 'hook-secret' }), log: pino({ level: 'silent' }), now });
};
const xlsxRows = async (m: ParsedMail) => {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(m.attachments[0]!.content as unknown as ArrayBuffer);
  const ws = wb.worksheets[0]!;
  const out: string[][] = [];
  for (let y = 4; y <= ws.rowCount; y++) out.push((ws.getRow(y).values as unknown[]).slice(1).map(String));
  return out;
};

beforeAll(async () => {
  await backfillSmallDistrict(dbPath);
  db = await openDb(dbPath);
  smtpPort = await freePort();
  smtp = await startSmtp(smtpPort, mails);
}, 120_000);
afterAll(async () => { await smtp.close(); db?.close(); tmp.cleanup(); });

describe('delivery by e-mail', () => {
  it('nothing before the configured time; then the street gets its list once, with the rows attached, also after a restart', async () => {
    await (await deliverer(smtpPort, at('2026-10-21T07:00:00+08:00'))).tick();
    expect(mails).toHaveLength(0);
    const d = await deliverer(smtpPort, at('2026-10-21T07:31:00+08:00'));
    await d.tick();
    expect(mails).toHaveLength(1);
    const m = mails[0]!;
    expect((Array.isArray(m.to) ? m.to : [m.to!]).flatMap((t) => t.value.map((v) => v.address)).sort()).toEqual(['gudong@street.example', 'office@district.example']);
    expect(m.subject).toBe('【电力数据筛查】鼓东街道 新线索（2026-10-20） 1 条');
    expect(m.attachments[0]!.filename).toBe('排查明细表-鼓东街道-2026-10-20.xlsx');
    const rows = await xlsxRows(m);
    expect(rows).toHaveLength(1);
    expect(rows[0]![2]).toBe('鼓东街道');
    expect(rows[0]![4]).toMatch(/^PS-20261020-/);
    expect(m.text).toContain(rows[0]![4]);
    // the same tick again, and a fresh deliverer (a restart) later that day: nothing sent twice
    await d.tick();
    await (await deliverer(smtpPort, at('2026-10-21T09:00:00+08:00'))).tick();
    expect(mails).toHaveLength(1);
  });

  it('a failed send is retried with backoff and delivered once the server is back; failures are counted and shown', async () => {
    mails.length = 0;
    await db.con.run('delete from deliveries'); // the same day again, from scratch
    const down = await freePort();
    const d1 = await deliverer(down, at('2026-10-21T07:31:00+08:00'));
    await d1.tick();
    expect(d1.failures).toBe(1);
    expect(d1.notices.join('\n')).toMatch(/2026-10-20 鼓东街道 日报（邮件）发送失败 1 次，将重试/);
    // before the retry time nothing is tried; after it, with the server back, it goes out once
    const d2 = await deliverer(down, at('2026-10-21T07:31:30+08:00'));
    await d2.tick();
    expect(d2.failures).toBe(0);
    const d3 = await deliverer(smtpPort, at('2026-10-21T07:35:00+08:00'));
    await d3.tick();
    expect(d3.sent).toBe(1);
    expect(d3.notices).toEqual([]);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe('【电力数据筛查】鼓东街道 新线索（2026-10-20） 1 条');
    expect(await xlsxRows(mails[0]!)).toHaveLength(1);
  });

  it('a webhook gets the list as signed JSON', async () => {
    const got: { body: string; sig: string }[] = [];
    const port = await freePort();
    const http = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => { got.push({ body, sig: String(req.headers['x-powerscreen-signature']) }); res.writeHead(204).end(); });
    });
    await new Promise<void>((r) => http.listen(port, '127.0.0.1', () => r()));
    try {
      await db.con.run('delete from deliveries');
      const d = await deliverer(smtpPort, at('2026-10-21T08:00:00+08:00'), { webhook: { url: `http://127.0.0.1:${port}/hook` } });
      await d.tick();
      expect(got).toHaveLength(1);
      expect(d.sent).toBe(2); // e-mail and webhook, each once
      const j = JSON.parse(got[0]!.body);
      expect(j).toMatchObject({ kind: 'daily', day: '2026-10-20', street: '鼓东街道' });
      expect(j.rows).toHaveLength(1);
      expect(got[0]!.sig).toBe(`sha256=${createHmac('sha256', 'hook-secret').update(got[0]!.body).digest('hex')}`);
    } finally {
      http.close();
    }
  });
});
