import type { Command } from 'commander';
import { loadPipeline } from '../../config/pipeline.js';
import { accountProblem, hashPassword, loadAccounts, saveAccounts, usersFileFor, type Role } from '../../console/users.js';
import { PowerscreenError } from '../../errors.js';
import { formatLocal, nowLocalMs } from '../../time.js';

/** The password from stdin (never an argument: arguments show in `ps` and shell history). */
async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('password (input hidden is not supported here; pipe it in): ');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const pw = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (!pw) throw new PowerscreenError('CONFIG_INVALID', 'password: none given on stdin (e.g. `printf %s "$PW" | powerscreen users add …`)');
  return pw;
}

export function register(program: Command): void {
  const users = program.command('users').description('console accounts: district (all streets), street (its own street only), analyst (read-only)');
  const fileOf = (o: { db?: string; pipeline?: string }) => {
    const p = loadPipeline(o.pipeline);
    return usersFileFor(o.db ?? p.store.db, p.console.users_file);
  };
  const common = (c: Command) => c.option('--db <file>', 'the database the console serves (accounts live beside it)').option('--pipeline <file>', 'pipeline file (JSON)');
  common(users.command('add')
    .description('create an account; the password is read from stdin (at least 10 characters)')
    .argument('<username>')
    .requiredOption('--role <role>', 'district | street | analyst')
    .option('--street <name>', 'the street of a street account'))
    .action(async (username: string, o: { role: string; street?: string; db?: string; pipeline?: string }) => {
      const problem = accountProblem({ username, role: o.role, street: o.street });
      if (problem) throw new PowerscreenError('CONFIG_INVALID', problem);
      const file = fileOf(o);
      const all = loadAccounts(file);
      if (all.some((a) => a.username === username)) throw new PowerscreenError('CONFIG_INVALID', `username: ${username} exists; use \`users passwd\` or \`users remove\``);
      all.push({ username, role: o.role as Role, ...(o.street ? { street: o.street } : {}), hash: await hashPassword(await readPassword()), created_at: formatLocal(nowLocalMs()) });
      saveAccounts(file, all);
      process.stdout.write(`${username}: ${o.role}${o.street ? ` (${o.street})` : ''} account created in ${file}\n`);
    });
  common(users.command('passwd').description('set a new password (from stdin); open sessions of the account keep running until they expire').argument('<username>'))
    .action(async (username: string, o: { db?: string; pipeline?: string }) => {
      const file = fileOf(o);
      const all = loadAccounts(file);
      const a = all.find((x) => x.username === username);
      if (!a) throw new PowerscreenError('INPUT_NOT_FOUND', `username: no account ${username} in ${file}`);
      a.hash = await hashPassword(await readPassword());
      saveAccounts(file, all);
      process.stdout.write(`${username}: password changed\n`);
    });
  common(users.command('remove').description('delete an account (its sessions end at the next request)').argument('<username>'))
    .action((username: string, o: { db?: string; pipeline?: string }) => {
      const file = fileOf(o);
      const all = loadAccounts(file);
      if (!all.some((x) => x.username === username)) throw new PowerscreenError('INPUT_NOT_FOUND', `username: no account ${username} in ${file}`);
      saveAccounts(file, all.filter((x) => x.username !== username));
      process.stdout.write(`${username}: removed\n`);
    });
  common(users.command('list').description('accounts, their roles and streets (no password hashes)'))
    .action((o: { db?: string; pipeline?: string }) => {
      for (const a of loadAccounts(fileOf(o))) process.stdout.write(`${a.username}\t${a.role}\t${a.street ?? ''}\t${a.created_at}\n`);
    });
}
