import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { HostInput } from '../../src/core/types.js';
import { listAudit } from '../../src/store/audit.js';
import { getHostDetail, listHosts } from '../../src/store/queries/hosts.js';
import { addForeignHost, attestHost, importHosts, importInventory } from '../../src/workflow/inventory.js';
import { createTestContext, TEST_NOW } from '../helpers/context.js';
import { describeEachStore } from '../helpers/stores.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/inventory');
const read = (file: string) => readFileSync(path.join(FIXTURES, file), 'utf8');
const DAY = 86_400_000;

const host = (name: string, packages: HostInput['packages'] = []): HostInput => ({
  name,
  os: 'Debian:12',
  role: 'server',
  criticality: 'high',
  usage: 0.5,
  owner: 'ops',
  groups: ['core'],
  packages,
});

describeEachStore('inventory host states and partial sources', (s) => {
  it('lets osquery update OS and packages of a known host but keep its role, criticality, owner and groups', async () => {
    const { ctx } = createTestContext(s.store);
    await importHosts(ctx, { hosts: [{ ...host('web-02'), os: 'Ubuntu:22.04:LTS', packages: [{ ecosystem: 'npm', name: 'lodash', version: '4.17.20' }] }], source: 'file:a.json', actor: 'cli:alice' });
    const result = await importInventory(ctx, { text: read('osquery/web-02.json'), format: 'osquery', source: 'file:web-02.json', actor: 'cli:alice' });
    expect(result).toMatchObject({ created: 0, updated: 1, packages: 3 });
    const web = await getHostDetail(s.store.db, 'web-02');
    expect(web).toMatchObject({ os: 'Ubuntu:22.04:LTS', role: 'server', criticality: 'high', usage: 0.5, owner: 'ops', groups: ['core'], source: 'file:web-02.json' });
    // The npm package came from another source and osquery reported no npm ecosystem: it stays.
    expect(web!.packages.map((p) => `${p.ecosystem}/${p.name}`)).toEqual([
      'Ubuntu:22.04:LTS/adduser',
      'Ubuntu:22.04:LTS/libssl3',
      'Ubuntu:22.04:LTS/openssh-server',
      'npm/lodash',
    ]);
  });

  it('replaces only the KB list of a Windows host on a hotfix import, and creates unknown hosts as Windows workstations', async () => {
    const { ctx } = createTestContext(s.store);
    await importInventory(ctx, { text: read('osquery/results.log'), format: 'osquery', source: 'file:results.log', actor: 'cli:alice' });
    const result = await importInventory(ctx, { text: read('windows-kb/hotfixes.csv'), format: 'windows-kb', source: 'file:hotfixes.csv', actor: 'cli:alice' });
    expect(result).toMatchObject({ created: 2, updated: 1, packages: 4, rejected: [] });
    const ws = await getHostDetail(s.store.db, 'WS-042');
    expect(ws).toMatchObject({ os: 'Microsoft Windows 11 Pro 10.0.22621', role: 'workstation', status: 'managed' });
    expect(ws!.packages).toEqual([
      { ecosystem: 'Windows', name: 'KB5030651', version: '2023-09-13' },
      { ecosystem: 'Windows', name: 'KB5031354', version: '2023-10-11' },
    ]);
    expect(await getHostDetail(s.store.db, 'SRV-DC1')).toMatchObject({ os: 'Windows', role: 'workstation', criticality: 'medium' });
    // The AlmaLinux host was not in the hotfix list: untouched.
    expect((await getHostDetail(s.store.db, 'db-02.example.internal'))!.packages).toHaveLength(2);
  });

  it('creates scanned-only hosts as unmanaged, leaves their status on rescans, and makes them managed once an inventory lists them', async () => {
    const { ctx, clock } = createTestContext(s.store);
    await importHosts(ctx, { hosts: [host('known-01')], source: 'file:a.json', actor: 'cli:alice' });
    await importHosts(ctx, { hosts: [host('known-01'), host('rogue-01')], source: 'ssh-scan:cli:alice', actor: 'cli:alice', scan: true });
    const rule = { now: clock.now(), staleAfterDays: 30 };
    expect((await listHosts(s.store.db, { staleness: rule })).map((h) => [h.name, h.state])).toEqual([
      ['known-01', 'managed'],
      ['rogue-01', 'unmanaged'],
    ]);
    expect((await listHosts(s.store.db, { staleness: rule, state: 'unmanaged' })).map((h) => h.name)).toEqual(['rogue-01']);
    const audit = await listAudit(s.store.db);
    expect(audit.at(-1)).toMatchObject({ action: 'inventory.scanned', after: { created: 1, updated: 1, createdAs: 'unmanaged', createdHosts: ['rogue-01'] } });

    await importHosts(ctx, { hosts: [host('rogue-01')], source: 'file:b.json', actor: 'cli:alice' });
    expect((await listHosts(s.store.db, { staleness: rule, state: 'unmanaged' }))).toEqual([]);
  });

  it('lists a host not seen for staleAfterDays as stale, by the clock; foreign devices never go stale', async () => {
    const { ctx, clock } = createTestContext(s.store);
    await importHosts(ctx, { hosts: [host('old-01'), host('fresh-01')], source: 'file:a.json', actor: 'cli:alice' });
    await addForeignHost(ctx, { name: 'guest-laptop-7', owner: 'Acme Contracting', attestation: 'pending', role: 'laptop', criticality: 'low', groups: [], actor: 'cli:alice' });
    clock.advance(20 * DAY);
    await importHosts(ctx, { hosts: [host('fresh-01')], source: 'file:a.json', actor: 'cli:alice' });
    const at = (days: number) => listHosts(s.store.db, { staleness: { now: new Date(Date.parse(TEST_NOW) + days * DAY), staleAfterDays: 30 } });
    expect((await at(30)).map((h) => [h.name, h.state])).toEqual([
      ['fresh-01', 'managed'],
      ['guest-laptop-7', 'foreign'],
      ['old-01', 'managed'],
    ]);
    expect((await at(31)).map((h) => [h.name, h.state])).toEqual([
      ['fresh-01', 'managed'],
      ['guest-laptop-7', 'foreign'],
      ['old-01', 'stale'],
    ]);
    expect((await listHosts(s.store.db, { staleness: { now: new Date(Date.parse(TEST_NOW) + 31 * DAY), staleAfterDays: 30 }, state: 'stale' })).map((h) => h.name)).toEqual(['old-01']);
    // Without a rule, the stored status.
    expect((await listHosts(s.store.db)).find((h) => h.name === 'old-01')!.state).toBe('managed');
  });

  it('tracks foreign devices by owner and attestation, audited; refuses duplicates, bad names and non-foreign hosts', async () => {
    const { ctx } = createTestContext(s.store);
    const { id } = await addForeignHost(ctx, { name: 'guest-laptop-7', owner: ' Acme Contracting ', attestation: 'pending', role: 'laptop', criticality: 'low', groups: ['guests'], actor: 'cli:alice' });
    expect(await getHostDetail(s.store.db, 'guest-laptop-7')).toMatchObject({ id, status: 'foreign', attestation: 'pending', owner: 'Acme Contracting', os: '', packages: [], groups: ['guests'] });
    expect(await attestHost(ctx, { name: 'guest-laptop-7', state: 'attested', actor: 'cli:bob' })).toEqual({ changed: true });
    expect(await attestHost(ctx, { name: 'guest-laptop-7', state: 'attested', actor: 'cli:bob' })).toEqual({ changed: false });
    expect((await getHostDetail(s.store.db, 'guest-laptop-7'))!.attestation).toBe('attested');
    const audit = await listAudit(s.store.db);
    expect(audit.map((e) => [e.action, e.actor, e.subjectId])).toEqual([
      ['host.foreign_added', 'cli:alice', 'guest-laptop-7'],
      ['host.attested', 'cli:bob', 'guest-laptop-7'],
    ]);
    expect(audit[1]).toMatchObject({ before: { attestation: 'pending' }, after: { attestation: 'attested' } });

    await importHosts(ctx, { hosts: [host('srv-01')], source: 'file:a.json', actor: 'cli:alice' });
    await expect(attestHost(ctx, { name: 'srv-01', state: 'attested', actor: 'cli:bob' })).rejects.toMatchObject({ code: 'PD_HOST_NOT_FOREIGN' });
    await expect(attestHost(ctx, { name: 'nope', state: 'attested', actor: 'cli:bob' })).rejects.toMatchObject({ code: 'PD_HOST_NOT_FOUND' });
    await expect(addForeignHost(ctx, { name: 'srv-01', owner: 'x', attestation: 'pending', role: 'laptop', criticality: 'low', groups: [], actor: 'a' })).rejects.toMatchObject({ code: 'PD_HOST_EXISTS' });
    await expect(addForeignHost(ctx, { name: '-oProxyCommand=x', owner: 'x', attestation: 'pending', role: 'laptop', criticality: 'low', groups: [], actor: 'a' })).rejects.toMatchObject({ code: 'PD_INVENTORY_HOST_NAME' });
    await expect(addForeignHost(ctx, { name: 'g-2', owner: ' ', attestation: 'pending', role: 'laptop', criticality: 'low', groups: [], actor: 'a' })).rejects.toMatchObject({ code: 'PD_HOST_OWNER' });
    expect(await listAudit(s.store.db)).toHaveLength(3);

    // A foreign device that joins the managed fleet loses its attestation.
    await importHosts(ctx, { hosts: [host('guest-laptop-7')], source: 'file:a.json', actor: 'cli:alice' });
    expect(await getHostDetail(s.store.db, 'guest-laptop-7')).toMatchObject({ status: 'managed', attestation: null });
  });
});
