import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { reportError, runCli } from '../../src/cli/main.js';
import { fixedClock } from '../../src/core/clock.js';
import { PatchdeckError } from '../../src/core/errors.js';
import { databaseConnectError, describeDatabaseUrl } from '../../src/store/db.js';
import type { CliIo } from '../../src/cli/io.js';
import { runCliCaptured } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-cli-errors-'));
const configFile = path.join(dir, 'patchdeck.yaml');
writeFileSync(configFile, 'timezone: UTC\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return runCliCaptured(argv, { env: { DATABASE_URL: `sqlite:${path.join(dir, 'ok.db')}`, PATCHDECK_CONFIG: configFile, LOG_LEVEL: 'silent', ...env }, cwd: dir, clock: fixedClock('2026-11-23T09:00:00.000Z') });
}

/** What every usage error looks like: one coded line, then where the help is. */
const usage = (message: string | RegExp, command: string) =>
  new RegExp(`^patchdeck: \\[PD_USAGE\\] ${typeof message === 'string' ? message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : message.source}\\nTry '${command} --help' for more information\\.\\n$`);

describe('usage errors', () => {
  it.each([
    ['a bad --severity choice', ['exposures', 'list', '--severity', 'urgent'], /option '--severity <severity>' argument 'urgent' is invalid\. Allowed choices are low, medium, high, critical\./, 'patchdeck exposures list'],
    ['a missing required option', ['cases', 'approve', '3'], "required option '--as <person>' not specified", 'patchdeck cases approve'],
    ['an unknown option', ['hosts', 'list', '--colour'], "unknown option '--colour'", 'patchdeck hosts list'],
    ['a missing argument', ['hosts', 'show'], "missing required argument 'name'", 'patchdeck hosts show'],
    ['an unknown command', ['hostz'], "unknown command 'hostz' (did you mean hosts?)", 'patchdeck'],
    ['an unknown subcommand', ['feeds', 'pol'], "unknown command 'pol' (did you mean poll?)", 'patchdeck feeds'],
    ['too many arguments', ['hosts', 'show', 'a', 'b'], "too many arguments for 'show'. Expected 1 argument but got 2.", 'patchdeck hosts show'],
    ['an unknown program option', ['--frob', 'hosts', 'list'], "unknown option '--frob'", 'patchdeck'],
    ["a value Patchdeck's own checks refuse", ['cases', 'show', 'abc'], 'the case id must be a positive whole number such as 12 (got "abc")', 'patchdeck cases show'],
  ])('%s: PD_USAGE, the command help to read, exit 2', async (_what, argv, message, command) => {
    const result = await run(argv);
    expect(result.err).toMatch(usage(message, command));
    expect(result).toMatchObject({ code: 2, out: '' });
  });

  it('a command group without a command shows its help and exits 2', async () => {
    const result = await run(['feeds']);
    expect(result.code).toBe(2);
    expect(result.err).toContain('Usage: patchdeck feeds [options] [command]');
    expect(result.err).toMatch(/\npatchdeck: \[PD_USAGE\] 'patchdeck feeds' needs a command: ingest, poll, status, quarantine\n$/);
  });

  it('--help and the help command still exit 0 and print to stdout', async () => {
    const result = await run(['cases', 'approve', '--help']);
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toContain('Usage: patchdeck cases approve [options] <case>');
    for (const argv of [['help'], ['help', 'cases'], ['cases', 'help', 'approve'], ['--help']]) {
      const help = await run(argv);
      expect([argv, help.code, help.err]).toEqual([argv, 0, '']);
      expect(help.out).toMatch(/^Usage: patchdeck /);
    }
  });
});

describe('a database that cannot be opened', () => {
  it('PostgreSQL not listening: PD_DB_UNREACHABLE naming the URL without its password, no stack, exit 1', async () => {
    const result = await run(['hosts', 'list'], { DATABASE_URL: 'postgres://patch:s3cret@127.0.0.1:1/x' });
    expect(result.code).toBe(1);
    expect(result.err).toBe(
      'patchdeck: [PD_DB_UNREACHABLE] cannot connect to PostgreSQL at postgres://patch@127.0.0.1:1/x: the connection was refused (ECONNREFUSED). ' +
        'Check that the server is running and reachable from here, and that DATABASE_URL (or config databaseUrl) names it.\n',
    );
  });

  it('shows the stack, with its cause, only with --debug or PATCHDECK_DEBUG=1', async () => {
    const url = 'postgres://patch:s3cret@127.0.0.1:1/x';
    for (const result of [await run(['--debug', 'hosts', 'list'], { DATABASE_URL: url }), await run(['hosts', 'list', '--debug'], { DATABASE_URL: url }), await run(['hosts', 'list'], { DATABASE_URL: url, PATCHDECK_DEBUG: '1' })]) {
      expect(result.code).toBe(1);
      expect(result.err).toMatch(/^patchdeck: \[PD_DB_UNREACHABLE\] .*\nPatchdeckError: cannot connect .*\n {4}at /);
      expect(result.err).toMatch(/\ncaused by: Error: connect ECONNREFUSED 127\.0\.0\.1:1\n/);
      expect(result.err).not.toContain('s3cret');
    }
    expect((await run(['hosts', 'list'], { DATABASE_URL: url, PATCHDECK_DEBUG: '0' })).err).not.toContain('    at ');
  });

  it('a refused login or missing database is PD_DB_LOGIN, saying what to check', () => {
    const error = databaseConnectError('postgres://app:pw@db.example:5432/patchdeck', Object.assign(new Error('password authentication failed for user "app"'), { code: '28P01' }));
    expect(error).toMatchObject({ code: 'PD_DB_LOGIN' });
    expect(error.message).toBe(
      'PostgreSQL at postgres://app@db.example:5432/patchdeck refused the connection: the password was refused (password authentication failed for user "app"). ' +
        'Check the user, password and database name in DATABASE_URL (or config databaseUrl).',
    );
    expect(databaseConnectError('postgres://db.example/x', Object.assign(new Error('getaddrinfo ENOTFOUND db.example'), { code: 'ENOTFOUND' })).message).toContain(
      'the host name does not resolve (ENOTFOUND)',
    );
  });

  it('never shows a password, also one given as a query parameter or in an unparseable URL', () => {
    expect(describeDatabaseUrl('postgres://app:pw@db:5432/x?sslmode=require&password=pw2')).toBe('postgres://app@db:5432/x?sslmode=require');
    expect(describeDatabaseUrl('postgres://app:p@ss:word@[::1/x')).toBe('postgres://…');
  });

  it('SQLite under a path that is a file, a directory, or a file that is not a database: PD_DB_FILE, exit 1', async () => {
    const notDb = path.join(dir, 'notes.txt');
    writeFileSync(notDb, 'these are not the tables you are looking for\n'.repeat(100));
    const folder = path.join(dir, 'folder.db');
    mkdirSync(folder);
    const cases: [string, string][] = [
      [`${notDb}/patchdeck.db`, 'a part of its directory path is a file'],
      [folder, 'the file cannot be opened (a directory, or no permission to read and write it)'],
      [notDb, 'the file is not a SQLite database'],
    ];
    for (const [file, why] of cases) {
      const result = await run(['patches', 'list'], { DATABASE_URL: `sqlite:${file}` });
      expect(result.code).toBe(1);
      expect(result.err).toBe(
        `patchdeck: [PD_DB_FILE] cannot open the SQLite database sqlite:${file}: ${why}. ` +
          'Check the path in DATABASE_URL (or config databaseUrl) and that this user may read and write the file and its directory.\n',
      );
    }
  });
});

describe('reportError', () => {
  const capture = () => {
    let err = '';
    return { io: { stdout: () => undefined, stderr: (t: string) => void (err += t), readStdin: async () => '', env: {}, cwd: '/' } satisfies CliIo, err: () => err };
  };
  const hint = () => "Try 'patchdeck x --help' for more information.\n";

  it('an unexpected error: PD_INTERNAL, one line and how to see more, exit 1; the stack with --debug', () => {
    const quiet = capture();
    expect(reportError(quiet.io, new TypeError('cannot read properties of undefined'), { debug: false, usageHint: hint })).toBe(1);
    expect(quiet.err()).toBe(
      'patchdeck: [PD_INTERNAL] unexpected error: cannot read properties of undefined\nRun again with --debug (or PATCHDECK_DEBUG=1) to see the stack trace, and report it.\n',
    );
    const loud = capture();
    reportError(loud.io, new TypeError('cannot read properties of undefined'), { debug: true, usageHint: hint });
    expect(loud.err()).toMatch(/^patchdeck: \[PD_INTERNAL\] unexpected error: cannot read properties of undefined\nTypeError: cannot read properties of undefined\n {4}at /);
  });

  it('a PatchdeckError: its code first, exit 1', () => {
    const out = capture();
    expect(reportError(out.io, new PatchdeckError('PD_CASE_NOT_FOUND', 'there is no case 9'), { debug: false, usageHint: hint })).toBe(1);
    expect(out.err()).toBe('patchdeck: [PD_CASE_NOT_FOUND] there is no case 9\n');
  });
});
