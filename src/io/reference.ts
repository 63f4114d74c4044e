/** Meter registry and enforcement-site files (CSV or JSON) → validated rows; errors name file, row and field. */
import { meterSchema, siteSchema, type Meter, type Site, METER_COLUMNS, SITE_COLUMNS } from '../contracts/registry.js';
import { PowerscreenError } from '../errors.js';
import { readTable } from './readers.js';
import type { TextEncoding } from './lines.js';
import type { z } from 'zod';

async function loadValidated<T>(file: string, what: string, schema: z.ZodType<T>, columns: readonly string[], encoding: TextEncoding): Promise<T[]> {
  const { rows, lineOf } = await readTable(file, what, encoding);
  const out: T[] = [];
  rows.forEach((row, i) => {
    for (const k of Object.keys(row)) {
      if (!columns.includes(k)) throw new PowerscreenError('REFERENCE_INVALID', `${file}: unknown column "${k}" (expected ${columns.join(', ')})`);
    }
    const r = schema.safeParse(row);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      const field = issue.path.join('.') || 'row';
      const msg = issue.message.startsWith(`${field}:`) ? issue.message : `${field}: ${issue.message}`;
      throw new PowerscreenError('REFERENCE_INVALID', `${file}: row ${lineOf[i]}: ${msg}`);
    }
    out.push(r.data);
  });
  return out;
}

/** Registry files in UTF-8 or GB18030/GBK ('auto' tells them apart; see readTextFile). */
export const loadMeterFile = (file: string, encoding: TextEncoding = 'auto'): Promise<Meter[]> => loadValidated(file, 'meter registry', meterSchema, METER_COLUMNS, encoding);
export const loadSiteFile = (file: string, encoding: TextEncoding = 'auto'): Promise<Site[]> => loadValidated(file, 'enforcement sites', siteSchema, SITE_COLUMNS, encoding);
