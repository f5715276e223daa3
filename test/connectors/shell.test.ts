import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkSafeArgument, createShellConnector, expandTemplate } from '../../src/connectors/shell.js';
import type { ConnectorTarget } from '../../src/connectors/types.js';

let dir: string;
let recorder: string;
let log: string;

/** A stand-in for ssh/ansible: records its argv, and can print, fail or hang on request. */
const RECORDER = `
import { appendFileSync } from 'node:fs';
const [log, mode, ...args] = process.argv.slice(2);
appendFileSync(log, JSON.stringify(args) + '\\n');
if (mode === 'fail') { process.stderr.write('E: Unable to locate package ' + args.at(-1) + '\\n'); process.exit(3); }
if (mode === 'hang') setTimeout(() => {}, 60000);
if (mode === 'reboot-needed') process.stdout.write('Setting up libssl3 ...\\n*** System restart required ***\\nreboot required\\n');
`;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-shell-'));
  recorder = path.join(dir, 'recorder.mjs');
  log = path.join(dir, 'argv.log');
  writeFileSync(recorder, RECORDER);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function calls(): string[][] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as string[]);
}

function target(hostName: string, packages: { name: string; fixed: string | null }[] = [{ name: 'libssl3', fixed: '3.0.2-0ubuntu1.18' }]): ConnectorTarget {
  return { rolloutId: 1, hostName, packages: packages.map((p) => ({ ecosystem: 'Ubuntu:22.04:LTS', installed: '3.0.2-0ubuntu1.10', ...p })) };
}

function connector(mode: string, extra: { reboot?: string[]; timeoutMs?: number; perHost?: boolean } = {}) {
  const install = extra.perHost ? [process.execPath, recorder, log, mode, 'install-on', '{host}'] : [process.execPath, recorder, log, mode, '--', '{host}', '{package}={version}'];
  return createShellConnector({ install, reboot: extra.reboot, timeoutMs: extra.timeoutMs ?? 10_000 });
}

describe('shell connector', () => {
  it('passes command-substitution names through as literal single arguments (no shell runs them)', async () => {
    const marker = path.join(dir, 'pwned');
    const host = `$(touch\${IFS}${marker})`;
    const pkg = `\`touch\${IFS}${marker}\`;touch\${IFS}${marker}|x&&y`;
    const result = await connector('ok').install(target(host, [{ name: pkg, fixed: "1.0'\"$HOME" }]));
    expect(result.ok).toBe(true);
    expect(calls()).toEqual([['--', host, `${pkg}=1.0'"$HOME`]]);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses a host name that looks like an option, before running anything', async () => {
    const marker = path.join(dir, 'pwned');
    await expect(connector('ok').install(target(`-oProxyCommand=touch\${IFS}${marker}`))).rejects.toMatchObject({ code: 'PD_CONNECTOR_UNSAFE_ARG' });
    await expect(connector('ok').reboot(target('-x'))).rejects.toMatchObject({ code: 'PD_CONNECTOR_UNSAFE_ARG' });
    expect(calls()).toEqual([]);
    expect(existsSync(marker)).toBe(false);
  });

  it.each([
    ['host', 'web 01', 'host'],
    ['host', 'web\n01', 'host'],
    ['host', '', 'host'],
    ['package', 'lib\tssl', 'package'],
    ['package', 'libssl3\u0007', 'package'],
    ['package', '--force-yes', 'package'],
    ['version', '-1', 'version'],
    ['version', '1.0 2', 'version'],
  ] as const)('refuses a %s of %j', async (where, value, kind) => {
    const t = where === 'host' ? target(value) : where === 'package' ? target('web-01', [{ name: value, fixed: '1.0' }]) : target('web-01', [{ name: 'libssl3', fixed: value }]);
    await expect(connector('ok').install(t)).rejects.toMatchObject({ code: 'PD_CONNECTOR_UNSAFE_ARG', details: { kind } });
    expect(calls()).toEqual([]);
  });

  it('runs a per-package template once per package and a per-host template once', async () => {
    const pkgs = [{ name: 'libssl3', fixed: '3.0.2-0ubuntu1.18' }, { name: 'openssl', fixed: '3.0.2-0ubuntu1.18' }];
    expect(await connector('ok').install(target('web-01', pkgs))).toMatchObject({ ok: true, rebootRequired: false });
    await connector('ok', { perHost: true }).install(target('web-02', pkgs));
    expect(calls()).toEqual([
      ['--', 'web-01', 'libssl3=3.0.2-0ubuntu1.18'],
      ['--', 'web-01', 'openssl=3.0.2-0ubuntu1.18'],
      ['install-on', 'web-02'],
    ]);
  });

  it('reports a non-zero exit as a failed install with the end of stderr, and stops there', async () => {
    const pkgs = [{ name: 'libfoo', fixed: '1.2' }, { name: 'libbar', fixed: '1.3' }];
    const result = await connector('fail').install(target('web-01', pkgs));
    expect(result.ok).toBe(false);
    expect(result.detail).toBe('exit 3: E: Unable to locate package libfoo=1.2');
    expect(calls()).toHaveLength(1);
  });

  it('kills a command that runs past the timeout', async () => {
    const started = Date.now();
    const result = await connector('hang', { timeoutMs: 300 }).install(target('web-01'));
    expect(result).toMatchObject({ ok: false, detail: 'timed out after 300 ms' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reports a missing program clearly', async () => {
    const missing = createShellConnector({ install: [path.join(dir, 'no-such-tool'), '{host}'], timeoutMs: 1000 });
    expect(await missing.install(target('web-01'))).toMatchObject({ ok: false, detail: expect.stringContaining('command not found') });
  });

  it('asks for a reboot when the install says so and a reboot command exists, then runs it', async () => {
    const withReboot = connector('reboot-needed', { reboot: [process.execPath, recorder, log, 'ok', 'reboot', '{host}'] });
    const install = await withReboot.install(target('web-01'));
    expect(install).toMatchObject({ ok: true, rebootRequired: true, detail: expect.stringContaining('reboot required') });
    expect(await withReboot.reboot(target('web-01'))).toEqual({ ok: true, detail: 'reboot command finished' });
    expect(calls().at(-1)).toEqual(['reboot', 'web-01']);
    expect((await connector('reboot-needed').install(target('web-02'))).rebootRequired).toBe(false);
    const failingReboot = connector('ok', { reboot: [process.execPath, recorder, log, 'fail', '{host}'] });
    expect(await failingReboot.reboot(target('web-01'))).toMatchObject({ ok: false, detail: expect.stringMatching(/^exit 3/) });
  });

  it('remembers installs for getState and refuses a {version} template when no fix exists', async () => {
    const shell = connector('ok');
    expect(await shell.getState(target('web-01'))).toBe('unknown');
    await shell.install(target('web-01'));
    expect(await shell.getState(target('web-01'))).toBe('patched');
    await expect(shell.install(target('web-02', [{ name: 'libfoo', fixed: null }]))).rejects.toMatchObject({ code: 'PD_CONNECTOR_NO_FIX' });
  });

  it('replaces placeholders inside arguments only', () => {
    expect(expandTemplate(['ssh', '{host}', 'apt-get install {package}={version}', '{unknown}'], { host: 'h', package: 'p', version: '1' })).toEqual(['ssh', 'h', 'apt-get install p=1', '{unknown}']);
    expect(() => checkSafeArgument('host', 'db-01.example.com')).not.toThrow();
    expect(() => checkSafeArgument('version', '1:8.9p1-3ubuntu0.11')).not.toThrow();
  });
});
