/**
 * The suspect list as an XLSX laid out like 附件1: the title across the table, 填报单位 and 填报日期
 * on the line under it, the column heads, one row per case, borders, wrapped text, frozen heads.
 * Cells are written as text: a name beginning with = stays a name, never a formula.
 */
import ExcelJS from 'exceljs';
import { DAILY_COLUMNS, type DailyRow, type ListMeta } from './daily.js';

const WIDTHS: Record<string, number> = { 序号: 6, 报送日期: 12, 案件编号: 22, 企业名称: 22, 企业详细地址: 28, 存在问题类型: 16, 整改情况: 22, 备注: 40, 用电证据: 60 };

/** The first data row (1-based) of the sheet: title, header line, column heads come before it. */
export const XLSX_FIRST_ROW = 4;

export async function renderXlsx(rows: readonly DailyRow[], meta: ListMeta): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'powerscreen';
  const ws = wb.addWorksheet('排查明细表', { views: [{ state: 'frozen', ySplit: XLSX_FIRST_ROW - 1 }], pageSetup: { orientation: 'landscape', fitToPage: true, fitToWidth: 1, fitToHeight: 0 } });
  const n = DAILY_COLUMNS.length;
  ws.columns = DAILY_COLUMNS.map((c) => ({ width: WIDTHS[c] ?? 12 }));
  ws.mergeCells(1, 1, 1, n);
  const title = ws.getCell(1, 1);
  title.value = meta.title;
  title.font = { bold: true, size: 16 };
  title.alignment = { horizontal: 'center' };
  ws.mergeCells(2, 1, 2, Math.ceil(n / 2));
  ws.mergeCells(2, Math.ceil(n / 2) + 1, 2, n);
  ws.getCell(2, 1).value = `填报单位：${meta.unit}`;
  ws.getCell(2, Math.ceil(n / 2) + 1).value = `填报日期：${meta.date}`;
  ws.getCell(2, Math.ceil(n / 2) + 1).alignment = { horizontal: 'right' };
  const head = ws.getRow(3);
  DAILY_COLUMNS.forEach((c, i) => {
    const cell = head.getCell(i + 1);
    cell.value = c;
    cell.font = { bold: true };
    cell.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFEEEEEE' } };
  });
  rows.forEach((r, j) => {
    const row = ws.getRow(XLSX_FIRST_ROW + j);
    r.cells.forEach((v, i) => { row.getCell(i + 1).value = v; });
  });
  const thin = { style: 'thin' as const };
  for (let y = 3; y < XLSX_FIRST_ROW + rows.length; y++) {
    for (let x = 1; x <= n; x++) {
      const c = ws.getCell(y, x);
      c.border = { top: thin, left: thin, bottom: thin, right: thin };
      c.alignment = { wrapText: true, vertical: 'top' };
    }
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}
