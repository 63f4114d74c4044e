/**
 * What the delivery tests share: a real SMTP server on a local socket (smtp-server), and a
 * database holding the small district's cases, backfilled by the CLI as an operator would.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';

const ROOT = join(import.meta.dirname, '..', '..');
const SMALL = join(ROOT, 'fixtures', 'small');

export interface RunningSmtp { server: SMTPServer; close: () => Promise<void> }

/** Listen on 127.0.0.1:port; every mail received is parsed and pushed to `mails`. */
export function startSmtp(port: number, mails: ParsedMail[]): Promise<RunningSmtp> {
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS', 'AUTH'], logger: false,
    onData(stream, _session, cb) { simpleParser(stream).then((m) => { mails.push(m); cb(); }, cb); },
  });
  return new Promise((res) => server.listen(port, '127.0.0.1', () => res({ server, close: () => new Promise<void>((r) => server.close(() => r())) })));
}

/** `powerscreen backfill` of fixtures/small into dbPath (its cases fall on 2026-10-20 in 鼓东街道). */
export function backfillSmallDistrict(dbPath: string): Promise<void> {
  const args = [join(ROOT, 'bin', 'powerscreen.js'), 'backfill', '--readings', join(SMALL, 'readings.csv'), '--meters', join(SMALL, 'meters.csv'), '--sites', join(SMALL, 'sites.csv'), '--db', dbPath];
  return new Promise((res, rej) => execFile(process.execPath, args, (e, _out, err) => (e ? rej(new Error(`backfill failed: ${err}`, { cause: e })) : res())));
}
