/**
 * The district console over HTTP, in-process (real DuckDB, real Fastify, real sockets): access per
 * role and street, every bad input a clear 4xx that changes nothing, verdict history, downloads
 * (XLSX cells equal the CSV's), and the CLI reaching the server instead of fighting the lock.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { tempDir } from '../helpers.js';
import { demoDatabase, demoDir, PASSWORD, serveDatabase } from '../support/console.js';
import { XLSX_FIRST_ROW } from '../../src/report/xlsx.js';
import { DAILY_COLUMNS } from '../../src/report/daily.js';
import { splitCsvLine } from '../../src/io/csv.js';

const parseCsv = (text: string) => text.split(/\r?\n/).filter(Boolean).map((l) => splitCsvLine(l)!);

const ROOT = join(import.meta.dirname, '..', '..');
const tmp = tempDir();
let server: Awaited<ReturnType<typeof serveDatabase>>;
let dbPath = '';
let url = '';

/** A browser-like client: cookies kept, CSRF token read from the last page. */
class Client {
  cookies = new Map<string, string>();
  csrf = '';
  async req(path: string, init: { method?: string; form?: Record<string, string>; json?: unknown; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '), ...init.headers };
    let body: string | undefined;
    if (init.form) { headers['content-type'] = 'application/x-www-form-urlencoded'; body = new URLSearchParams(init.form).toString(); }
    if (init.json !== undefined) { headers['content-type'] = 'application/json'; body = JSON.stringify(init.json); }
    const res = await fetch(url + path, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [kv] = c.split(';');
      const i = kv!.indexOf('=');
      this.cookies.set(kv!.slice(0, i), kv!.slice(i + 1));
    }
    const buf = Buffer.from(await res.arrayBuffer());
    const text = buf.toString('utf8');
    const m = /name="_csrf" value="([^"]+)"/.exec(text);
    if (m) this.csrf = m[1]!;
    return { status: res.status, text, buf, headers: res.headers };
  }
  async login(username: string, password = PASSWORD) {
    await this.req('/login');
    return this.req('/login', { form: { username, password, _csrf: this.csrf } });
  }
}

const loggedIn = async (u: string) => { const c = new Client(); expect((await c.login(u)).status).toBe(303); return c; };
const caseIds = (html: string) => [...html.matchAll(/data-case="([^"]+)"/g)].map((m) => m[1]!);
const verdictCount = async () => Number((await server.db.con.runAndReadAll('select count(*) n from case_feedback')).getRowObjectsJS()[0]!.n);

beforeAll(async () => {
  dbPath = (await demoDatabase(demoDir(tmp.dir))).dbPath;
  server = await serveDatabase(dbPath, { console: { login_per_minute: 40 } });
  url = server.console.url;
}, 240_000);
afterAll(async () => { await server?.close(); tmp.cleanup(); });

describe('district console: access', () => {
  it('nothing is served without login; a wrong password is a 401 and sets no session', async () => {
    const c = new Client();
    for (const p of ['/list', '/backlog', '/quarterly', '/list.csv', '/list.xlsx']) {
      const r = await c.req(p);
      expect(r.status, p).toBe(303);
      expect(r.headers.get('location')).toMatch(/^\/login\?/);
    }
    expect((await c.req('/api/list')).status).toBe(401);
    const bad = await c.login('district', 'wrong-password!');
    expect(bad.status).toBe(401);
    expect(bad.text).toContain('用户名或密码错误');
    expect(c.cookies.has('ps_session')).toBe(false);
    expect((await c.login('nobody')).status).toBe(401);
  });

  it('session cookie is HttpOnly and SameSite; security headers are set; no script is allowed', async () => {
    const c = new Client();
    await c.req('/login');
    const res = await fetch(url + '/login', { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ') }, body: new URLSearchParams({ username: 'district', password: PASSWORD, _csrf: c.csrf }).toString() });
    const session = res.headers.getSetCookie().find((x) => x.startsWith('ps_session='))!;
    expect(session).toMatch(/HttpOnly/i);
    expect(session).toMatch(/SameSite=Strict/i);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'none'/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('a street user sees its own street only: list, case by URL, API, downloads', async () => {
    const district = await loggedIn('district');
    const all = await district.req('/list?days=60&status=');
    const ids = caseIds(all.text);
    expect(ids.length).toBeGreaterThan(10);
    const street = await loggedIn('gudong');
    const own = await street.req('/list?days=60');
    expect(own.status).toBe(200);
    const ownIds = caseIds(own.text);
    expect(ownIds.length).toBeGreaterThan(0);
    expect(ownIds.length).toBeLessThan(ids.length);
    expect(own.text).not.toContain('温泉街道（');
    const other = ids.find((id) => !ownIds.includes(id))!;
    const page = await street.req(`/cases/${other}`);
    expect(page.status).toBe(403);
    expect(page.text).not.toMatch(/电表 \d{13}/);
    expect((await street.req(`/api/cases/${other}`)).status).toBe(403);
    expect((await street.req(`/list?days=60&street=${encodeURIComponent('温泉街道')}`)).status).toBe(403);
    expect((await street.req(`/list.csv?days=60&street=${encodeURIComponent('温泉街道')}`)).status).toBe(403);
    const csv = await street.req('/list.csv?days=60');
    expect(csv.status).toBe(200);
    expect(csv.text).not.toContain('温泉街道');
    expect((await street.req(`/cases/${other}/verdict`, { form: { verdict: 'dismissed', _csrf: street.csrf } })).status).toBe(403);
    expect((await street.req(`/cases/${ownIds[0]}`)).status).toBe(200);
  });

  it('analysts read everything and give no verdicts', async () => {
    const a = await loggedIn('analyst');
    const list = await a.req('/list?days=60');
    const id = caseIds(list.text)[0]!;
    const page = await a.req(`/cases/${id}`);
    expect(page.text).toContain('分析员账号只读');
    const before = await verdictCount();
    expect((await a.req(`/cases/${id}/verdict`, { form: { verdict: 'confirmed', _csrf: a.csrf } })).status).toBe(403);
    expect(await verdictCount()).toBe(before);
  });
});

describe('district console: bad input changes nothing', () => {
  it('forged or missing CSRF token, malformed and oversized forms, unknown cases: 4xx, no verdict stored', async () => {
    const c = await loggedIn('district');
    const id = caseIds((await c.req('/list?days=60')).text)[0]!;
    await c.req(`/cases/${id}`);
    const before = await verdictCount();
    const forged = await c.req(`/cases/${id}/verdict`, { form: { verdict: 'confirmed', _csrf: 'forged-token' } });
    expect(forged.status).toBe(403);
    expect(forged.text).toContain('CSRF');
    expect((await c.req(`/cases/${id}/verdict`, { form: { verdict: 'confirmed' } })).status).toBe(403);
    const bad = await c.req(`/cases/${id}/verdict`, { form: { verdict: 'maybe', _csrf: c.csrf } });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('verdict');
    expect((await c.req(`/cases/${id}/verdict`, { form: { verdict: 'confirmed', sneaky: 'x', _csrf: c.csrf } })).status).toBe(400);
    expect((await c.req(`/cases/${id}/verdict`, { form: { verdict: 'confirmed', note: 'x'.repeat(20_000), _csrf: c.csrf } })).status).toBe(413);
    const dup = await c.req(`/cases/${id}/verdict`, { form: { verdict: 'duplicate', _csrf: c.csrf } });
    expect(dup.status).toBe(400);
    expect(dup.text).toContain('duplicate_of');
    expect((await c.req(`/cases/${id}/verdict`, { form: { verdict: 'duplicate', duplicate_of: 'PS-nope', _csrf: c.csrf } })).status).toBe(400);
    expect((await c.req('/cases/PS-nope/verdict', { form: { verdict: 'confirmed', _csrf: c.csrf } })).status).toBe(404);
    expect((await c.req('/list?date=2031-01-01')).status).toBe(404);
    expect((await c.req('/list?days=abc')).status).toBe(400);
    expect((await c.req('/list?street=' + encodeURIComponent('鼓东'))).status).toBe(400);
    expect(await verdictCount()).toBe(before);
  });

  it('an expired or unknown session is refused: 401 on the API, back to login on pages', async () => {
    const c = await loggedIn('district');
    c.cookies.set('ps_session', 'not-a-session');
    expect((await c.req('/api/list')).status).toBe(401);
    const page = await c.req('/list');
    expect(page.status).toBe(303);
  });
});

describe('district console: verdicts, downloads, the CLI', () => {
  it('a verdict is kept with who and when, never overwritten; the list shows the latest in 整改情况 and the note in 备注', async () => {
    const c = await loggedIn('gudong');
    const id = caseIds((await c.req('/list?days=60')).text)[0]!;
    await c.req(`/cases/${id}`);
    const first = await c.req(`/cases/${id}/verdict`, { form: { verdict: 'dismissed', note: '现场为仓库', _csrf: c.csrf } });
    expect(first.status).toBe(303);
    await c.req(`/cases/${id}`);
    expect((await c.req(`/cases/${id}/verdict`, { form: { verdict: 'confirmed', note: '复查发现喷漆作业', _csrf: c.csrf } })).status).toBe(303);
    const api = JSON.parse((await c.req(`/api/cases/${id}`)).text);
    expect(api.verdicts.map((v: { verdict: string; given_by: string }) => [v.verdict, v.given_by])).toEqual([['dismissed', 'gudong'], ['confirmed', 'gudong']]);
    expect(api.case.status).toBe('confirmed');
    expect(api.revisions.length).toBeGreaterThanOrEqual(1);
    const row = (await c.req('/list?days=60')).text.split('<tr').find((r) => r.includes(`data-case="${id}"`))!;
    expect(row).toContain('已核实属实');
    expect(row).toContain('复查发现喷漆作业');
    const audit = (await server.db.con.runAndReadAll(`select username, action, target from audit_log where action = 'verdict' and target = $id`, { id })).getRowObjectsJS();
    expect(audit).toHaveLength(2);
  });

  it('the XLSX is laid out like 附件1 and its cells equal the CSV', async () => {
    const c = await loggedIn('district');
    const csv = await c.req('/list.csv?days=60');
    const xlsx = await c.req('/list.xlsx?days=60');
    expect(xlsx.headers.get('content-disposition')).toMatch(/attachment; filename="suspects-.*\.xlsx"/);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(xlsx.buf as unknown as ArrayBuffer);
    const ws = wb.worksheets[0]!;
    expect(String(ws.getCell(1, 1).value)).toContain('排查明细表');
    expect(String(ws.getCell(2, 1).value)).toMatch(/^填报单位：/);
    expect((ws.getRow(3).values as unknown[]).slice(1)).toEqual([...DAILY_COLUMNS]);
    const csvRows = parseCsv(csv.text.replace(/^\uFEFF/, '')).slice(3);
    expect(csvRows.length).toBeGreaterThan(10);
    const xRows = csvRows.map((_, j) => (ws.getRow(XLSX_FIRST_ROW + j).values as unknown[]).slice(1).map((v) => String(v ?? '')));
    // the CSV escapes formula-like cells with an apostrophe; none occur in the demo registry
    expect(xRows).toEqual(csvRows);
  });

  it('report, explain and feedback from the CLI go through the server holding the database, and say so', async () => {
    // asynchronously: the server answering the CLI lives in this process
    const run = (...a: string[]) => new Promise<{ status: number; stdout: string; stderr: string }>((res) => {
      execFile(process.execPath, [join(ROOT, 'bin', 'powerscreen.js'), ...a], { encoding: 'utf8' }, (e, stdout, stderr) => res({ status: e ? Number(e.code ?? 1) : 0, stdout, stderr }));
    });
    const r = await run('report', 'daily', '--db', dbPath, '--days', '7');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`via the running worker at ${url}`);
    expect(r.stdout).toContain('排查明细表');
    const q = await run('report', 'quarterly', '--db', dbPath, '--quarter', '2026Q4');
    expect(q.status, q.stderr).toBe(0);
    expect(q.stdout).toMatch(/出现反弹 \d+ 家（反弹案件编号为 GL/);
    const id = /PS-\d{8}-[0-9a-f]+/.exec(r.stdout)![0];
    const f = await run('feedback', id, 'dismissed', '--note', '核查无生产', '--db', dbPath);
    expect(f.status, f.stderr).toBe(0);
    expect(f.stdout).toMatch(new RegExp(`^${id}: \\w+ → dismissed`));
    const e = await run('explain', '3501020000357', '--db', dbPath, '--json');
    expect(e.status, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout).daily.length).toBeGreaterThan(30);
  });

  it('backlog lists open cases oldest first with their age; quarterly shows 附件2 counts', async () => {
    const c = await loggedIn('district');
    const b = JSON.parse((await c.req('/api/backlog')).text) as { cases: { detected_at: string; age_days: number }[]; streets: { street: string; closure_rate: number }[] };
    expect(b.cases.length).toBeGreaterThan(0);
    expect(b.cases.map((x) => x.detected_at)).toEqual([...b.cases.map((x) => x.detected_at)].sort());
    expect(b.cases[0]!.age_days).toBeGreaterThanOrEqual(b.cases.at(-1)!.age_days);
    expect(b.streets.find((s) => s.street === '鼓东街道')!.closure_rate).toBeGreaterThan(0);
    const page = await c.req('/backlog');
    expect(page.text).toContain('闭环率');
    const q = await c.req('/quarterly?quarter=2026Q4');
    expect(q.text).toMatch(/源自电力大数据筛查 \d+ 家/);
    expect((await c.req('/quarterly?quarter=2026Q5')).status).toBe(400);
  });
});

describe('district console: login rate limit', () => {
  it('guessing passwords is cut off with 429, and the right password does not get through meanwhile', async () => {
    const c = new Client();
    const statuses: number[] = [];
    for (let i = 0; i < 45; i++) statuses.push((await c.login('district', `guess-${i}-xxxx`)).status);
    expect(statuses).toContain(429);
    expect(statuses.filter((x) => x !== 401 && x !== 429)).toEqual([]);
    const r = await c.login('district');
    expect(r.status).toBe(429);
    expect(c.cookies.has('ps_session')).toBe(false);
  });
});
