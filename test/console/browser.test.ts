/**
 * The console in a real headless Chromium (Debian's package, driven by playwright-core): a street
 * user logs in, sees only its street, is refused another street's case, records a verdict and sees
 * it on the list; a district user downloads the XLSX. CONSOLE_SCREENSHOT=file saves the list page.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import ExcelJS from 'exceljs';
import { tempDir } from '../helpers.js';
import { CHROMIUM, demoDatabase, demoDir, PASSWORD, serveDatabase } from '../support/console.js';

const tmp = tempDir();
let server: Awaited<ReturnType<typeof serveDatabase>>;
let browser: Browser;

beforeAll(async () => {
  const { dbPath } = await demoDatabase(demoDir(tmp.dir));
  server = await serveDatabase(dbPath);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}, 240_000);
afterAll(async () => { await browser?.close(); await server?.close(); tmp.cleanup(); });

describe.skipIf(!CHROMIUM)('console in headless Chromium', () => {
  it('a street user logs in, sees only its street, cannot open another street\'s case, records a verdict and sees it on the list', async () => {
    const url = server.console.url;
    // a district office's monitor (1920 × 1080): the whole 附件1 row, 用电证据 included, fits without scrolling sideways
    const ctx = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1920, height: 1080 } });
    const page = await ctx.newPage();
    const external: string[] = [];
    page.on('request', (r) => { if (!r.url().startsWith(url)) external.push(r.url()); });
    await page.goto(`${url}/list?days=60`);
    expect(page.url()).toContain('/login');
    await page.fill('input[name=username]', 'gudong');
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/list\?days=60/);
    const streets = await page.locator('main h2').allTextContents();
    expect(streets.length).toBeGreaterThan(0);
    expect(streets.every((s) => s.startsWith('鼓东街道'))).toBe(true);
    await expect.poll(() => page.locator('#coverage').textContent()).toContain('数据截至');
    // no column squeezed to a character a line: every cell of the short columns is at least 4 characters wide
    const narrowest = await page.locator('table.list td').evaluateAll((tds) => Math.min(...tds.map((td) => td.getBoundingClientRect().width)));
    expect(narrowest).toBeGreaterThanOrEqual(4 * 13);
    const overflow = await page.locator('.list-scroll').first().evaluate((d) => d.scrollWidth - d.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    if (process.env.CONSOLE_SCREENSHOT) await page.screenshot({ path: process.env.CONSOLE_SCREENSHOT, fullPage: false });

    // another street's case, by URL: refused, nothing of it shown
    const other = (await server.db.con.runAndReadAll(`select c.case_id from cases c join meters m using (meter_id) where m.street = '温泉街道' limit 1`)).getRowObjectsJS()[0]!.case_id as string;
    const refused = await page.goto(`${url}/cases/${other}`);
    expect(refused!.status()).toBe(403);
    expect(await page.locator('main').textContent()).not.toContain('电表');
    const api = await page.request.get(`${url}/api/cases/${other}`);
    expect(api.status()).toBe(403);

    // open an own case from the list, give a verdict, see it on the case page and the list
    await page.goto(`${url}/list?days=60`);
    const first = page.locator('table.list tbody tr').first();
    const caseId = (await first.getAttribute('data-case'))!;
    await first.locator('a').click();
    await page.waitForURL(new RegExp(`/cases/${caseId}`));
    expect(await page.locator('svg').count()).toBeGreaterThan(0);
    expect(await page.locator('ul.evidence li').count()).toBeGreaterThan(0);
    expect(await page.locator('main').textContent()).not.toMatch(/\{"/); // evidence as sentences, no raw JSON
    await page.check('input[name=verdict][value=confirmed]');
    await page.fill('textarea[name=note]', '现场核实：夜间喷漆作业');
    await page.click('form.verdict button[type=submit]');
    await page.waitForURL(/saved=1/);
    expect(await page.locator('#case-status').textContent()).toContain('已核实属实');
    expect(await page.locator('#verdicts').textContent()).toContain('gudong');
    await page.goto(`${url}/list?days=60`);
    const row = page.locator(`tr[data-case="${caseId}"]`);
    expect(await row.textContent()).toContain('已核实属实');
    expect(await row.textContent()).toContain('现场核实：夜间喷漆作业');
    expect(external).toEqual([]); // nothing fetched from outside: intranets are offline
    await ctx.close();
  });

  it('a district user downloads the XLSX: rows of every street, in 附件1 layout', async () => {
    const url = server.console.url;
    const ctx = await browser.newContext({ acceptDownloads: true });
    const page = await ctx.newPage();
    await page.goto(`${url}/login`);
    await page.fill('input[name=username]', 'district');
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/list/);
    await page.goto(`${url}/list?days=60`);
    const rows = Number(await page.locator('#row-count').textContent());
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#dl-xlsx')]);
    const file = join(tmp.dir, 'list.xlsx');
    await download.saveAs(file);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(readFileSync(file) as unknown as ArrayBuffer);
    const ws = wb.worksheets[0]!;
    expect(String(ws.getCell(2, 1).value)).toBe('填报单位：鼓楼区');
    expect(ws.rowCount).toBe(3 + rows);
    const streets = new Set<string>();
    for (let y = 4; y <= ws.rowCount; y++) streets.add(String(ws.getCell(y, 3).value));
    expect(streets.size).toBeGreaterThan(1);
    await ctx.close();
  });
});
