import { expect, it } from 'vitest';
import { listHostsWithTriples, listPackageTriples, loadWindowsKbsByHost } from '../../src/store/queries/hosts.js';
import { importHosts } from '../../src/workflow/inventory.js';
import { insertAdvisory, osvFixture } from '../helpers/advisories.js';
import { createTestContext } from '../helpers/context.js';
import { describeEachStore } from '../helpers/stores.js';

describeEachStore('package triples for incremental matching', (s) => {
  it('lists distinct triples an advisory names, narrowed by advisory or host, and the hosts holding given triples', async () => {
    const { ctx } = createTestContext(s.store);
    const pkg = (name: string, version: string) => ({ ecosystem: 'Ubuntu:22.04:LTS', name, version });
    const host = (name: string, packages: ReturnType<typeof pkg>[]) => ({ name, os: 'Ubuntu:22.04:LTS', role: 'server', criticality: 'high' as const, usage: 0, owner: '', groups: [], packages });
    await importHosts(ctx, {
      hosts: [
        host('a-01', [pkg('openssh-server', '1:8.9p1-3ubuntu0.6'), pkg('zlib1g', '1:1.2.11.dfsg-2ubuntu9')]),
        host('a-02', [pkg('openssh-server', '1:8.9p1-3ubuntu0.6')]),
        host('a-03', [pkg('openssh-server', '1:8.9p1-3ubuntu0.10')]),
      ],
      source: 'file:a.json',
      actor: 'test',
    });
    expect(await listPackageTriples(s.store.db)).toEqual([]);
    await insertAdvisory(s.store.db, osvFixture('USN-6859-1.json'));
    const all = await listPackageTriples(s.store.db);
    expect(all.map((t) => `${t.name}@${t.version}`).sort()).toEqual(['openssh-server@1:8.9p1-3ubuntu0.10', 'openssh-server@1:8.9p1-3ubuntu0.6']);
    expect(await listPackageTriples(s.store.db, { advisoryIds: ['USN-OTHER'] })).toEqual([]);
    expect(await listPackageTriples(s.store.db, { advisoryIds: ['USN-6859-1'] })).toHaveLength(2);
    const ids = (await s.store.db.selectFrom('hosts').select(['id', 'name']).execute()).map((r) => [r.name, Number(r.id)] as const);
    const a03 = ids.find(([n]) => n === 'a-03')![1];
    expect(await listPackageTriples(s.store.db, { hostIds: [a03] })).toEqual([pkg('openssh-server', '1:8.9p1-3ubuntu0.10')]);

    const holders = await listHostsWithTriples(s.store.db, [pkg('openssh-server', '1:8.9p1-3ubuntu0.6')]);
    const names = new Map(ids.map(([n, id]) => [id, n]));
    expect(holders.map((h) => names.get(h.hostId)).sort()).toEqual(['a-01', 'a-02']);
  });

  it('loads each host\'s Windows KB ids for KB matching', async () => {
    const { ctx } = createTestContext(s.store);
    await importHosts(ctx, {
      hosts: [
        { name: 'ws-1', os: 'Windows', role: 'workstation', criticality: 'low', usage: 0, owner: '', groups: [], packages: [{ ecosystem: 'Windows', name: 'KB5031354', version: '' }, { ecosystem: 'Windows', name: 'KB5030651', version: '2023-09-13' }] },
        { name: 'lx-1', os: 'Debian:12', role: 'server', criticality: 'low', usage: 0, owner: '', groups: [], packages: [{ ecosystem: 'Debian:12', name: 'bash', version: '5.2.15-2+b7' }] },
      ],
      source: 'file:a.json',
      actor: 'test',
    });
    const kbs = await loadWindowsKbsByHost(s.store.db);
    expect([...kbs.values()].map((set) => [...set].sort())).toEqual([['KB5030651', 'KB5031354']]);
    const [id] = [...kbs.keys()];
    expect((await loadWindowsKbsByHost(s.store.db, [id!])).get(id!)!.size).toBe(2);
    expect((await loadWindowsKbsByHost(s.store.db, [id! + 1])).size).toBe(0);
  });
});
