import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { fixedClock } from '../../src/core/clock.js';
import { insertAdvisory, kevAdvisory, osvFixture } from '../helpers/advisories.js';
import { describeEachStore } from '../helpers/stores.js';
import { runCliCaptured } from '../helpers/cli.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/inventory');
const NOW = '2026-11-23T09:00:00.000Z';

describeEachStore('patchdeck exemptions / override / baselines commands', (s) => {
  let dir: string;
  let configFile: string;
  let now: string;

  beforeEach(async () => {
    now = NOW;
    dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-cli-exemptions-'));
    configFile = path.join(dir, 'patchdeck.yaml');
    writeFileSync(
      configFile,
      [
        'timezone: Europe/Berlin',
        'policy: { alertThreshold: medium }',
        'people:',
        '  - { id: alice, name: Alice, groups: [approvers] }',
        'baselines:',
        '  - group: web',
        '    packages:',
        '      - { ecosystem: "Ubuntu:22.04:LTS", name: openssh-server, minVersion: "1:8.9p1-3ubuntu0.10" }',
        '',
      ].join('\n'),
    );
    await insertAdvisory(s.store.db, osvFixture('USN-4705-1.json'));
    await insertAdvisory(s.store.db, osvFixture('USN-7270-1.json'));
    await insertAdvisory(s.store.db, kevAdvisory('CVE-2021-3156'));
    return () => rmSync(dir, { recursive: true, force: true });
  });

  async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    return runCliCaptured(argv, { env: { DATABASE_URL: s.url, PATCHDECK_CONFIG: configFile, USER: 'carol', LOG_LEVEL: 'silent' }, cwd: FIXTURES, clock: fixedClock(now) });
  }

  it('adds, lists and expires an exemption; the exposure follows', async () => {
    expect((await run('inventory', 'import', 'hosts.json')).code).toBe(0);
    expect((await run('assess')).code).toBe(0);
    const added = await run('exemptions', 'add', '--host', 'legacy-01', '--advisory', 'USN-4705-1', '--control', 'isolated VLAN', '--approved-by', 'alice', '--for', '30d');
    expect(added.code, added.err).toBe(0);
    expect(added.out).toBe('Recorded exemption #1 (host legacy-01, advisory USN-4705-1) until 2026-12-23 10:00 CET; 1 exposure now exempt.\n');
    const exempt = JSON.parse((await run('exposures', 'list', '--status', 'exempt', '--json')).out) as { host: string; status: string }[];
    expect(exempt.map((e) => [e.host, e.status])).toEqual([['legacy-01', 'exempt']]);

    const listed = JSON.parse((await run('exemptions', 'list', '--active', '--json')).out) as Record<string, unknown>[];
    expect(listed).toEqual([
      expect.objectContaining({ id: 1, kind: 'exemption', state: 'active', host: 'legacy-01', advisory: 'USN-4705-1', control: 'isolated VLAN', approved_by: 'alice', created_by: 'cli:carol', expires_at: '2026-12-23T09:00:00.000Z' }),
    ]);
    const table = await run('exemptions', 'list');
    expect(table.out).toMatch(/^ID\s+KIND\s+STATE\s+SCOPE\s+CONTROL\s+APPROVED BY\s+EXPIRES\n1\s+exemption\s+active\s+host legacy-01, advisory USN-4705-1\s+isolated VLAN\s+alice\s+2026-12-23 10:00 CET\n$/);

    const ended = await run('exemptions', 'expire', '1', '--json');
    expect(JSON.parse(ended.out)).toMatchObject({ id: 1, state: 'revoked', reopened_exposures: 1 });
    // The notices are queued with the change: the case's channel and alice, the approver.
    const notices = await s.store.db.selectFrom('jobs').select(['kind', 'unique_key']).where('kind', 'like', 'exemption.notify%').orderBy('id').execute();
    expect(notices.map((j) => j.kind)).toEqual(['exemption.notify', 'exemption.notify_approver']);
    expect(JSON.parse((await run('exemptions', 'list', '--expired', '--json')).out)).toHaveLength(1);
    expect((await run('exemptions', 'expire', '1')).code).toBe(1);
    expect(await s.store.db.selectFrom('jobs').select('id').where('kind', 'like', 'exemption.notify%').execute()).toHaveLength(2);
  });

  it('--expires DAY ends at the end of that day in the team time zone (Europe/Berlin), shown back there', async () => {
    expect((await run('inventory', 'import', 'hosts.json')).code).toBe(0);
    const add = (expires: string) => run('exemptions', 'add', '--host', 'legacy-01', '--advisory', 'USN-4705-1', '--control', 'isolated VLAN', '--approved-by', 'alice', '--expires', expires);
    const day = await add('2026-12-31');
    expect(day.code, day.err).toBe(0);
    expect(day.out).toBe('Recorded exemption #1 (host legacy-01, advisory USN-4705-1) until 2026-12-31 23:59 CET; 0 exposures now exempt.\n');
    const wallClock = await add('2026-12-01T18:00');
    expect(wallClock.out).toContain('until 2026-12-01 18:00 CET;');
    const withZone = await add('2026-12-01T18:00:00Z');
    expect(withZone.out).toContain('until 2026-12-01 19:00 CET;');
    const listed = JSON.parse((await run('exemptions', 'list', '--json')).out) as { expires_at: string }[];
    expect(listed.map((e) => e.expires_at)).toEqual(['2026-12-31T22:59:59.999Z', '2026-12-01T17:00:00.000Z', '2026-12-01T18:00:00.000Z']);
    const bad = await add('2026-02-30');
    expect([bad.code, bad.err]).toEqual([2, expect.stringContaining('[PD_USAGE] --expires "2026-02-30" is not a day of the calendar')]);
    expect((await add('next week')).err).toContain('[PD_EXEMPTION_INVALID] --expires "next week" is not a date');
  });

  it('refuses bad usage with exit 2 and bad input with exit 1', async () => {
    expect((await run('inventory', 'import', 'hosts.json')).code).toBe(0);
    expect((await run('exemptions', 'add', '--host', 'legacy-01', '--advisory', 'USN-4705-1', '--approved-by', 'alice', '--for', '30d')).code).toBe(2);
    expect((await run('exemptions', 'add', '--host', 'legacy-01', '--advisory', 'USN-4705-1', '--control', 'x', '--approved-by', 'alice', '--for', 'a month')).code).toBe(2);
    const forever = await run('exemptions', 'add', '--host', 'legacy-01', '--advisory', 'USN-4705-1', '--control', 'x', '--approved-by', 'alice');
    expect(forever.code).toBe(1);
    expect(forever.err).toContain('exemptions always expire');
    expect((await run('exemptions', 'expire', 'one')).code).toBe(2);
    expect((await run('exemptions', 'list', '--active', '--expired')).code).toBe(2);
  });

  it('overrides a case severity', async () => {
    expect((await run('inventory', 'import', 'hosts.json')).code).toBe(0);
    expect((await run('assess')).code).toBe(0);
    const result = await run('override', '1', '--severity', 'critical', '--reason', 'exposed jump host', '--as', 'alice');
    expect(result.code, result.err).toBe(0);
    expect(result.out).toBe('Case #1 severity high → critical (overridden by alice).\n');
    expect((await run('override', '1', '--severity', 'urgent', '--reason', 'x', '--as', 'alice')).code).toBe(2);
    expect((await run('override', '1', '--severity', 'low', '--reason', 'x', '--as', 'mallory')).code).toBe(1);
  });

  it('checks baselines: exit 1 while a host is below, 0 once exempt', async () => {
    expect((await run('inventory', 'import', 'hosts.json')).code).toBe(0);
    const below = await run('baselines', 'check', '--json');
    expect(below.code).toBe(1);
    expect(JSON.parse(below.out)).toEqual([
      {
        host: 'web-01',
        group: 'web',
        status: 'below',
        faults: [{ ecosystem: 'Ubuntu:22.04:LTS', package: 'openssh-server', installed: '1:8.9p1-3ubuntu0.6', min_version: '1:8.9p1-3ubuntu0.10', exemption: null, detail: '1:8.9p1-3ubuntu0.6 is below 1:8.9p1-3ubuntu0.10' }],
      },
    ]);
    expect((await run('exemptions', 'add', '--host', 'web-01', '--package', 'openssh-server', '--control', 'firewall rule', '--approved-by', 'alice', '--expires', '2026-12-31', '--mitigation')).code).toBe(0);
    const table = await run('baselines', 'check', '--group', 'web');
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/web-01\s+web\s+exempt\s+openssh-server 1:8\.9p1-3ubuntu0\.6 is below 1:8\.9p1-3ubuntu0\.10; mitigation #1 \(firewall rule\)/);
    expect((await run('baselines', 'check', '--group', 'nope')).code).toBe(2);
  });
});
