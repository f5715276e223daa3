import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { HostInput } from '../../src/core/types.js';
import { listAudit } from '../../src/store/audit.js';
import { getHostDetail, listHosts } from '../../src/store/queries/hosts.js';
import { importHosts, importInventory } from '../../src/workflow/inventory.js';
import { createTestContext, TEST_NOW } from '../helpers/context.js';
import { describeEachStore } from '../helpers/stores.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/inventory');
const read = (file: string) => readFileSync(path.join(FIXTURES, file), 'utf8');

describeEachStore('inventory import', (s) => {
  it('creates hosts with their packages and audits one event with counts', async () => {
    const { ctx } = createTestContext(s.store);
    const result = await importInventory(ctx, { text: read('hosts.json'), format: 'json', source: 'file:hosts.json', actor: 'cli:alice' });
    expect(result).toEqual({ source: 'file:hosts.json', created: 4, updated: 0, packages: 11, rejected: [] });

    const hosts = await listHosts(s.store.db);
    expect(hosts.map((h) => [h.name, h.packages, h.openExposures])).toEqual([
      ['db-01.example.internal', 3, 0],
      ['legacy-01', 1, 0],
      ['web-01', 4, 0],
      ['ws-01', 3, 0],
    ]);
    const web = await getHostDetail(s.store.db, 'web-01');
    expect(web).toMatchObject({ role: 'server', criticality: 'high', usage: 0.9, groups: ['web', 'pilot'], source: 'file:hosts.json', createdAt: TEST_NOW, lastSeenAt: TEST_NOW });
    expect(web!.packages).toContainEqual({ ecosystem: 'Ubuntu:22.04:LTS', name: 'libssl3', version: '3.0.2-0ubuntu1.15' });

    const audit = await listAudit(s.store.db);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: 'cli:alice',
      action: 'inventory.imported',
      subjectType: 'inventory',
      subjectId: 'file:hosts.json',
      after: { created: 4, updated: 0, packages: 11, rejected: 0, createdHosts: ['web-01', 'db-01.example.internal', 'ws-01', 'legacy-01'], updatedHosts: [] },
    });
  });

  it('replaces a re-imported host\'s package list and leaves other hosts alone', async () => {
    const { ctx, clock } = createTestContext(s.store);
    await importInventory(ctx, { text: read('hosts.json'), format: 'json', source: 'file:hosts.json', actor: 'cli:alice' });
    clock.advance(3_600_000);
    const patched: HostInput = {
      name: 'web-01',
      os: 'Ubuntu:22.04:LTS',
      role: 'server',
      criticality: 'critical',
      usage: 0.9,
      owner: 'web-team',
      groups: ['web'],
      packages: [{ ecosystem: 'Ubuntu:22.04:LTS', name: 'openssh-server', version: '1:8.9p1-3ubuntu0.11' }],
    };
    const result = await importHosts(ctx, { hosts: [patched], source: 'file:web.json', actor: 'cli:bob' });
    expect(result).toMatchObject({ created: 0, updated: 1, packages: 1 });
    const web = await getHostDetail(s.store.db, 'web-01');
    expect(web).toMatchObject({ criticality: 'critical', groups: ['web'], createdAt: TEST_NOW, lastSeenAt: '2026-11-23T10:00:00.000Z', source: 'file:web.json' });
    expect(web!.packages).toEqual([{ ecosystem: 'Ubuntu:22.04:LTS', name: 'openssh-server', version: '1:8.9p1-3ubuntu0.11' }]);
    expect((await getHostDetail(s.store.db, 'ws-01'))!.packages).toHaveLength(3);
  });

  it('imports the good hosts of a bad file and leaves a rejected host\'s stored packages unchanged', async () => {
    const { ctx } = createTestContext(s.store);
    await importHosts(ctx, {
      hosts: [{ name: 'half-01', os: 'Debian:12', role: 'server', criticality: 'low', usage: 0.2, owner: 'ops', groups: [], packages: [{ ecosystem: 'Debian:12', name: 'curl', version: '7.88.1-10+deb12u4' }] }],
      source: 'seed',
      actor: 'test',
    });
    const result = await importInventory(ctx, { text: read('hosts-bad.csv'), format: 'csv', source: 'file:hosts-bad.csv', actor: 'cli:alice' });
    expect(result).toMatchObject({ created: 2, updated: 0, packages: 2 });
    expect(result.rejected.length).toBe(10);
    expect((await listHosts(s.store.db)).map((h) => h.name)).toEqual(['good-01', 'half-01', 'nopkg-01']);
    expect((await getHostDetail(s.store.db, 'half-01'))!.packages).toEqual([{ ecosystem: 'Debian:12', name: 'curl', version: '7.88.1-10+deb12u4' }]);
    const audit = await listAudit(s.store.db, { subjectType: 'inventory', subjectId: 'file:hosts-bad.csv' });
    expect(audit[0]!.after).toMatchObject({ created: 2, rejected: 10 });
  });

  it('refuses unsafe or duplicate host names from programmatic callers and writes nothing', async () => {
    const { ctx } = createTestContext(s.store);
    const host = (name: string): HostInput => ({ name, os: 'Debian:12', role: 'server', criticality: 'low', usage: 0, owner: '', groups: [], packages: [] });
    await expect(importHosts(ctx, { hosts: [host('ok-01'), host('-oProxyCommand=x')], source: 's', actor: 't' })).rejects.toMatchObject({ code: 'PD_INVENTORY_HOST_NAME' });
    await expect(importHosts(ctx, { hosts: [host('ok-01'), host('ok-01')], source: 's', actor: 't' })).rejects.toMatchObject({ code: 'PD_INVENTORY_DUPLICATE' });
    expect(await listHosts(s.store.db)).toEqual([]);
    expect(await listAudit(s.store.db)).toEqual([]);
  });

  it('rolls the whole import back when a write fails', async () => {
    const { ctx } = createTestContext(s.store);
    await importInventory(ctx, { text: read('hosts.json'), format: 'json', source: 'file:hosts.json', actor: 'cli:alice' });
    // A clock that breaks after the hosts are written makes the audit step fail inside the transaction.
    let calls = 0;
    const failing = { ...ctx, clock: { now: () => { calls++; if (calls > 1) throw new Error('clock broke'); return new Date(TEST_NOW); } } };
    const replacement: HostInput = { name: 'web-01', os: 'Ubuntu:22.04:LTS', role: 'server', criticality: 'low', usage: 0, owner: '', groups: [], packages: [] };
    await expect(importHosts(failing, { hosts: [replacement], source: 'x', actor: 't' })).rejects.toThrow('clock broke');
    const web = await getHostDetail(s.store.db, 'web-01');
    expect(web).toMatchObject({ criticality: 'high' });
    expect(web!.packages).toHaveLength(4);
    expect(await listAudit(s.store.db)).toHaveLength(1);
  });

  it('imports 5,000 hosts in one transaction with one small audit event', async () => {
    const { ctx } = createTestContext(s.store);
    const hosts: HostInput[] = Array.from({ length: 5000 }, (_, i) => ({
      name: `ws-${String(i).padStart(5, '0')}`,
      os: 'Ubuntu:22.04:LTS',
      role: 'workstation',
      criticality: 'low',
      usage: 0.5,
      owner: '',
      groups: ['fleet'],
      packages: ['openssh-client', 'libssl3', 'sudo', 'curl'].map((name) => ({ ecosystem: 'Ubuntu:22.04:LTS', name, version: '1.0-1' })),
    }));
    const started = Date.now();
    expect(await importHosts(ctx, { hosts, source: 'bulk', actor: 't' })).toMatchObject({ created: 5000, packages: 20_000 });
    expect(await importHosts(ctx, { hosts, source: 'bulk', actor: 't' })).toMatchObject({ created: 0, updated: 5000, packages: 20_000 });
    expect(Date.now() - started).toBeLessThan(25_000);
    const audit = await listAudit(s.store.db);
    expect(audit).toHaveLength(2);
    expect((audit[0]!.after as { createdHosts: string[] }).createdHosts).toHaveLength(100);
    expect(Number((await s.store.db.selectFrom('host_packages').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)).toBe(20_000);
  });
});
