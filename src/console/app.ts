/**
 * The district console and its JSON API, on Fastify: the process that owns the DuckDB file serves
 * the suspect list, case pages with verdicts, the backlog and quarterly counts to street offices
 * and analysts, next to /healthz and /metrics. Every page but login needs a session; a street
 * account sees its own street only — enforced in each query, on pages, API calls and downloads.
 * CLI commands reach it with the token the server writes beside the database (./workerLink.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import type { Db } from '../store/db.js';
import { caseRevisions, loadCases } from '../store/caseStore.js';
import { applyFeedback, verdictHistory, type VerdictInput } from '../store/feedback.js';
import { backlog, coverage, knownStreets, quarterCounts, quarterRange } from '../store/districtStats.js';
import { gatherExplainData } from '../store/explainQuery.js';
import { exportSnapshot } from '../store/snapshot.js';
import { recordAudit } from '../store/audit.js';
import { dailyList, suspectList, type DailyListOptions, type ListQuery } from '../report/dailyList.js';
import { DAILY_COLUMNS, renderCsv } from '../report/daily.js';
import { quarterlyText } from '../report/quarterly.js';
import { dataWatermarkMs } from '../store/readingStore.js';
import { renderXlsx } from '../report/xlsx.js';
import { explain, renderHtml as renderExplainHtml, renderSvg } from '../report/explain.js';
import { evidenceSentences, visitHours } from '../report/evidence.js';
import { renderMetrics, type Metrics } from '../kafka/ops.js';
import { PowerscreenError, isPowerscreenError } from '../errors.js';
import { parseDate, nowLocalMs } from '../time.js';
import { AccountBook, verifyPassword, type Principal } from './users.js';
import { SessionStore } from './sessions.js';
import { CSS, backlogPage, casePage, errorPage, listPage, loginPage, quarterlyPage, type Banner } from './pages.js';

export interface ConsoleDeps {
  /** Runs a database task: the worker's one queue, or a plain queue in `serve`. */
  withDb<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  accounts: AccountBook;
  /** live: a worker feeds the database; history: filled by backfill. */
  mode: 'live' | 'history';
  /** 填报单位 of district-wide lists. */
  unit?: string;
  /** live: why the feed looks stalled, if it does. */
  stalled?: () => string | undefined;
  /** After a verdict is stored here: the worker passes it on to the other workers (feedback topic). */
  onVerdict?: (v: VerdictInput & { verdict_id: string }) => Promise<void>;
  /** /healthz and /metrics (the worker's). */
  ops?: Metrics;
  /** Bearer token of the CLI on this machine (written beside the database, owner-only). */
  apiToken?: string;
  sessionIdleMinutes?: number;
  /** Cookies only over TLS (set when the server has certificate files). */
  secureCookies?: boolean;
  https?: { key: Buffer; cert: Buffer };
  /** Login attempts per client per minute. */
  loginPerMinute?: number;
  /** Extra lines shown on the backlog page (delivery failures). */
  notices?: () => string[];
}

const SESSION_COOKIE = 'ps_session';
const PAGE = 'text/html; charset=utf-8';

function fail(status: number, message: string): PowerscreenError & { statusCode: number } {
  const e = new PowerscreenError(status === 404 ? 'INPUT_NOT_FOUND' : 'CONFIG_INVALID', message) as PowerscreenError & { statusCode: number };
  e.statusCode = status;
  return e;
}

const statusOf = (e: unknown): number => {
  const s = (e as { statusCode?: number }).statusCode;
  if (typeof s === 'number' && s >= 400) return s;
  if (isPowerscreenError(e)) return e.code === 'INPUT_NOT_FOUND' ? 404 : e.code === 'CONFIG_INVALID' || e.code === 'INPUT_MALFORMED' ? 400 : 500;
  return 500;
};

const isApi = (req: FastifyRequest) => req.url.startsWith('/api/');
const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** The list query of a request (pages, downloads and API share it); a street account is pinned to its street. */
function listQuery(q: Record<string, string>, who: Principal): ListQuery {
  const days = q.days ? Number(q.days) : 1;
  if (!Number.isInteger(days) || days < 1 || days > 366) throw fail(400, `days: expected a whole number 1…366, got ${JSON.stringify(q.days)}`);
  const minScore = q.min_score ? Number(q.min_score) : undefined;
  if (minScore !== undefined && !(minScore >= 0 && minScore <= 1)) throw fail(400, `min_score: expected a number 0…1, got ${JSON.stringify(q.min_score)}`);
  if (q.family && !['workshop', 'site'].includes(q.family)) throw fail(400, `family: expected workshop or site, got ${JSON.stringify(q.family)}`);
  if (q.status && !['open', 'confirmed', 'dismissed', 'duplicate'].includes(q.status)) throw fail(400, `status: expected open, confirmed, dismissed or duplicate, got ${JSON.stringify(q.status)}`);
  for (const k of ['date', 'from'] as const) if (q[k] && parseDate(q[k]) === undefined) throw fail(400, `${k}: expected YYYY-MM-DD, got ${JSON.stringify(q[k])}`);
  if (who.role === 'street' && q.street && q.street !== who.street) throw fail(403, `street: this account sees ${who.street} only`);
  return {
    date: q.date || undefined, days, from: q.from || undefined,
    street: who.role === 'street' ? who.street : q.street || undefined,
    families: q.family ? [q.family] : undefined, statuses: q.status ? [q.status] : undefined, minScore,
  };
}

const QUERY_KEYS = ['date', 'days', 'from', 'street', 'family', 'status', 'min_score'];

export async function buildConsole(deps: ConsoleDeps): Promise<FastifyInstance> {
  // additional form fields are an error, not silently dropped (ajv's Fastify default removes them)
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024, ajv: { customOptions: { removeAdditional: false } }, ...(deps.https ? { https: deps.https } : {}) }) as unknown as FastifyInstance;
  const sessions = new SessionStore((deps.sessionIdleMinutes ?? 480) * 60_000);
  const cookieOpts = { httpOnly: true, sameSite: 'strict' as const, path: '/', secure: deps.secureCookies ?? false };

  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"], scriptSrc: ["'none'"], styleSrc: ["'self'", "'unsafe-inline'"], imgSrc: ["'self'", 'data:'],
        formAction: ["'self'"], frameAncestors: ["'none'"], baseUri: ["'none'"], objectSrc: ["'none'"],
      },
    },
    hsts: deps.https ? undefined : false,
  });
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody, { bodyLimit: 16 * 1024 });
  await app.register(fastifyCsrf, { cookieOpts: { ...cookieOpts } });
  await app.register(fastifyRateLimit, { global: false });

  const audit = (who: string, action: string, target?: string, detail?: string) =>
    deps.withDb((db) => recordAudit(db, { username: who, action, target, detail })).catch(() => undefined);

  /** Who is asking: a session cookie, or the CLI's bearer token; re-checked against the accounts file. */
  function principal(req: FastifyRequest): Principal | 'expired' | undefined {
    const auth = req.headers.authorization;
    if (deps.apiToken && auth?.startsWith('Bearer ')) {
      const a = Buffer.from(auth.slice(7)), b = Buffer.from(deps.apiToken);
      return a.length === b.length && timingSafeEqual(a, b) ? { username: 'cli', role: 'district' } : undefined;
    }
    const s = sessions.get(req.cookies[SESSION_COOKIE]);
    if (s === undefined || s === 'expired') return s;
    const acct = deps.accounts.get(s.username);
    if (!acct) return undefined; // removed while logged in
    return { username: acct.username, role: acct.role, street: acct.street };
  }

  const whoOf = (req: FastifyRequest) => (req as unknown as { who: Principal }).who;

  app.decorateRequest('who', null);
  /** Pages and API calls behind login. */
  const authed = async (req: FastifyRequest, reply: FastifyReply) => {
    const p = principal(req);
    if (p && p !== 'expired') {
      (req as unknown as { who: Principal }).who = p;
      return;
    }
    const why = p === 'expired' ? '会话已过期，请重新登录' : '请先登录';
    if (isApi(req)) return reply.code(401).send({ error: p === 'expired' ? 'session expired: log in again' : 'not logged in' });
    return reply.code(303).redirect(`/login?${new URLSearchParams({ next: req.url, msg: why })}`);
  };
  /** A state change from a browser carries the CSRF token; the CLI's bearer token needs none. */
  const csrfUnlessBearer = (req: FastifyRequest, reply: FastifyReply, done: (e?: Error) => void) => {
    if (req.headers.authorization?.startsWith('Bearer ')) return done();
    app.csrfProtection(req, reply, done);
  };
  const canSee = (who: Principal, street: string) => who.role !== 'street' || who.street === street;

  app.setErrorHandler((e, req, reply) => {
    const status = statusOf(e);
    const code = (e as { code?: string }).code;
    let message = (e as Error).message;
    if (code === 'FST_CSRF_INVALID_TOKEN' || code === 'FST_CSRF_MISSING_SECRET') message = '表单已失效（CSRF 校验失败），请刷新页面后重试';
    else if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') message = '提交内容过大';
    else if ((e as { validation?: unknown }).validation) message = `表单内容不正确：${message.replace(/^body\/?/, '')}`;
    else if (status >= 500) message = '服务器内部错误';
    if (status >= 500) req.log.error(e);
    if (isApi(req) || req.headers.accept?.includes('application/json')) return reply.code(status).send({ error: message });
    return reply.code(status).type(PAGE).send(errorPage(status, message));
  });
  app.setNotFoundHandler((req, reply) => (isApi(req) ? reply.code(404).send({ error: `no such endpoint: ${req.method} ${req.url}` }) : reply.code(404).type(PAGE).send(errorPage(404, '页面不存在'))));

  // ── ops ─────────────────────────────────────────────────────────────
  app.get('/healthz', async (_req, reply) => {
    if (!deps.ops) return { status: 'ok', mode: deps.mode };
    const h = deps.ops.healthy();
    return reply.code(h.ok ? 200 : 503).send({ status: h.ok ? 'ok' : 'unhealthy', ...h.detail });
  });
  app.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4').send(deps.ops ? renderMetrics(deps.ops) : ''));
  app.get('/static/console.css', async (_req, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'max-age=3600').send(CSS));

  // ── login ───────────────────────────────────────────────────────────
  const safeNext = (n: unknown) => (typeof n === 'string' && /^\/(?!\/)[\w\-./?=&%:+]*$/.test(n) ? n : '/list');
  app.get('/login', async (req, reply) => {
    const q = req.query as Record<string, string>;
    return reply.type(PAGE).send(loginPage(reply.generateCsrf(), q.msg, safeNext(q.next)));
  });
  app.post('/login', {
    preHandler: app.csrfProtection,
    config: { rateLimit: { max: deps.loginPerMinute ?? 10, timeWindow: 60_000, errorResponseBuilder: () => fail(429, '登录尝试过于频繁，请一分钟后再试') } },
    schema: { body: { type: 'object', required: ['username', 'password'], properties: { username: { type: 'string', maxLength: 40 }, password: { type: 'string', maxLength: 200 }, next: { type: 'string', maxLength: 500 }, _csrf: { type: 'string' } }, additionalProperties: false } },
  }, async (req, reply) => {
    const b = req.body as Record<string, string>;
    const acct = deps.accounts.get(b.username!);
    // verify even for an unknown user: the answer takes as long either way
    const ok = await verifyPassword(b.password!, acct?.hash ?? 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=');
    if (!acct || !ok) {
      await audit(b.username ?? '?', 'login_failed');
      return reply.code(401).type(PAGE).send(loginPage(reply.generateCsrf(), '用户名或密码错误', safeNext(b.next)));
    }
    await audit(acct.username, 'login');
    reply.setCookie(SESSION_COOKIE, sessions.create({ username: acct.username, role: acct.role, street: acct.street }), cookieOpts);
    return reply.code(303).redirect(safeNext(b.next));
  });
  app.post('/logout', { preHandler: app.csrfProtection }, async (req, reply) => {
    sessions.drop(req.cookies[SESSION_COOKIE]);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.code(303).redirect('/login');
  });

  // ── shared reads ────────────────────────────────────────────────────
  const banner = (street?: string): Promise<Banner> => deps.withDb(async (db) => ({ coverage: await coverage(db, street), mode: deps.mode, stalled: deps.stalled?.() }));
  const listFor = (who: Principal, q: Record<string, string>) => deps.withDb((db) => suspectList(db, listQuery(q, who), deps.unit));
  const pickQuery = (q: Record<string, string>) => Object.fromEntries(QUERY_KEYS.filter((k) => q[k]).map((k) => [k, str(q[k])]));

  async function caseFor(who: Principal, id: string) {
    const c = (await deps.withDb((db) => loadCases(db, { caseId: id })))[0];
    if (!c) throw fail(404, `no case ${id}`);
    // 403, not 404: the street office learns the case is not theirs, and nothing of it is shown
    if (!canSee(who, c.street)) throw fail(403, `case ${id} belongs to another street; this account sees ${who.street} only`);
    return c;
  }

  async function caseView(who: Principal, id: string) {
    const c = await caseFor(who, id);
    return deps.withDb(async (db) => {
      const e = explain(await gatherExplainData(db, c.meter_id, 14));
      return { c, e, verdicts: await verdictHistory(db, id), revisions: await caseRevisions(db, id) };
    });
  }

  async function recordVerdict(who: Principal, id: string, b: Record<string, unknown>) {
    if (who.role === 'analyst') throw fail(403, 'analyst accounts are read-only: no verdicts');
    await caseFor(who, id);
    const v: VerdictInput = { case_id: id, verdict: str(b.verdict), note: str(b.note).trim() || undefined, duplicate_of: str(b.duplicate_of).trim() || undefined, given_by: who.username };
    if (v.duplicate_of) await caseFor(who, v.duplicate_of).catch((e) => { throw statusOf(e) === 404 ? fail(400, `duplicate_of: no case ${v.duplicate_of}`) : e; });
    const r = await deps.withDb((db) => applyFeedback(db, v));
    await audit(who.username, 'verdict', id, v.verdict);
    await deps.onVerdict?.({ ...v, verdict_id: r.verdict_id });
    return r;
  }

  // ── pages ───────────────────────────────────────────────────────────
  app.get('/', async (_req, reply) => reply.redirect('/list'));
  app.get('/list', { preHandler: authed }, async (req, reply) => {
    const who = whoOf(req);
    const q = pickQuery(req.query as Record<string, string>);
    const l = await listFor(who, q);
    const streets = who.role === 'street' ? [] : await deps.withDb((db) => knownStreets(db));
    const b: Banner = { coverage: l.coverage, mode: deps.mode, stalled: deps.stalled?.() };
    return reply.type(PAGE).send(listPage({ rows: l.rows, title: l.meta.title, query: q, streets, banner: b, who, csrf: reply.generateCsrf() }));
  });
  for (const ext of ['csv', 'xlsx'] as const) {
    app.get(`/list.${ext}`, { preHandler: authed }, async (req, reply) => {
      const who = whoOf(req);
      const l = await listFor(who, pickQuery(req.query as Record<string, string>));
      await audit(who.username, 'download', `list.${ext}`, `${l.from}..${l.to}${who.street ? ` ${who.street}` : ''} rows=${l.rows.length}`);
      const name = `suspects-${l.from}${l.from === l.to ? '' : `_${l.to}`}.${ext}`;
      reply.header('content-disposition', `attachment; filename="${name}"`).header('cache-control', 'no-store');
      if (ext === 'csv') return reply.type('text/csv; charset=utf-8').send(renderCsv(l.rows, l.meta));
      return reply.type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet').send(await renderXlsx(l.rows, l.meta));
    });
  }
  app.get('/cases/:id', { preHandler: authed }, async (req, reply) => {
    const who = whoOf(req);
    const id = (req.params as { id: string }).id;
    const { c, e, verdicts, revisions } = await caseView(who, id);
    const q = req.query as Record<string, string>;
    return reply.type(PAGE).send(casePage({
      c, chartSvg: renderSvg(e), evidence: evidenceSentences(c), visit: visitHours(e.recent), sites: e.sites, revisions, verdicts,
      canJudge: who.role !== 'analyst', who, csrf: reply.generateCsrf(), message: q.saved ? '核查结果已记录' : undefined,
    }));
  });
  const verdictBody = {
    type: 'object', required: ['verdict'], additionalProperties: false,
    properties: {
      verdict: { type: 'string', enum: ['confirmed', 'dismissed', 'duplicate'] }, note: { type: 'string', maxLength: 2000 },
      duplicate_of: { type: 'string', maxLength: 80 }, _csrf: { type: 'string', maxLength: 200 },
    },
  };
  app.post('/cases/:id/verdict', { preHandler: [authed, csrfUnlessBearer], schema: { body: verdictBody } }, async (req, reply) => {
    const id = (req.params as { id: string }).id;
    await recordVerdict(whoOf(req), id, req.body as Record<string, unknown>);
    return reply.code(303).redirect(`/cases/${encodeURIComponent(id)}?saved=1`);
  });
  app.get('/backlog', { preHandler: authed }, async (req, reply) => {
    const who = whoOf(req);
    const street = who.role === 'street' ? who.street : undefined;
    const b = await deps.withDb(async (db) => backlog(db, await asOfMs(db), street));
    const notices = who.role === 'street' ? [] : deps.notices?.() ?? [];
    return reply.type(PAGE).send(backlogPage(b, await banner(street), who, reply.generateCsrf(), notices));
  });
  app.get('/quarterly', { preHandler: authed }, async (req, reply) => {
    const who = whoOf(req);
    const quarter = str((req.query as Record<string, string>).quarter) || (await deps.withDb(currentQuarter));
    const rows = await quarterly(who, quarter);
    return reply.type(PAGE).send(quarterlyPage(quarter, rows, who, reply.generateCsrf()));
  });

  async function quarterly(who: Principal, quarter: string) {
    const range = quarterRange(quarter);
    if (!range) throw fail(400, `quarter: expected YYYYQn (e.g. 2026Q4), got ${JSON.stringify(quarter)}`);
    return deps.withDb((db) => quarterCounts(db, range.from, range.to, who.role === 'street' ? who.street : undefined));
  }

  // ── JSON API (also what the CLI uses while a worker holds the database) ──
  app.get('/api/whoami', { preHandler: authed }, async (req) => ({ ...whoOf(req), mode: deps.mode }));
  app.get('/api/coverage', { preHandler: authed }, async (req) => banner(whoOf(req).street));
  app.get('/api/list', { preHandler: authed }, async (req) => {
    const l = await listFor(whoOf(req), pickQuery(req.query as Record<string, string>));
    return { from: l.from, to: l.to, meta: l.meta, coverage: l.coverage, columns: DAILY_COLUMNS, rows: l.rows.map((r) => r.cells) };
  });
  app.get('/api/report/daily', { preHandler: authed }, async (req, reply) => {
    const who = whoOf(req);
    const q = req.query as Record<string, string>;
    const format = q.format ?? 'md';
    if (!['csv', 'md', 'html'].includes(format)) throw fail(400, `format: expected csv, md or html, got ${JSON.stringify(format)}`);
    // the CLI's `report daily`, rendered exactly as it renders a file it opens itself
    const r = await deps.withDb((db) => dailyList(db, { ...listQuery(pickQuery(q), who), format: format as DailyListOptions['format'] }, deps.unit));
    await audit(who.username, 'download', `report.${format}`, `${r.date} rows=${r.rows}`);
    return reply.header('x-rows', String(r.rows)).header('x-date', r.date).type('text/plain; charset=utf-8').send(r.text);
  });
  app.get('/api/cases/:id', { preHandler: authed }, async (req) => {
    const { c, verdicts, revisions } = await caseView(whoOf(req), (req.params as { id: string }).id);
    return { case: c, evidence_zh: evidenceSentences(c), verdicts, revisions };
  });
  app.post('/api/cases/:id/verdict', { preHandler: [authed, csrfUnlessBearer], schema: { body: verdictBody } }, async (req) => {
    const who = whoOf(req);
    const body = req.body as Record<string, unknown>;
    // the CLI names the clerk who reported the verdict
    const r = await recordVerdict(who.username === 'cli' && typeof req.headers['x-given-by'] === 'string' ? { ...who, username: `cli:${req.headers['x-given-by']}` } : who, (req.params as { id: string }).id, body);
    return { case_id: (req.params as { id: string }).id, previous: r.previous, verdict: body.verdict, applied: r.applied };
  });
  app.get('/api/explain/:meter', { preHandler: authed }, async (req, reply) => {
    const who = whoOf(req);
    const meter = (req.params as { meter: string }).meter;
    const q = req.query as Record<string, string>;
    const e = explain(await deps.withDb((db) => gatherExplainData(db, meter, Number(q.days ?? 14) || 14)));
    if (!canSee(who, e.meter?.street ?? '')) throw fail(403, `meter ${meter} belongs to another street`);
    if (q.format === 'svg') return reply.type('image/svg+xml').send(renderSvg(e));
    if (q.format === 'html') return reply.type(PAGE).send(renderExplainHtml(e));
    return e;
  });
  app.get('/api/backlog', { preHandler: authed }, async (req) => {
    const who = whoOf(req);
    return deps.withDb(async (db) => backlog(db, await asOfMs(db), who.role === 'street' ? who.street : undefined));
  });
  app.get('/api/quarterly', { preHandler: authed }, async (req) => {
    const who = whoOf(req);
    const quarter = str((req.query as Record<string, string>).quarter) || (await deps.withDb(currentQuarter));
    return { quarter, streets: (await quarterly(who, quarter)).map((r) => ({ ...r, ...quarterlyText(r) })) };
  });
  /** A copy of the stored data for `eval` (which runs pipelines on its own database, never on the worker's). */
  app.post('/api/snapshot', { preHandler: authed }, async (req) => {
    const who = whoOf(req);
    if (who.username !== 'cli') throw fail(403, 'snapshots are for the CLI on this machine');
    const file = str((req.body as Record<string, unknown> | undefined)?.file);
    if (!file) throw fail(400, 'file: the path to write the snapshot to');
    await deps.withDb((db) => exportSnapshot(db, file));
    return { file };
  });

  return app;
}

/** Ages in the backlog count to the data's latest day: live, that is today; for a backfilled database, its last day. */
async function asOfMs(db: Db): Promise<number> {
  return (await dataWatermarkMs(db)) ?? nowLocalMs();
}

async function currentQuarter(db: Db): Promise<string> {
  const d = new Date(await asOfMs(db));
  return `${d.getUTCFullYear()}Q${Math.floor(d.getUTCMonth() / 3) + 1}`;
}

