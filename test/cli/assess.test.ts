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

describeEachStore('patchdeck assess / exposures / patches commands', (s) => {
  let dir: string;
  let configFile: string;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-cli-assess-'));
    configFile = path.join(dir, 'patchdeck.yaml');
    writeFileSync(
      configFile,
      ['timezone: Europe/Berlin', 'policy: { alertThreshold: high }', 'routing:', '  defaultChannel: "#patching"', '  rules:', '    - { channel: "#dba", group: databases }', ''].join('\n'),
    );
    await insertAdvisory(s.store.db, osvFixture('USN-6859-1.json', { cvssScore: 8.1 }));
    await insertAdvisory(s.store.db, osvFixture('USN-7270-1.json'));
    await insertAdvisory(s.store.db, osvFixture('USN-4705-1.json'));
    await insertAdvisory(s.store.db, osvFixture('GHSA-h75v-3vvj-5mfj.json', { cvssScore: 5.4 }));
    await insertAdvisory(s.store.db, kevAdvisory('CVE-2021-3156'));
    // regreSSHion is widely exploited: its EPSS percentile makes it "active" in the SSVC tree.
    await s.store.db.insertInto('epss_scores').values({ cve: 'CVE-2024-6387', epss: 0.42, percentile: 0.974, score_date: '2026-11-22', model_version: null }).execute();
    return () => rmSync(dir, { recursive: true, force: true });
  });

  async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    return runCliCaptured(argv, { env: { DATABASE_URL: s.url, PATCHDECK_CONFIG: configFile, USER: 'carol', LOG_LEVEL: 'silent' }, cwd: FIXTURES, clock: fixedClock(NOW) });
  }

  async function importAndAssess() {
    expect((await run('inventory', 'import', 'hosts.json')).code).toBe(0);
    return run('assess', '--json');
  }

  it('assesses, prints counts and the cases it opened, and is idempotent', async () => {
    expect((await run('inventory', 'import', 'hosts.json')).code).toBe(0);
    const first = await run('assess');
    expect(first.code, first.err).toBe(0);
    expect(first.out).toBe('Exposures: 7 new, 0 unchanged, 0 resolved.\nOpened 2 cases awaiting approval: #1, #2\n');
    const again = await run('assess', '--json');
    expect(JSON.parse(again.out)).toEqual({ exposures: { new: 0, unchanged: 7, resolved: 0 }, casesOpened: [] });
    expect((await run('assess')).out).toContain('No new cases opened.');
  });

  it('lists exposures as JSON with the documented fields and filters', async () => {
    await importAndAssess();
    const all = JSON.parse((await run('exposures', 'list', '--json')).out) as Record<string, unknown>[];
    expect(all).toHaveLength(7);
    const sudo = all.find((e) => e.advisory === 'USN-4705-1');
    expect(sudo).toEqual({
      host: 'legacy-01',
      advisory: 'USN-4705-1',
      cves: ['CVE-2021-3156', 'CVE-2021-23239'],
      ecosystem: 'Ubuntu:16.04:LTS',
      package: 'sudo',
      installed: '1.8.16-0ubuntu1.9',
      fixed: '1.8.16-0ubuntu1.10',
      severity: 'high',
      reasons: [
        'sudo 1.8.16-0ubuntu1.9 is inside ECOSYSTEM range [introduced 0, fixed 1.8.16-0ubuntu1.10]: fixed in 1.8.16-0ubuntu1.10',
        'Published: vendor severity "high": high',
        'Exploitation: active (in CISA KEV since 2022-04-06)',
        'Automatable: no (no CVSS vector to tell, so not assumed)',
        'Technical impact: total (no CVSS vector; vendor severity "high" is high)',
        'Mission & well-being: medium (host criticality medium)',
        'SSVC decision Attend: high (published high, within high)',
        'In CISA KEV (federal due date 2022-04-27): at or above the KEV minimum high',
        'Role: server',
        'SLA for high: 7d (default): due 2026-11-30 10:00 CET',
      ],
      detected_at: expect.stringMatching(/^2026-11-23T/),
      due_at: '2026-11-30T09:00:00.000Z',
      status: 'open',
      case_id: expect.any(Number),
      exemption_id: null,
    });
    const web = JSON.parse((await run('exposures', 'list', '--host', 'web-01', '--severity', 'high', '--json')).out) as Record<string, unknown>[];
    expect(web.map((e) => [e.advisory, e.package])).toEqual([
      ['USN-6859-1', 'openssh-client'],
      ['USN-6859-1', 'openssh-server'],
    ]);
    expect(JSON.parse((await run('exposures', 'list', '--status', 'resolved', '--json')).out)).toEqual([]);
    expect(JSON.parse((await run('exposures', 'list', '--status', 'all', '--json')).out)).toHaveLength(7);
  });

  it('names the exemption holding an exposure in the JSON', async () => {
    await importAndAssess();
    const added = await run('exemptions', 'add', '--host', 'legacy-01', '--advisory', 'USN-4705-1', '--control', 'isolated VLAN', '--approved-by', 'alice', '--for', '30d', '--json');
    expect(added.code, added.err).toBe(0);
    const id = (JSON.parse(added.out) as { id: number }).id;
    const held = JSON.parse((await run('exposures', 'list', '--status', 'exempt', '--json')).out) as Record<string, unknown>[];
    expect(held.map((e) => [e.host, e.advisory, e.status, e.exemption_id])).toEqual([['legacy-01', 'USN-4705-1', 'exempt', id]]);
  });

  it('assesses only the named advisories or hosts, and refuses unknown ones', async () => {
    expect((await run('inventory', 'import', 'hosts.json')).code).toBe(0);
    const one = await run('assess', '--advisory', 'USN-4705-1', '--json');
    expect(one.code, one.err).toBe(0);
    expect(JSON.parse(one.out)).toEqual({ exposures: { new: 1, unchanged: 0, resolved: 0 }, casesOpened: [1] });
    const host = await run('assess', '--host', 'web-01', '--host', 'legacy-01', '--json');
    expect(JSON.parse(host.out).exposures).toEqual({ new: 4, unchanged: 1, resolved: 0 });
    expect((await run('assess', '--json')).out).toContain('"new":');
    const unknownAdvisory = await run('assess', '--advisory', 'USN-0000-0');
    expect(unknownAdvisory).toMatchObject({ code: 1, err: expect.stringContaining('no advisory "USN-0000-0"') });
    const unknownHost = await run('assess', '--host', 'nobody');
    expect(unknownHost).toMatchObject({ code: 1, err: expect.stringContaining('no host named "nobody"') });
  });

  it('prints exposures as a table with due times in the configured zone', async () => {
    await importAndAssess();
    const table = await run('exposures', 'list', '--host', 'legacy-01');
    const lines = table.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^HOST\s+ADVISORY\s+PACKAGE\s+INSTALLED\s+FIXED\s+SEVERITY\s+STATUS\s+DUE$/);
    expect(lines[1]).toMatch(/^legacy-01\s+USN-4705-1\s+sudo\s+1\.8\.16-0ubuntu1\.9\s+1\.8\.16-0ubuntu1\.10\s+high\s+open\s+2026-11-30 10:00 CET$/);
    expect(await run('exposures', 'list', '--host', 'nobody')).toMatchObject({ code: 1, out: '', err: expect.stringContaining('[PD_HOST_NOT_FOUND] no host named "nobody"') });
    expect((await run('exposures', 'list', '--host', 'legacy-01', '--severity', 'critical')).out).toBe('No exposures match.\n');
  });

  it('refuses unknown filter values with exit 2', async () => {
    expect((await run('exposures', 'list', '--severity', 'urgent')).code).toBe(2);
    expect((await run('exposures', 'list', '--status', 'closed')).code).toBe(2);
    expect((await run('patches', 'list', '--state', 'open')).code).toBe(2);
  });

  it('lists patch cases with hosts, open exposures and due time', async () => {
    await importAndAssess();
    const cases = JSON.parse((await run('patches', 'list', '--json')).out) as Record<string, unknown>[];
    expect(cases).toEqual([
      { id: 1, advisory: 'USN-4705-1', title: 'sudo vulnerabilities', state: 'awaiting_approval', severity: 'high', hosts: 1, open_exposures: 1, due_at: '2026-11-30T09:00:00.000Z' },
      { id: 2, advisory: 'USN-6859-1', title: 'openssh vulnerability', state: 'awaiting_approval', severity: 'high', hosts: 1, open_exposures: 2, due_at: '2026-11-30T09:00:00.000Z' },
    ]);
    expect(JSON.parse((await run('patches', 'list', '--state', 'approved', '--json')).out)).toEqual([]);
    const table = await run('patches', 'list', '--state', 'awaiting_approval');
    expect(table.out).toMatch(/^ID\s+ADVISORY\s+SEVERITY\s+STATE\s+HOSTS\s+OPEN\s+DUE\s+TITLE\n/);
    expect(table.out).toMatch(/2\s+USN-6859-1\s+high\s+awaiting_approval\s+1\s+2\s+2026-11-30 10:00 CET\s+openssh vulnerability\n/);
    expect((await run('patches', 'list', '--state', 'completed')).out).toBe('No cases match.\n');
  });
});
