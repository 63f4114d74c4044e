/**
 * Reference data: the meter registry and the enforcement sites from the case registry.
 */
import { z } from 'zod';
import { parseLocalMs } from '../time.js';

export const CATEGORIES = ['resident', 'commercial', 'industrial', 'other'] as const;
export type Category = (typeof CATEGORIES)[number];

// Chinese tariff labels seen in utility exports.
const CATEGORY_LABELS: Record<string, Category> = {
  resident: 'resident', commercial: 'commercial', industrial: 'industrial', other: 'other',
  居民: 'resident', 居民生活: 'resident', 城乡居民: 'resident',
  非居民: 'commercial', 一般工商业: 'commercial', 商业: 'commercial', 非居民照明: 'commercial',
  大工业: 'industrial', 工业: 'industrial',
  其他: 'other', 农业: 'other', 农业生产: 'other',
};

const text = (field: string, max = 200) =>
  z.preprocess((v) => (v === null || v === undefined ? '' : String(v).trim()), z.string().max(max, { error: `${field}: longer than ${max} characters` }));

const optionalNumber = z.preprocess((v) => {
  if (v === null || v === undefined || (typeof v === 'string' && v.trim() === '')) return undefined;
  return Number(v);
}, z.number({ error: 'expected a number' }).finite().nonnegative({ error: 'must not be negative' }).optional());

export const meterSchema = z.object({
  meter_id: z.preprocess((v) => (v == null ? v : String(v).trim()), z.string({ error: 'missing' }).min(1, { error: 'must not be empty' })),
  account_name: text('account_name'),
  address: text('address', 400),
  street: text('street'),
  community: text('community'),
  category: z.preprocess(
    (v) => (v == null || String(v).trim() === '' ? 'other' : CATEGORY_LABELS[String(v).trim()] ?? String(v).trim()),
    z.enum(CATEGORIES, { error: 'expected resident|commercial|industrial|other (or 居民/非居民/一般工商业/大工业)' }),
  ),
  contract_kva: optionalNumber,
});
export type Meter = z.infer<typeof meterSchema>;

export const MEASURES = ['关停取缔', '整合搬迁', '升级改造'] as const;

const optionalTs = (field: string) =>
  z.preprocess((v, ctx) => {
    if (v === null || v === undefined || String(v).trim() === '') return undefined;
    const ms = parseLocalMs(String(v).trim().length === 10 ? `${String(v).trim()}T00:00:00` : String(v));
    if (ms === undefined) {
      ctx.issues.push({ code: 'custom', message: `${field}: not an ISO-8601 date/time (got ${JSON.stringify(String(v).slice(0, 40))})`, input: v });
      return z.NEVER;
    }
    return ms;
  }, z.number().optional());

export const siteSchema = z.object({
  case_no: z.preprocess((v) => (v == null ? v : String(v).trim()), z.string({ error: 'missing' }).min(1, { error: 'must not be empty' })),
  meter_id: z.preprocess((v) => (v == null ? v : String(v).trim()), z.string({ error: 'missing' }).min(1, { error: 'must not be empty' })),
  site_name: text('site_name'),
  address: text('address', 400),
  street: text('street'),
  // the contract's closed set: a typo here would hide what the site is expected to do
  measure: z.preprocess((v) => (v == null ? '' : String(v).trim()), z.union([z.literal(''), z.enum(MEASURES)], { error: `expected ${MEASURES.join('|')} (or empty)` })),
  status: z.preprocess((v) => (v == null ? '' : String(v).trim()), z.string()),
  power_cut_at: optionalTs('power_cut_at'),
  halt_ordered_at: optionalTs('halt_ordered_at'),
});
export type Site = z.infer<typeof siteSchema>;

export const METER_COLUMNS = ['meter_id', 'account_name', 'address', 'street', 'community', 'category', 'contract_kva'] as const;
export const SITE_COLUMNS = ['case_no', 'meter_id', 'site_name', 'address', 'street', 'measure', 'status', 'power_cut_at', 'halt_ordered_at'] as const;
