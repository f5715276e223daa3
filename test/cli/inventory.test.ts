import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { fixedClock } from '../../src/core/clock.js';
import { listAudit } from '../../src/store/audit.js';
import { insertAdvisory, osvFixture } from '../helpers/advisories.js';
import { describeEachStore } from '../helpers/stores.js';
import { runCliCaptured } from '../helpers/cli.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/inventory');
const NOW = '2026-11-23T09:00:00.000Z';

describeEachStore('patchdeck inventory / hosts commands', (s) => {
  let dir: string;
  let configFile: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-cli-inventory-'));
    configFile = path.join(dir, 'patchdeck.yaml');
    writeFileSync(configFile, 'timezone: Europe/Berlin\n');
    return () => rmSync(dir, { recursive: true, force: true });
  });

  async function run(argv: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
    return runCliCaptured(argv, { env: { DATABASE_URL: s.url, PATCHDECK_CONFIG: configFile, USER: 'carol', LOG_LEVEL: 'silent' }, cwd: FIXTURES, clock: fixedClock(NOW), stdin: stdin });
  }

  it('imports a JSON file (format from the extension) and audits it as the CLI user', async () => {
    const result = await run(['inventory', 'import', 'hosts.json']);
    expect(result, result.err).toMatchObject({ code: 0, out: 'Imported from file:hosts.json: 4 hosts created, 0 updated, 11 packages.\n' });
    const [event] = await listAudit(s.store.db);
    expect(event).toMatchObject({ actor: 'cli:carol', action: 'inventory.imported', subjectId: 'file:hosts.json' });
  });

  it('imports CSV with --json and reports counts; re-import updates', async () => {
    const first = await run(['inventory', 'import', path.join(FIXTURES, 'hosts.csv'), '--json']);
    expect(first.code, first.err).toBe(0);
    expect(JSON.parse(first.out)).toEqual({ source: 'file:hosts.csv', format: 'csv', created: 4, updated: 0, packages: 11, rejected: [] });
    const second = await run(['inventory', 'import', 'hosts.csv', '--json']);
    expect(JSON.parse(second.out)).toMatchObject({ created: 0, updated: 4 });
  });

  it('imports the good hosts of a bad file, lists the rejects by line, and exits 1', async () => {
    const result = await run(['inventory', 'import', 'hosts-bad.csv']);
    expect(result.code).toBe(1);
    expect(result.out).toBe('Imported from file:hosts-bad.csv: 2 hosts created, 0 updated, 2 packages.\n');
    expect(result.err).toContain('10 problems; these hosts were not imported:\n');
    expect(result.err).toContain('  line 4 (urgent-01) criticality: criticality must be one of low, medium, high, critical\n');
    expect(result.err).toContain('  line 5 (-oProxyCommand=touch_pwned) host: host name must be');
    const json = await run(['inventory', 'import', 'hosts-bad.json', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out).rejected[0]).toEqual({ location: 'hosts[1]', host: '-oProxyCommand=touch_pwned', field: 'name', message: expect.any(String) });
  });

  it('reads standard input with "-" and an explicit format', async () => {
    const text = readFileSync(path.join(FIXTURES, 'hosts.json'), 'utf8');
    const result = await run(['inventory', 'import', '-', '--format', 'JSON', '--json'], text);
    expect(result.code, result.err).toBe(0);
    expect(JSON.parse(result.out)).toMatchObject({ source: 'stdin', created: 4 });
  });

  it('answers bad usage with exit 2 and a missing file with exit 1', async () => {
    writeFileSync(path.join(dir, 'fleet.txt'), '[]');
    const unknown = await run(['inventory', 'import', path.join(dir, 'fleet.txt')]);
    expect(unknown).toMatchObject({ code: 2, err: expect.stringContaining('pass --format json|csv|osquery|windows-kb') });
    const badFormat = await run(['inventory', 'import', 'hosts.json', '--format', 'xml']);
    expect(badFormat).toMatchObject({ code: 2, err: expect.stringContaining('--format must be one of json, csv, osquery, windows-kb') });
    const stdinNoFormat = await run(['inventory', 'import', '-']);
    expect(stdinNoFormat.code).toBe(2);
    const missing = await run(['inventory', 'import', 'nope.json']);
    expect(missing).toMatchObject({ code: 1, err: expect.stringMatching(/^patchdeck: \[PD_INVENTORY_FILE\] .*nope\.json does not exist\n$/) });
    const broken = await run(['inventory', 'import', '-', '--format', 'json'], '[{');
    expect(broken).toMatchObject({ code: 1, err: expect.stringContaining('stdin is not valid JSON') });
  });

  it('lists hosts and shows one with packages and open exposures', async () => {
    await run(['inventory', 'import', 'hosts.json']);
    await insertAdvisory(s.store.db, osvFixture('USN-6859-1.json', { cvssScore: 8.1 }));
    expect((await run(['assess'])).code).toBe(0);

    const list = await run(['hosts', 'list', '--json']);
    const hosts = JSON.parse(list.out) as Record<string, unknown>[];
    expect(hosts.map((h) => h.name)).toEqual(['db-01.example.internal', 'legacy-01', 'web-01', 'ws-01']);
    expect(hosts[2]).toEqual({
      name: 'web-01',
      os: 'Ubuntu:22.04:LTS',
      role: 'server',
      criticality: 'high',
      usage: 0.9,
      owner: 'web-team',
      groups: ['web', 'pilot'],
      packages: 4,
      open_exposures: 2,
      last_seen_at: NOW,
      status: 'managed',
      attestation: null,
    });
    const table = await run(['hosts', 'list']);
    expect(table.out.split('\n')[0]).toMatch(/^NAME\s+STATUS\s+OS\s+ROLE\s+CRITICALITY\s+PACKAGES\s+OPEN\s+LAST SEEN\s+GROUPS$/);
    expect(table.out).toMatch(/web-01\s+managed\s+Ubuntu:22.04:LTS\s+server\s+high\s+4\s+2\s+2026-11-23 10:00 CET\s+web, pilot/);

    const show = await run(['hosts', 'show', 'web-01', '--json']);
    const detail = JSON.parse(show.out) as { packages: unknown[]; exposures: Record<string, unknown>[] };
    expect(detail.packages).toHaveLength(4);
    // The SSVC policy keeps this unexploited CVSS 8.1 flaw at medium (Track) on web-01.
    expect(detail.exposures.map((e) => [e.advisory, e.package, e.severity, e.due_at])).toEqual([
      ['USN-6859-1', 'openssh-client', 'medium', '2026-12-23T09:00:00.000Z'],
      ['USN-6859-1', 'openssh-server', 'medium', '2026-12-23T09:00:00.000Z'],
    ]);
    const human = await run(['hosts', 'show', 'web-01']);
    expect(human.out).toContain('web-01: Ubuntu:22.04:LTS, server, criticality high, usage 0.9, owner web-team\n');
    expect(human.out).toContain('Open exposures (2):\n');
    expect(human.out).toMatch(/openssh-server\s+1:8.9p1-3ubuntu0.6\s+1:8.9p1-3ubuntu0.10\s+medium\s+open\s+2026-12-23 10:00 CET/);

    const unknown = await run(['hosts', 'show', 'nope-01']);
    expect(unknown).toMatchObject({ code: 1, err: expect.stringContaining('no host named "nope-01"') });
  });

  it('says so when there are no hosts, and documents its options', async () => {
    expect((await run(['hosts', 'list'])).out).toContain('No hosts yet');
    expect(JSON.parse((await run(['hosts', 'list', '--json'])).out)).toEqual([]);
    const help = await run(['inventory', 'import', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('replaces its package list');
    expect(help.out).toMatch(/--format <format>\s+file format, one of json, csv, osquery, windows-kb/);
  });
});
