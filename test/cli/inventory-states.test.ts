import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { fixedClock } from '../../src/core/clock.js';
import { listAudit } from '../../src/store/audit.js';
import { sshdUnavailableReason, startSshd, type TestSshd } from '../helpers/sshd.js';
import { describeEachStore } from '../helpers/stores.js';
import type { CliIo } from '../../src/cli/io.js';
import { runCliCaptured } from '../helpers/cli.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/inventory');
const NOW = '2026-11-23T09:00:00.000Z';
const sshdReason = sshdUnavailableReason();
if (sshdReason !== null) console.warn(`[patchdeck tests] skipping CLI scans against a real sshd: ${sshdReason}`);

let sshd: TestSshd | null = null;
beforeAll(async () => {
  if (sshdReason === null) sshd = await startSshd();
}, 30_000);
afterAll(async () => {
  await sshd?.stop();
});

describeEachStore('patchdeck hosts states, foreign devices, osquery/KB imports and scans', (s) => {
  let dir: string;
  let configFile: string;
  let now = NOW;

  beforeEach(() => {
    now = NOW;
    dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-cli-states-'));
    configFile = path.join(dir, 'patchdeck.yaml');
    writeFileSync(configFile, 'timezone: UTC\ninventory:\n  staleAfterDays: 10\n');
    return () => rmSync(dir, { recursive: true, force: true });
  });

  async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    return runCliCaptured(argv, { env: { DATABASE_URL: s.url, PATCHDECK_CONFIG: configFile, USER: 'carol', LOG_LEVEL: 'silent', HOME: dir }, cwd: FIXTURES, clock: fixedClock(now) });
  }

  it('imports osquery results and a hotfix list with --format, then lists stale hosts after staleAfterDays', async () => {
    expect((await run(['inventory', 'import', 'osquery/results.log', '--format', 'osquery'])).out).toBe('Imported from file:results.log: 2 hosts created, 0 updated, 5 packages.\n');
    now = '2026-11-30T09:00:00.000Z';
    const kb = await run(['inventory', 'import', 'windows-kb/hotfixes.csv', '--format', 'windows-kb', '--json']);
    expect(JSON.parse(kb.out)).toMatchObject({ format: 'windows-kb', created: 2, updated: 1, packages: 4 });
    now = '2026-12-04T09:00:00.000Z';
    const stale = await run(['hosts', 'list', '--status', 'stale', '--json']);
    expect((JSON.parse(stale.out) as { name: string; status: string }[]).map((h) => [h.name, h.status])).toEqual([['db-02.example.internal', 'stale']]);
    const table = await run(['hosts', 'list']);
    expect(table.out).toMatch(/db-02\.example\.internal\s+stale\s+AlmaLinux:9/);
    expect(table.out).toMatch(/WS-042\s+managed\s+Microsoft Windows 11 Pro/);
    expect((await run(['hosts', 'list', '--status', 'unmanaged'])).out).toBe('No unmanaged hosts.\n');
    expect(await run(['hosts', 'list', '--status', 'lost'])).toMatchObject({ code: 2, err: expect.stringContaining('--status must be one of managed, unmanaged, foreign, stale') });
  });

  it('adds a foreign device with an owner, attests it (audited) and lists it by status', async () => {
    const added = await run(['hosts', 'add-foreign', 'guest-laptop-7', '--owner', 'Acme Contracting', '--group', 'guests', '--json']);
    expect(added.code, added.err).toBe(0);
    expect(JSON.parse(added.out)).toMatchObject({ name: 'guest-laptop-7', status: 'foreign', owner: 'Acme Contracting', attestation: 'pending' });
    expect((await run(['hosts', 'attest', 'guest-laptop-7', '--state', 'attested'])).out).toBe('guest-laptop-7: attestation is now attested.\n');
    const list = await run(['hosts', 'list', '--status', 'foreign']);
    expect(list.out).toMatch(/guest-laptop-7\s+foreign \(attested\)\s+-\s+laptop\s+low/);
    const show = JSON.parse((await run(['hosts', 'show', 'guest-laptop-7', '--json'])).out) as Record<string, unknown>;
    expect(show).toMatchObject({ status: 'foreign', attestation: 'attested', owner: 'Acme Contracting', packages: [] });
    expect((await listAudit(s.store.db)).map((e) => [e.action, e.actor])).toEqual([
      ['host.foreign_added', 'cli:carol'],
      ['host.attested', 'cli:carol'],
    ]);
    expect(await run(['hosts', 'attest', 'guest-laptop-7', '--state', 'maybe'])).toMatchObject({ code: 2, err: expect.stringContaining('--state must be one of pending, attested, expired') });
    expect(await run(['hosts', 'add-foreign', 'x-1'])).toMatchObject({ code: 2 });
    expect(await run(['hosts', 'add-foreign', 'guest-laptop-7', '--owner', 'B'])).toMatchObject({ code: 1, err: expect.stringContaining('already exists') });
    const help = await run(['hosts', 'add-foreign', '--help']);
    expect(help.out).toMatch(/--owner <owner>\s+who answers for the device/);
  });

  it('refuses bad scan targets as usage errors before connecting', async () => {
    expect(await run(['inventory', 'scan', '--ssh', '-oProxyCommand=touch_x@h'])).toMatchObject({ code: 2, err: expect.stringContaining('not starting with "-"') });
    expect(await run(['inventory', 'scan', '--ssh', 'root@-oProxyCommand=x'])).toMatchObject({ code: 2, err: expect.stringContaining('host name or an IP address') });
    expect(await run(['inventory', 'scan', '--ssh', 'a@h1', '--ssh', 'a@h2', '--name', 'x'])).toMatchObject({ code: 2, err: expect.stringContaining('--name needs exactly one') });
    expect(await run(['inventory', 'scan'])).toMatchObject({ code: 2 });
  });

  (sshdReason === null ? it : it.skip)('scans this machine over a real sshd, lists it as unmanaged, and exits 1 for an unknown host key', async () => {
    const target = `root@127.0.0.1:${sshd!.port}`;
    const knownHosts = path.join(dir, 'known_hosts');
    writeFileSync(knownHosts, '');
    const refused = await run(['inventory', 'scan', '--ssh', target, '--identity', sshd!.clientKey, '--known-hosts', knownHosts]);
    expect(refused).toMatchObject({ code: 1, err: expect.stringMatching(/^patchdeck: \[PD_SCAN_HOST_KEY\] /) });
    const scanned = await run(['inventory', 'scan', '--ssh', target, '--identity', sshd!.clientKey, '--known-hosts', knownHosts, '--accept-new', '--name', 'self-01']);
    expect(scanned.code, scanned.err).toBe(0);
    expect(scanned.out).toMatch(/^Scanned 1 of 1: 1 hosts created, 0 updated, \d+ packages\.\n/);
    expect(scanned.out).toContain(`Trusted the host key of ${target} on first use`);
    expect(scanned.out).toContain('Unmanaged (in no inventory source): self-01\n');
    expect(readFileSync(knownHosts, 'utf8')).toBe(`${sshd!.knownHostsLine}\n`);
    const again = await run(['inventory', 'scan', '--ssh', target, '--identity', sshd!.clientKey, '--known-hosts', knownHosts, '--name', 'self-01', '--json']);
    expect(JSON.parse(again.out)).toMatchObject({ created: 0, updated: 1, unmanaged: ['self-01'], accepted_keys: [], failed: [] });
    const unmanaged = JSON.parse((await run(['hosts', 'list', '--status', 'unmanaged', '--json'])).out) as { name: string; packages: number }[];
    expect(unmanaged.map((h) => h.name)).toEqual(['self-01']);
    expect(unmanaged[0]!.packages).toBeGreaterThan(100);
  }, 60_000);
});

describe('scan help', () => {
  it('documents every option', async () => {
    let out = '';
    const io: CliIo = { stdout: (t) => void (out += t), stderr: () => undefined, readStdin: async () => '', env: {}, cwd: FIXTURES };
    await runCli(['inventory', 'scan', '--help'], io);
    for (const option of ['--ssh <user@host[:port]>', '--identity <file>', '--known-hosts <file>', '--accept-new', '--name <name>', '--json']) expect(out).toContain(option);
    expect(out).toContain('a changed key is always refused');
  });
});
