import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { HostInput } from '../../src/core/types.js';
import { listAudit, verifyAuditChain } from '../../src/store/audit.js';
import type { Store } from '../../src/store/db.js';
import { listCases } from '../../src/store/queries/cases.js';
import { listExposures } from '../../src/store/queries/exposures.js';
import { assessAll } from '../../src/workflow/assess.js';
import { importHosts, importInventory } from '../../src/workflow/inventory.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { insertAdvisory, kevAdvisory, osvFixture } from '../helpers/advisories.js';
import { createTestContext, TEST_NOW } from '../helpers/context.js';
import { describeEachStore } from '../helpers/stores.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/inventory');
const DAY = 86_400_000;
const at = (ms: number) => new Date(Date.parse(TEST_NOW) + ms).toISOString();
const CONFIG = { policy: { alertThreshold: 'medium' } };
const UBUNTU = 'Ubuntu:22.04:LTS';

/** The fixtures of assess.test.ts, without USN-6986-1 (libssl3), which arrives later. */
async function setUp(store: Store) {
  const { ctx, clock } = createTestContext(store, CONFIG);
  await insertAdvisory(store.db, osvFixture('USN-6859-1.json', { cvssScore: 8.1 }));
  await insertAdvisory(store.db, osvFixture('USN-7270-1.json'));
  await insertAdvisory(store.db, osvFixture('USN-4705-1.json'));
  await insertAdvisory(store.db, osvFixture('GHSA-3h5v-q93c-6h6q.json', { cvssScore: 7.5 }));
  await insertAdvisory(store.db, osvFixture('GHSA-h75v-3vvj-5mfj.json', { cvssScore: 5.4 }));
  await insertAdvisory(store.db, kevAdvisory('CVE-2021-3156'));
  await importInventory(ctx, { text: readFileSync(path.join(FIXTURES, 'hosts.json'), 'utf8'), format: 'json', source: 'file:hosts.json', actor: 'test' });
  expect((await assessAll(ctx, { actor: 'test' })).exposures).toEqual({ new: 8, unchanged: 0, resolved: 0 });
  return { ctx, clock };
}

const web01 = (packages: HostInput['packages'], name = 'web-01'): HostInput => ({
  name,
  os: UBUNTU,
  role: 'server',
  criticality: 'high',
  usage: 0.9,
  owner: 'web-team',
  groups: ['web', 'pilot'],
  packages,
});

async function hostId(store: Store, name: string): Promise<number> {
  return Number((await store.db.selectFrom('hosts').select('id').where('name', '=', name).executeTakeFirstOrThrow()).id);
}

const summary = (exposures: Awaited<ReturnType<typeof listExposures>>) => exposures.map((e) => `${e.host} ${e.advisoryId} ${e.package} ${e.status}`).sort();

async function reimport(ctx: WorkflowContext, host: HostInput) {
  await importHosts(ctx, { hosts: [host], source: 'test', actor: 'test' });
}

describeEachStore('incremental assessment', (s) => {
  it('re-matches only a new advisory, then only a changed host, and agrees with a full run', async () => {
    const { ctx, clock } = await setUp(s.store);
    clock.advance(DAY);
    // A change outside the advisory's scope: web-01 patched openssh. The advisory run must not see it.
    await reimport(ctx, web01([
      { ecosystem: UBUNTU, name: 'openssh-server', version: '1:8.9p1-3ubuntu0.11' },
      { ecosystem: UBUNTU, name: 'openssh-client', version: '1:8.9p1-3ubuntu0.11' },
      { ecosystem: UBUNTU, name: 'libssl3', version: '3.0.2-0ubuntu1.15' },
    ]));
    await insertAdvisory(s.store.db, osvFixture('USN-6986-1.json'));
    const advisoryRun = await assessAll(ctx, { actor: 'feeds', advisoryIds: ['USN-6986-1'] });
    expect(advisoryRun.exposures).toEqual({ new: 1, unchanged: 0, resolved: 0 });
    expect(advisoryRun.casesOpened).toHaveLength(1);
    const [ssl] = await listExposures(s.store.db, { host: 'web-01' }).then((list) => list.filter((e) => e.advisoryId === 'USN-6986-1'));
    expect(ssl).toMatchObject({ package: 'libssl3', detectedAt: at(DAY), caseId: advisoryRun.casesOpened[0] });
    expect((await listExposures(s.store.db, { host: 'web-01' })).filter((e) => e.advisoryId === 'USN-6859-1')).toHaveLength(2);
    const audit = (await listAudit(s.store.db)).filter((e) => e.action === 'exposures.assessed').at(-1)!;
    expect(audit).toMatchObject({ actor: 'feeds', subjectId: 'scope', after: { new: 1, resolved: 0, scope: { advisoryIds: ['USN-6986-1'] } } });

    const hostRun = await assessAll(ctx, { actor: 'inventory', hostIds: [await hostId(s.store, 'web-01')] });
    expect(hostRun).toEqual({ exposures: { new: 0, unchanged: 1, resolved: 4 }, casesOpened: [] });
    expect(summary(await listExposures(s.store.db, { host: 'web-01', status: 'all' }))).toEqual([
      'web-01 USN-6859-1 openssh-client resolved',
      'web-01 USN-6859-1 openssh-server resolved',
      'web-01 USN-6986-1 libssl3 open',
      'web-01 USN-7270-1 openssh-client resolved',
      'web-01 USN-7270-1 openssh-server resolved',
    ]);
    // Other hosts kept their exposures, and a full run finds nothing left to do.
    expect(await listExposures(s.store.db, { host: 'db-01.example.internal' })).toHaveLength(1);
    const before = await listExposures(s.store.db, { status: 'all' });
    expect(await assessAll(ctx, { actor: 'test' })).toEqual({ exposures: { new: 0, unchanged: 5, resolved: 0 }, casesOpened: [] });
    expect(await listExposures(s.store.db, { status: 'all' })).toEqual(before);
    expect(await verifyAuditChain(s.store.db)).toBeNull();
  });

  it('resolves every exposure of an advisory withdrawn in scope, and nothing else', async () => {
    const { ctx, clock } = await setUp(s.store);
    clock.advance(DAY);
    await s.store.db.updateTable('advisories').set({ withdrawn_at: at(DAY) }).where('id', '=', 'GHSA-h75v-3vvj-5mfj').execute();
    expect((await assessAll(ctx, { actor: 'feeds', advisoryIds: ['GHSA-h75v-3vvj-5mfj'] })).exposures).toEqual({ new: 0, unchanged: 0, resolved: 1 });
    expect(await listExposures(s.store.db)).toHaveLength(7);
    expect(await listExposures(s.store.db, { status: 'resolved' })).toMatchObject([{ advisoryId: 'GHSA-h75v-3vvj-5mfj', resolvedAt: at(DAY) }]);
  });

  it('reclassifies in scope when KEV facts arrive, updating the stored exposure in place', async () => {
    const { ctx, clock } = await setUp(s.store);
    clock.advance(2 * 3_600_000);
    await insertAdvisory(
      s.store.db,
      kevAdvisory('CVE-2024-6387', { dateAdded: '2026-11-20', dueDate: '2026-12-11', knownRansomwareCampaignUse: true, requiredAction: 'Apply updates.', vendor: 'OpenBSD', product: 'OpenSSH' }),
    );
    const ids = (await listExposures(s.store.db, { host: 'web-01' })).filter((e) => e.advisoryId === 'USN-6859-1').map((e) => e.id);
    const result = await assessAll(ctx, { actor: 'feeds', advisoryIds: ['USN-6859-1'] });
    expect(result.exposures).toEqual({ new: 0, unchanged: 2, resolved: 0 });
    const updated = (await listExposures(s.store.db, { host: 'web-01' })).filter((e) => e.advisoryId === 'USN-6859-1');
    expect(updated.map((e) => [e.id, e.severity, e.detectedAt, e.dueAt])).toEqual(ids.map((id) => [id, 'critical', TEST_NOW, at(DAY)]));
    expect(updated[0]!.reasons).toContain('In CISA KEV (federal due date 2026-12-11), known ransomware use: raised to critical');
  });

  it('attaches a changed host to the existing case, and re-opens an exposure found again as a new detection', async () => {
    const { ctx, clock } = await setUp(s.store);
    const caseId = (await listCases(s.store.db)).find((c) => c.advisoryId === 'USN-6859-1')!.id;
    clock.advance(DAY);
    await reimport(ctx, web01([{ ecosystem: UBUNTU, name: 'ssh', version: '1:8.9p1-3ubuntu0.7' }], 'web-02'));
    const web02 = await hostId(s.store, 'web-02');
    expect((await assessAll(ctx, { actor: 'inventory', hostIds: [web02] })).exposures).toEqual({ new: 2, unchanged: 0, resolved: 0 });
    expect((await listExposures(s.store.db, { host: 'web-02' })).find((e) => e.advisoryId === 'USN-6859-1')).toMatchObject({ caseId, detectedAt: at(DAY) });

    clock.advance(DAY);
    await reimport(ctx, web01([{ ecosystem: UBUNTU, name: 'ssh', version: '1:8.9p1-3ubuntu0.11' }], 'web-02'));
    expect((await assessAll(ctx, { actor: 'inventory', hostIds: [web02] })).exposures).toEqual({ new: 0, unchanged: 0, resolved: 2 });
    clock.advance(DAY);
    await reimport(ctx, web01([{ ecosystem: UBUNTU, name: 'ssh', version: '1:8.9p1-3ubuntu0.7' }], 'web-02'));
    expect((await assessAll(ctx, { actor: 'inventory', hostIds: [web02] })).exposures).toEqual({ new: 2, unchanged: 0, resolved: 0 });
    const again = (await listExposures(s.store.db, { host: 'web-02' })).find((e) => e.advisoryId === 'USN-6859-1')!;
    expect(again).toMatchObject({ status: 'open', detectedAt: at(3 * DAY), resolvedAt: null, caseId });
    // No second case alert: the case existed. (Its changed plan is posted again, with the plan's hash.)
    const posts = (await s.store.db.selectFrom('jobs').select(['kind', 'payload']).execute()).filter((j) => j.kind === 'chat.post').map((j) => JSON.parse(j.payload) as { caseId: number; planHash?: string });
    expect(posts.filter((p) => p.planHash === undefined)).toHaveLength((await listCases(s.store.db)).length);
    expect(posts.filter((p) => p.caseId === caseId && p.planHash !== undefined).length).toBeGreaterThan(0);
  });

  it('does nothing for an empty scope', async () => {
    const { ctx } = await setUp(s.store);
    const before = await listExposures(s.store.db, { status: 'all' });
    expect(await assessAll(ctx, { actor: 'test', advisoryIds: [] })).toEqual({ exposures: { new: 0, unchanged: 0, resolved: 0 }, casesOpened: [] });
    expect(await assessAll(ctx, { actor: 'test', hostIds: [] })).toEqual({ exposures: { new: 0, unchanged: 0, resolved: 0 }, casesOpened: [] });
    expect(await listExposures(s.store.db, { status: 'all' })).toEqual(before);
  });
});
