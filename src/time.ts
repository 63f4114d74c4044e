/**
 * Time handling. powerscreen keeps every timestamp as LOCAL wall time of Asia/Shanghai
 * (UTC+8, no daylight saving) so that days, hours and "night" are plain date arithmetic in SQL.
 * In TypeScript a local time is a number of milliseconds since 1970-01-01T00:00 local.
 */
export const SHANGHAI_OFFSET_MS = 8 * 3600_000;
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3600_000;
export const DAY_MS = 86_400_000;

const MIN_YEAR = 1970;
const MAX_YEAR = 2199;

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Parse ISO-8601 (with or without offset; naive = Asia/Shanghai) to local ms.
 * Returns undefined when the text is not a valid timestamp.
 */
export function parseLocalMs(text: string): number | undefined {
  // a feed sends every meter's reading of one interval together: the same text, over and over
  if (text === lastParsed.text) return lastParsed.ms;
  const ms = parseIsoLocalMs(text);
  lastParsed.text = text;
  lastParsed.ms = ms;
  return ms;
}

const lastParsed: { text: string | undefined; ms: number | undefined } = { text: undefined, ms: undefined };

function parseIsoLocalMs(text: string): number | undefined {
  const m = ISO_RE.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, off] = m;
  const year = +y!, month = +mo!, day = +d!, hour = +h!, minute = +mi!, second = s ? +s : 0;
  // a leap second is not a meter interval end, and a year outside 1970–2199 is a typo (0026 is not 2026)
  if (year < MIN_YEAR || year > MAX_YEAR) return undefined;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 || minute > 59 || second > 59) return undefined;
  if (hour === 24 && (minute !== 0 || second !== 0)) return undefined;
  const ms = frac ? Math.round(Number('0.' + frac) * 1000) : 0;
  let wall = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  // Date.UTC rolls 31 Feb into March; reject such dates instead of guessing.
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCDate() !== day) return undefined;
  if (off === undefined) return wall; // naive: already Shanghai wall time
  let offsetMs = 0;
  if (off !== 'Z') {
    const sign = off[0] === '-' ? -1 : 1;
    const digits = off.slice(1).replace(':', '');
    const oh = +digits.slice(0, 2), om = digits.length > 2 ? +digits.slice(2, 4) : 0;
    // real offsets run from -12:00 to +14:00 with minutes below 60 (+99:99 is not one)
    if (oh > 14 || om > 59) return undefined;
    offsetMs = sign * (oh * 60 + om) * MINUTE_MS;
  }
  wall = wall - offsetMs + SHANGHAI_OFFSET_MS;
  return wall;
}

/** Local ms → 'YYYY-MM-DDTHH:MM:SS+08:00'. */
export function formatLocal(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + '+08:00';
}

/** An ISO time as a street office reads it: 'YYYY-MM-DD HH:MM' ('' for none). */
export function isoMinute(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 16).replace('T', ' ') : '';
}

/** Local ms → 'YYYY-MM-DD'. */
export function formatDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** 'YYYY-MM-DD' → local ms of that midnight, or undefined. */
export function parseDate(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
  return parseLocalMs(text + 'T00:00:00');
}

/** Local ms → the local day an interval ENDING at that time belongs to (end at midnight = previous day). */
export function dayOfIntervalEnd(endMs: number): number {
  return Math.floor((endMs - 1) / DAY_MS) * DAY_MS;
}

/** Current wall time in Shanghai as local ms. */
export function nowLocalMs(): number {
  return Date.now() + SHANGHAI_OFFSET_MS;
}

/** "11月19日" / "11月19日 21:15" for sentences a street office reads. */
export function formatZhDate(ms: number, withTime = false): string {
  const d = new Date(ms);
  const base = `${d.getUTCMonth() + 1}月${d.getUTCDate()}日`;
  if (!withTime) return base;
  return `${base} ${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}

/** The last local day the watermark (latest interval end, local ms) has passed (its midnight, local ms). */
export function lastCompleteDay(watermarkMs: number): number {
  return Math.floor(watermarkMs / DAY_MS) * DAY_MS - DAY_MS;
}

/** Local ms (Shanghai wall clock counted as UTC) → Unix epoch ms. */
export function localToEpochMs(localMs: number): number {
  return localMs - SHANGHAI_OFFSET_MS;
}
