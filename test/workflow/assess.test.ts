import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { HostInput } from '../../src/core/types.js';
import { listAudit, verifyAuditChain } from '../../src/store/audit.js';
import type { Store } from '../../src/store/db.js';
import { getCaseView, listCases } from '../../src/store/queries/cases.js';
import { listExposures } from '../../src/store/queries/exposures.js';
import { assessAll } from '../../src/workflow/assess.js';
import { importHosts, importInventory } from '../../src/workflow/inventory.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { insertAdvisory, kevAdvisory, osvFixture } from '../helpers/advisories.js';
import { createTestContext, TEST_NOW } from '../helpers/context.js';
import { describeEachStore } from '../helpers/stores.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/inventory');
const DAY = 86_400_000;
const at = (ms: number) => new Date(new Date(TEST_NOW).getTime() + ms).toISOString();

// Round 2: the SSVC policy keeps unexploited flaws at medium at most, so these tests alert from medium
// up to keep exercising case opening and routing on the same fixtures.
const CONFIG = {
  policy: { alertThreshold: 'medium' },
  routing: {
    defaultChannel: '#patching',
    rules: [
      { channel: '#dba', group: 'databases' },
      { channel: '#node', ecosystem: 'npm' },
    ],
  },
};

async function seedAdvisories(store: Store): Promise<void> {
  // regreSSHion: the USN carries no score, the test gives NVD's 8.1.
  await insertAdvisory(store.db, osvFixture('USN-6859-1.json', { cvssScore: 8.1 }));
  await insertAdvisory(store.db, osvFixture('USN-7270-1.json')); // Ubuntu priority "medium"
  await insertAdvisory(store.db, osvFixture('USN-6986-1.json')); // Ubuntu priority "medium"
  await insertAdvisory(store.db, osvFixture('USN-4705-1.json')); // Ubuntu priority "high", CVE-2021-3156 in KEV
  await insertAdvisory(store.db, osvFixture('GHSA-3h5v-q93c-6h6q.json', { cvssScore: 7.5 })); // ws
  await insertAdvisory(store.db, osvFixture('GHSA-h75v-3vvj-5mfj.json', { cvssScore: 5.4 })); // Jinja2
  await insertAdvisory(store.db, kevAdvisory('CVE-2021-3156'));
}

async function setUp(store: Store, config: Record<string, unknown> = CONFIG) {
  const { ctx, clock } = createTestContext(store, config);
  await seedAdvisories(store);
  await importInventory(ctx, { text: readFileSync(path.join(FIXTURES, 'hosts.json'), 'utf8'), format: 'json', source: 'file:hosts.json', actor: 'cli:alice' });
  return { ctx, clock };
}

function summary(exposures: Awaited<ReturnType<typeof listExposures>>) {
  return exposures.map((e) => `${e.host} ${e.advisoryId} ${e.package} ${e.severity}`).sort();
}

async function reimport(ctx: WorkflowContext, host: HostInput) {
  await importHosts(ctx, { hosts: [host], source: 'test', actor: 'test' });
}

const web01 = (packages: HostInput['packages']): HostInput => ({
  name: 'web-01',
  os: 'Ubuntu:22.04:LTS',
  role: 'server',
  criticality: 'high',
  usage: 0.9,
  owner: 'web-team',
  groups: ['web', 'pilot'],
  packages,
});

describeEachStore('assessAll', (s) => {
  it('stores classified exposures with due times, only where versions are really affected', async () => {
    const { ctx } = await setUp(s.store);
    const result = await assessAll(ctx, { actor: 'cli:alice' });
    expect(result.exposures).toEqual({ new: 9, unchanged: 0, resolved: 0 });

    const exposures = await listExposures(s.store.db);
    expect(summary(exposures)).toEqual([
      'db-01.example.internal USN-7270-1 openssh-server medium',
      'legacy-01 USN-4705-1 sudo high',
      'web-01 USN-6859-1 openssh-client medium',
      'web-01 USN-6859-1 openssh-server medium',
      'web-01 USN-6986-1 libssl3 medium',
      'web-01 USN-7270-1 openssh-client medium',
      'web-01 USN-7270-1 openssh-server medium',
      'ws-01 GHSA-3h5v-q93c-6h6q ws medium',
      'ws-01 GHSA-h75v-3vvj-5mfj jinja2 medium',
    ]);
    // Not there: db-01's libssl3t64 is at the fixed version, its openssh is past USN-6859-1's 24.04 fix,
    // ws-01's openssh-client 0.11 is past both backported fixes, and no advisory names sudo 1.9.x here.

    const regresshion = exposures.find((e) => e.host === 'web-01' && e.advisoryId === 'USN-6859-1' && e.package === 'openssh-server')!;
    expect(regresshion).toMatchObject({
      installed: '1:8.9p1-3ubuntu0.6',
      fixed: '1:8.9p1-3ubuntu0.10',
      cves: ['CVE-2024-6387'],
      detectedAt: TEST_NOW,
      dueAt: at(30 * DAY),
      status: 'open',
    });
    expect(regresshion.reasons).toEqual([
      'openssh-server 1:8.9p1-3ubuntu0.6 (built from openssh) is inside ECOSYSTEM range [introduced 0, fixed 1:8.9p1-3ubuntu0.10]: fixed in 1:8.9p1-3ubuntu0.10',
      'Published: CVSS 8.1 (≥ 7): high',
      'Exploitation: none (not in CISA KEV, no exploit reported, no EPSS score)',
      'Automatable: no (no CVSS vector to tell, so not assumed)',
      'Technical impact: total (no CVSS vector; CVSS 8.1 (≥ 7) is high)',
      'Mission & well-being: medium (host criticality high)',
      'SSVC decision Track: medium (published high, held to low–medium)',
      'Role: server',
      'SLA for medium: 30d (default): due 2026-12-23 09:00 UTC',
    ]);
    const db = exposures.find((e) => e.host === 'db-01.example.internal')!;
    expect(db.reasons).toContain('Mission & well-being: high (host criticality critical)');
    const sudo = exposures.find((e) => e.advisoryId === 'USN-4705-1')!;
    expect(sudo.reasons).toContain('SSVC decision Attend: high (published high, within high)');
    expect(sudo.reasons).toContain('In CISA KEV (federal due date 2022-04-27): at or above the KEV minimum high');
    expect(sudo.fixed).toBe('1.8.16-0ubuntu1.10');
    const jinja = exposures.find((e) => e.package === 'jinja2')!;
    expect(jinja).toMatchObject({ severity: 'medium', dueAt: at(30 * DAY), fixed: '3.1.4' });
  });

  it('opens one case per advisory at or above the threshold, routed, audited, with one alert job each', async () => {
    const { ctx } = await setUp(s.store);
    const result = await assessAll(ctx, { actor: 'cli:alice' });
    expect(result.casesOpened).toHaveLength(6);

    const cases = await listCases(s.store.db);
    expect(cases.map((c) => [c.advisoryId, c.severity, c.state, c.affectedHosts, c.openExposures]).sort()).toEqual([
      ['GHSA-3h5v-q93c-6h6q', 'medium', 'awaiting_approval', 1, 1],
      ['GHSA-h75v-3vvj-5mfj', 'medium', 'awaiting_approval', 1, 1],
      ['USN-4705-1', 'high', 'awaiting_approval', 1, 1],
      ['USN-6859-1', 'medium', 'awaiting_approval', 1, 2],
      ['USN-6986-1', 'medium', 'awaiting_approval', 1, 1],
      ['USN-7270-1', 'medium', 'awaiting_approval', 2, 3],
    ]);
    const openssh = cases.find((c) => c.advisoryId === 'USN-7270-1')!;
    const view = (await getCaseView(s.store.db, openssh.id))!;
    expect(view).toMatchObject({ title: 'openssh vulnerabilities', requestedBy: 'cli:alice', channel: '#dba', dueAt: at(30 * DAY) });
    // All three exposures are medium and due together: the first one found explains the case.
    expect(view.reasons).toEqual([
      'openssh-client 1:8.9p1-3ubuntu0.6 (built from openssh) is inside ECOSYSTEM range [introduced 0, fixed 1:8.9p1-3ubuntu0.11]: fixed in 1:8.9p1-3ubuntu0.11',
      'Published: vendor severity "medium": medium',
      'Exploitation: none (not in CISA KEV, no exploit reported, no EPSS score)',
      'Automatable: no (no CVSS vector to tell, so not assumed)',
      'Technical impact: partial (no CVSS vector; vendor severity "medium" is medium)',
      'Mission & well-being: medium (host criticality high)',
      'SSVC decision Track: medium (published medium, within low–medium)',
      'Role: server',
      'SLA for medium: 30d (default): due 2026-12-23 09:00 UTC',
      '2 hosts affected',
    ]);
    expect((await getCaseView(s.store.db, cases.find((c) => c.advisoryId === 'GHSA-3h5v-q93c-6h6q')!.id))!.channel).toBe('#node');
    expect((await getCaseView(s.store.db, cases.find((c) => c.advisoryId === 'USN-6859-1')!.id))!.channel).toBe('#patching');

    const exposures = await listExposures(s.store.db);
    for (const e of exposures) {
      const expected = cases.find((c) => c.advisoryId === e.advisoryId)?.id ?? null;
      expect(e.caseId, `${e.host} ${e.advisoryId}`).toBe(expected);
    }

    // Besides the assess job the inventory import queued (assess-jobs.test.ts).
    const jobs = await s.store.db.selectFrom('jobs').selectAll().where('kind', '!=', 'assess').orderBy('id').execute();
    expect(jobs.map((j) => [j.kind, JSON.parse(j.payload), j.unique_key])).toEqual(
      [...result.casesOpened].map((id) => ['chat.post', { caseId: id, purpose: 'alert' }, `case:${id}:alert`]),
    );
    const audit = await listAudit(s.store.db, { subjectType: 'case', subjectId: openssh.id });
    expect(audit.map((a) => a.action)).toEqual(['case.opened', 'approval.plan_bound']);
    expect(audit[0]).toMatchObject({ actor: 'cli:alice', action: 'case.opened', after: { advisoryId: 'USN-7270-1', severity: 'medium', state: 'awaiting_approval', channel: '#dba', hosts: 2, exposures: 3 } });
    // The approval request is bound to the plan it asks about (hosts, packages, fixed versions).
    expect((await s.store.db.selectFrom('cases').select('plan_hash').where('id', '=', openssh.id).executeTakeFirstOrThrow()).plan_hash).toMatch(/^[0-9a-f]{64}$/);
    expect((await listAudit(s.store.db)).filter((e) => e.action === 'exposures.assessed')).toHaveLength(1);
    expect(await verifyAuditChain(s.store.db)).toBeNull();
  });

  it('keeps detection times on re-assessment and changes nothing when nothing changed', async () => {
    const { ctx, clock } = await setUp(s.store);
    await assessAll(ctx, { actor: 'cli:alice' });
    const before = await listExposures(s.store.db);
    const auditBefore = (await listAudit(s.store.db)).length;
    clock.advance(DAY);
    const again = await assessAll(ctx, { actor: 'cli:alice' });
    expect(again).toEqual({ exposures: { new: 0, unchanged: 9, resolved: 0 }, casesOpened: [] });
    expect(await listExposures(s.store.db)).toEqual(before);
    expect(await listAudit(s.store.db)).toHaveLength(auditBefore);
    expect(await s.store.db.selectFrom('jobs').selectAll().where('kind', '!=', 'assess').execute()).toHaveLength(6);
  });

  it('resolves exposures a patch removed and attaches new ones to the advisory\'s existing case', async () => {
    const { ctx, clock } = await setUp(s.store);
    await assessAll(ctx, { actor: 'cli:alice' });
    const caseId = (await listCases(s.store.db)).find((c) => c.advisoryId === 'USN-6859-1')!.id;
    clock.advance(DAY);
    await reimport(ctx, web01([
      { ecosystem: 'Ubuntu:22.04:LTS', name: 'openssh-server', version: '1:8.9p1-3ubuntu0.11' },
      { ecosystem: 'Ubuntu:22.04:LTS', name: 'openssh-client', version: '1:8.9p1-3ubuntu0.11' },
      { ecosystem: 'Ubuntu:22.04:LTS', name: 'libssl3', version: '3.0.2-0ubuntu1.15' },
    ]));
    await reimport(ctx, { ...web01([{ ecosystem: 'Ubuntu:22.04:LTS', name: 'ssh', version: '1:8.9p1-3ubuntu0.7' }]), name: 'web-02', groups: [] });
    const result = await assessAll(ctx, { actor: 'cli:bob' });
    expect(result.exposures).toEqual({ new: 2, unchanged: 5, resolved: 4 });
    expect(result.casesOpened).toEqual([]);

    const all = await listExposures(s.store.db, { status: 'all' });
    const resolved = all.filter((e) => e.status === 'resolved');
    expect(summary(resolved)).toEqual([
      'web-01 USN-6859-1 openssh-client medium',
      'web-01 USN-6859-1 openssh-server medium',
      'web-01 USN-7270-1 openssh-client medium',
      'web-01 USN-7270-1 openssh-server medium',
    ]);
    expect(resolved.every((e) => e.resolvedAt === at(DAY) && e.detectedAt === TEST_NOW)).toBe(true);
    const web02 = await listExposures(s.store.db, { host: 'web-02' });
    expect(web02.map((e) => [e.advisoryId, e.caseId, e.detectedAt])).toEqual(
      expect.arrayContaining([
        ['USN-6859-1', caseId, at(DAY)],
        ['USN-7270-1', (await listCases(s.store.db)).find((c) => c.advisoryId === 'USN-7270-1')!.id, at(DAY)],
      ]),
    );
    expect((await listCases(s.store.db)).find((c) => c.id === caseId)).toMatchObject({ affectedHosts: 2, openExposures: 1 });
  });

  it('reclassifies when KEV facts arrive: the severity and due time follow, from the first detection', async () => {
    const { ctx, clock } = await setUp(s.store, { ...CONFIG, policy: { alertThreshold: 'high' } });
    await assessAll(ctx, { actor: 'cli:alice' });
    expect((await listCases(s.store.db)).some((c) => c.advisoryId === 'USN-6986-1')).toBe(false);
    clock.advance(2 * 3_600_000);
    await insertAdvisory(
      s.store.db,
      kevAdvisory('CVE-2024-6119', { dateAdded: '2026-11-20', dueDate: '2026-12-11', knownRansomwareCampaignUse: true, requiredAction: 'Apply updates.', vendor: 'OpenSSL', product: 'OpenSSL' }),
    );
    const result = await assessAll(ctx, { actor: 'system' });
    expect(result.exposures).toEqual({ new: 0, unchanged: 9, resolved: 0 });
    expect(result.casesOpened).toHaveLength(1);
    const [ssl] = await listExposures(s.store.db, { host: 'web-01', severity: 'critical' });
    expect(ssl).toMatchObject({ advisoryId: 'USN-6986-1', detectedAt: TEST_NOW, dueAt: at(DAY) });
    expect(ssl!.reasons).toContain('Exploitation: active (in CISA KEV since 2026-11-20)');
    expect(ssl!.reasons).toContain('In CISA KEV (federal due date 2026-12-11), known ransomware use: raised to critical');
    const view = (await getCaseView(s.store.db, result.casesOpened[0]!))!;
    expect(view).toMatchObject({ advisoryId: 'USN-6986-1', severity: 'critical', requestedBy: 'system', dueAt: at(DAY) });
    expect(view.reasons.at(-1)).toBe('1 host affected');
  });

  it('ignores hints and withdrawn advisories, and resolves exposures of an advisory once withdrawn', async () => {
    const { ctx, clock } = await setUp(s.store);
    await insertAdvisory(s.store.db, { ...osvFixture('GHSA-rv95-896h-c2vc.json', { cvssScore: 9.9, trust: 'hint' }) });
    await reimport(ctx, { ...web01([{ ecosystem: 'npm', name: 'express', version: '4.19.1' }]), name: 'node-01', groups: [] });
    await assessAll(ctx, { actor: 'cli:alice' });
    expect(await listExposures(s.store.db, { host: 'node-01' })).toEqual([]);

    clock.advance(DAY);
    await s.store.db.updateTable('advisories').set({ withdrawn_at: at(DAY) }).where('id', '=', 'GHSA-h75v-3vvj-5mfj').execute();
    const result = await assessAll(ctx, { actor: 'cli:alice' });
    expect(result.exposures.resolved).toBe(1);
    expect(await listExposures(s.store.db, { status: 'resolved' })).toMatchObject([{ advisoryId: 'GHSA-h75v-3vvj-5mfj', resolvedAt: at(DAY) }]);
  });

  it('leaves an exposure open when the installed version can no longer be read', async () => {
    const { ctx } = await setUp(s.store);
    await assessAll(ctx, { actor: 'cli:alice' });
    await reimport(ctx, {
      name: 'ws-01',
      os: 'Ubuntu:22.04:LTS',
      role: 'workstation',
      criticality: 'low',
      usage: 0.3,
      owner: 'alice',
      groups: [],
      packages: [
        { ecosystem: 'npm', name: 'ws', version: 'eight.seventeen' },
        { ecosystem: 'PyPI', name: 'jinja2', version: '3.1.3' },
      ],
    });
    const result = await assessAll(ctx, { actor: 'cli:alice' });
    expect(result.exposures.resolved).toBe(0);
    expect(await listExposures(s.store.db, { host: 'ws-01' })).toMatchObject([
      { advisoryId: 'GHSA-3h5v-q93c-6h6q', status: 'open', installed: '8.17.0' },
      { advisoryId: 'GHSA-h75v-3vvj-5mfj', status: 'open' },
    ]);
  });

  it('opens cases only at the configured threshold', async () => {
    const { ctx } = await setUp(s.store, { ...CONFIG, policy: { alertThreshold: 'critical' } });
    expect((await assessAll(ctx, { actor: 'cli:alice' })).casesOpened).toEqual([]);
    const { ctx: lenient } = createTestContext(s.store, { ...CONFIG, policy: { alertThreshold: 'medium' } });
    const result = await assessAll(lenient, { actor: 'cli:alice' });
    expect(result.casesOpened).toHaveLength(6);
  });

  it('uses a configured classification policy', async () => {
    const classification = { cvss: { critical: 8 }, ssvc: { severityByDecision: { track: { min: 'low', max: 'critical' } } } };
    const { ctx } = await setUp(s.store, { ...CONFIG, policy: { classification } });
    await assessAll(ctx, { actor: 'cli:alice' });
    const [first] = await listExposures(s.store.db, { host: 'web-01', severity: 'critical' });
    expect(first).toMatchObject({ advisoryId: 'USN-6859-1', dueAt: at(DAY) });
    expect(first!.reasons[1]).toBe('Published: CVSS 8.1 (≥ 8): critical');
    expect(first!.reasons).toContain('SSVC decision Track: critical (published critical, within low–critical)');
  });

  it('counts an EPSS percentile at or above the threshold as active exploitation', async () => {
    const { ctx } = await setUp(s.store);
    await s.store.db.insertInto('epss_scores').values({ cve: 'CVE-2024-6387', epss: 0.42, percentile: 0.974, score_date: '2026-11-22', model_version: 'v2025.03.14' }).execute();
    await assessAll(ctx, { actor: 'cli:alice' });
    const [regresshion] = await listExposures(s.store.db, { host: 'web-01', severity: 'high' });
    expect(regresshion).toMatchObject({ advisoryId: 'USN-6859-1', dueAt: at(7 * DAY) });
    expect(regresshion!.reasons).toContain('Exploitation: active (EPSS of CVE-2024-6387 at the 97.4% percentile on 2026-11-22 (≥ 95%))');
    expect(regresshion!.reasons).toContain('SSVC decision Attend: high (published high, within high)');
  });

  it('counts a vendor exploit status (CSAF threats) as active exploitation', async () => {
    const { ctx } = await setUp(s.store, { ...CONFIG, policy: { alertThreshold: 'high' } });
    const threats = [
      { category: 'impact', details: 'Remote code execution', productIds: [] },
      { category: 'exploit_status', details: 'Exploited in the wild (vendor telemetry)', productIds: [] },
    ];
    await s.store.db.updateTable('advisories').set({ vendor_details: JSON.stringify({ remediations: [], threats, products: [], provenance: null }) }).where('id', '=', 'USN-6859-1').execute();
    await assessAll(ctx, { actor: 'cli:alice' });
    const [regresshion] = await listExposures(s.store.db, { host: 'web-01', severity: 'high' });
    expect(regresshion!.reasons).toContain('Exploitation: active (advisory exploit status "Exploited in the wild (vendor telemetry)")');
    expect((await listCases(s.store.db)).map((c) => c.advisoryId).sort()).toEqual(['USN-4705-1', 'USN-6859-1']);
  });

  it('applies the strictest SLA of the host\'s groups and says which', async () => {
    const { ctx } = await setUp(s.store, { ...CONFIG, policy: { alertThreshold: 'medium', slaByGroup: { web: { medium: '10d' }, pilot: { medium: '14d', high: '1d' } } } });
    await assessAll(ctx, { actor: 'cli:alice' });
    const web = await listExposures(s.store.db, { host: 'web-01' });
    expect(web.map((e) => e.dueAt)).toEqual(web.map(() => at(10 * DAY)));
    expect(web[0]!.reasons).toContain('SLA for medium: 10d (group "web"; default 30d): due 2026-12-03 09:00 UTC');
    const [db] = await listExposures(s.store.db, { host: 'db-01.example.internal' });
    expect(db!.dueAt).toBe(at(30 * DAY));
  });
});
