/**
 * Sends each street its new leads at the configured time (and on Fridays the week's 附件1 table):
 * by e-mail with the XLSX attached, and optionally to a webhook (JSON, HMAC-signed). Every list
 * is a row in the `deliveries` table before anything is sent, so a restart neither loses nor
 * repeats a day; a failed send is retried with backoff and shown on /metrics and the console.
 * (A crash after the SMTP server accepted a message but before it is marked sent repeats that
 * one message at the next start: at-least-once, never lost.)
 */
import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { Pipeline } from '../config/pipeline.js';
import type { Db } from '../store/db.js';
import { suspectList } from '../report/dailyList.js';
import { renderXlsx } from '../report/xlsx.js';
import { DAILY_COLUMNS } from '../report/daily.js';
import { knownStreets } from '../store/districtStats.js';
import { dataWatermarkMs } from '../store/readingStore.js';
import { dueDeliveries, failingDeliveries, isPlanned, markFailed, markSent, planDeliveries, type DeliveryRow } from '../store/deliveries.js';
import { dueLists, listDays, retryDelayMin, type Channel } from './plan.js';
import { MINUTE_MS, nowLocalMs, parseDate } from '../time.js';

export interface MailMessage { to: string[]; subject: string; text: string; attachments: { filename: string; content: Buffer }[] }

export interface Transports {
  email?: (m: MailMessage) => Promise<void>;
  webhook?: (body: string, signature: string) => Promise<void>;
  webhookSecret?: string;
}

export class Deliverer {
  sent = 0;
  failures = 0;
  /** Lines for the console: deliveries that failed and are being retried or were given up. */
  notices: string[] = [];

  constructor(private readonly o: {
    pipeline: Pipeline; withDb: <T>(fn: (db: Db) => Promise<T>) => Promise<T>; transports: Transports; log: Logger; now?: () => number;
  }) {}

  private get cfg() { return this.o.pipeline.delivery; }
  private channels(): Channel[] {
    return [...(this.o.transports.email ? ['email' as const] : []), ...(this.o.transports.webhook ? ['webhook' as const] : [])];
  }

  private recipients(street: string): string[] {
    return [...new Set([...(this.cfg.recipients[street] ?? []), ...(this.cfg.recipients['*'] ?? [])])];
  }

  /** Plan what is due (once the data covers the day), then send what is unsent and due. */
  async tick(): Promise<void> {
    const now = (this.o.now ?? nowLocalMs)();
    const channels = this.channels();
    if (!channels.length) return;
    const streets = await this.o.withDb((db) => knownStreets(db));
    // the data must reach the day: a stalled feed sends nothing rather than an empty list
    const watermark = await this.o.withDb((db) => dataWatermarkMs(db));
    const planned = dueLists(now, this.cfg.time, streets, channels)
      .filter((p) => (p.channel === 'webhook' || this.recipients(p.street).length > 0) && watermark !== undefined && watermark - 1 >= parseDate(p.day)!);
    for (const p of planned) {
      await this.o.withDb(async (db) => {
        if (await isPlanned(db, p)) return;
        const l = await suspectList(db, { date: p.day, days: listDays(p.kind), street: p.street, statuses: ['open', 'confirmed'] });
        await planDeliveries(db, [{ ...p, rows: l.rows.length }]);
        if (!l.rows.length) await markSent(db, p, now); // nothing new for this street: recorded, not sent
      });
    }
    for (const d of await this.o.withDb((db) => dueDeliveries(db, now, this.cfg.max_attempts))) await this.send(d, now);
    this.notices = (await this.o.withDb((db) => failingDeliveries(db))).map((d) =>
      `${d.day} ${d.street} ${d.kind === 'weekly' ? '周报' : '日报'}（${d.channel === 'email' ? '邮件' : 'webhook'}）发送失败 ${d.attempts} 次${d.attempts >= this.cfg.max_attempts ? '，已停止重试' : '，将重试'}：${d.last_error ?? ''}`);
  }

  private async send(d: DeliveryRow, now: number): Promise<void> {
    try {
      const l = await this.o.withDb((db) => suspectList(db, { date: d.day, days: listDays(d.kind), street: d.street, statuses: ['open', 'confirmed'] }, this.o.pipeline.report.district));
      const label = d.kind === 'weekly' ? `排查明细表（${l.from} 至 ${l.to}）` : `新线索（${d.day}）`;
      if (d.channel === 'email') {
        const idCol = DAILY_COLUMNS.indexOf('案件编号');
        await this.o.transports.email!({
          to: this.recipients(d.street),
          subject: `【电力数据筛查】${d.street} ${label} ${l.rows.length} 条`,
          text: [`${d.street}：${label}，共 ${l.rows.length} 条，明细见附件（附件1格式）。`, '', ...l.rows.map((r) => `${r.cells[0]}. ${r.cells[idCol]} ${r.cells[DAILY_COLUMNS.indexOf('存在问题类型')]}`), '', '请登录电力数据筛查平台录入核查结果。'].join('\n'),
          attachments: [{ filename: `排查明细表-${d.street}-${l.from === l.to ? l.to : `${l.from}_${l.to}`}.xlsx`, content: await renderXlsx(l.rows, l.meta) }],
        });
      } else {
        const body = JSON.stringify({ kind: d.kind, day: d.day, street: d.street, from: l.from, to: l.to, columns: DAILY_COLUMNS, rows: l.rows.map((r) => r.cells) });
        const sig = `sha256=${createHmac('sha256', this.o.transports.webhookSecret ?? '').update(body).digest('hex')}`;
        await this.o.transports.webhook!(body, sig);
      }
      await this.o.withDb((db) => markSent(db, d, now));
      this.sent++;
      this.o.log.info({ day: d.day, street_rows: d.rows, kind: d.kind, channel: d.channel }, 'list delivered');
    } catch (e) {
      this.failures++;
      const attempt = d.attempts + 1;
      await this.o.withDb((db) => markFailed(db, d, (e as Error).message, now + retryDelayMin(attempt) * MINUTE_MS));
      this.o.log.warn({ day: d.day, kind: d.kind, channel: d.channel, attempt, error: (e as Error).message }, attempt >= this.cfg.max_attempts ? 'delivery failed; giving up' : 'delivery failed; will retry');
    }
  }
}

/** The transports a pipeline configures (nodemailer over SMTP; fetch for the webhook). */
export async function transportsFor(pipeline: Pipeline, env: NodeJS.ProcessEnv = process.env): Promise<Transports> {
  const c = pipeline.delivery;
  const t: Transports = {};
  if (c.smtp) {
    const nodemailer = await import('nodemailer');
    const smtp = c.smtp;
    const pass = env[smtp.password_env];
    const transport = nodemailer.createTransport({ host: smtp.host, port: smtp.port, secure: smtp.secure, ...(smtp.user ? { auth: { user: smtp.user, pass } } : {}) });
    t.email = async (m) => { await transport.sendMail({ from: smtp.from, to: m.to, subject: m.subject, text: m.text, attachments: m.attachments }); };
  }
  if (c.webhook) {
    const url = c.webhook.url;
    t.webhookSecret = env[c.webhook.secret_env] ?? '';
    t.webhook = async (body, signature) => {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-powerscreen-signature': signature }, body, signal: AbortSignal.timeout(30_000) });
      if (!r.ok) throw new Error(`webhook answered ${r.status}`);
    };
  }
  return t;
}

