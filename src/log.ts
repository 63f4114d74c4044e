/**
 * pino JSON logs on stderr (stdout is for command output). Logs carry counts and ids, never
 * names or addresses; the redact list is a safety net in case a record is ever logged whole.
 */
import { pino, type Logger } from 'pino';

export const REDACT_PATHS = [
  'account_name', 'address', 'site_name',
  '*.account_name', '*.address', '*.site_name',
  '*.*.account_name', '*.*.address', '*.*.site_name',
];

export function createLogger(level = process.env.POWERSCREEN_LOG_LEVEL ?? 'warn'): Logger {
  return pino({ level, base: { app: 'powerscreen' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, pino.destination(2));
}
