import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { listAudit, verifyAuditChain } from '../../src/store/audit.js';
import type { Store } from '../../src/store/db.js';
import { getCaseView, listCases } from '../../src/store/queries/cases.js';
import { listExposures } from '../../src/store/queries/exposures.js';
import { assessAll } from '../../src/workflow/assess.js';
import { buildComplianceReport, checkBaselines } from '../../src/workflow/compliance.js';
import { createExemption, createExemptionJobHandlers, endExemption, overrideCaseSeverity } from '../../src/workflow/exemptions.js';
import { importInventory } from '../../src/workflow/inventory.js';
import { insertAdvisory, kevAdvisory, osvFixture } from '../helpers/advisories.js';
import { createTestContext, TEST_NOW } from '../helpers/context.js';
import { describeEachStore } from '../helpers/stores.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/inventory');
const DAY = 86_400_000;
const at = (ms: number) => new Date(Date.parse(TEST_NOW) + ms).toISOString();

const CONFIG = {
  policy: { alertThreshold: 'medium', maxExemption: '90d' },
  people: [
    { id: 'alice', name: 'Alice', groups: ['approvers'] },
    { id: 'bob', name: 'Bob', groups: ['ops'] },
  ],
  baselines: [
    {
      group: 'web',
      packages: [
        { ecosystem: 'Ubuntu:22.04:LTS', name: 'openssh-server', minVersion: '1:8.9p1-3ubuntu0.10' },
        { ecosystem: 'Ubuntu:22.04:LTS', name: 'sudo', minVersion: '1.9.9-1ubuntu2.4' },
      ],
    },
    { group: 'databases', packages: [{ ecosystem: 'Ubuntu:24.04:LTS', name: 'sudo', minVersion: '1.9.15p5-3ubuntu5.24.04.1' }] },
  ],
};

async function setUp(store: Store) {
  const { ctx, clock } = createTestContext(store, CONFIG);
  await insertAdvisory(store.db, osvFixture('USN-6859-1.json', { cvssScore: 8.1 }));
  await insertAdvisory(store.db, osvFixture('USN-7270-1.json'));
  await insertAdvisory(store.db, osvFixture('USN-4705-1.json'));
  await insertAdvisory(store.db, kevAdvisory('CVE-2021-3156'));
  await importInventory(ctx, { text: readFileSync(path.join(FIXTURES, 'hosts.json'), 'utf8'), format: 'json', source: 'file:hosts.json', actor: 'cli:alice' });
  await assessAll(ctx, { actor: 'cli:alice' });
  return { ctx, clock };
}

const sudoExposure = async (store: Store) => (await listExposures(store.db, { host: 'legacy-01', status: 'all' }))[0]!;

describeEachStore('exemptions, mitigations and overrides', (s) => {
  it('holds an exposure while the exemption runs, keeps it held on re-assessment, and re-opens it on expiry', async () => {
    const { ctx, clock } = await setUp(s.store);
    const { exemption, held } = await createExemption(ctx, {
      kind: 'exemption',
      host: 'legacy-01',
      advisoryId: 'USN-4705-1',
      control: 'isolated VLAN',
      approvedBy: 'alice',
      forMs: 30 * DAY,
      reason: 'vendor appliance, patch not certified',
      actor: 'cli:bob',
    });
    expect(held).toBe(1);
    expect(exemption).toMatchObject({ id: 1, kind: 'exemption', expiresAt: at(30 * DAY), createdBy: 'cli:bob' });
    let sudo = await sudoExposure(s.store);
    expect(sudo).toMatchObject({ status: 'exempt', exemptionId: 1 });
    expect(sudo.reasons.at(-1)).toBe('Exempt: exemption #1 (isolated VLAN), approved by alice, until 2026-12-23');
    expect(await listExposures(s.store.db, { host: 'legacy-01' })).toEqual([]);

    clock.advance(DAY);
    const again = await assessAll(ctx, { actor: 'system' });
    expect(again.exposures.resolved).toBe(0);
    sudo = await sudoExposure(s.store);
    expect(sudo).toMatchObject({ status: 'exempt', detectedAt: TEST_NOW });
    expect(sudo.reasons.filter((r) => r.startsWith('Exempt:'))).toHaveLength(1);

    clock.advance(30 * DAY);
    await assessAll(ctx, { actor: 'system' });
    sudo = await sudoExposure(s.store);
    expect(sudo).toMatchObject({ status: 'open', exemptionId: 1, detectedAt: TEST_NOW });
    expect(sudo.reasons.at(-1)).toBe('Re-opened: exemption #1 expired on 2026-12-23');
    const audit = await listAudit(s.store.db, { subjectType: 'exemption', subjectId: 1 });
    expect(audit.map((a) => a.action)).toEqual(['exemption.created', 'exemption.expired']);
    expect(audit[1]).toMatchObject({ actor: 'system', after: { state: 'expired', reopened: [{ exposure: sudo.id, host: 'legacy-01', advisory: 'USN-4705-1', package: 'sudo' }] } });
    // The re-opened exposure counts again for its case.
    const sudoCase = (await listCases(s.store.db)).find((c) => c.advisoryId === 'USN-4705-1')!;
    expect(sudoCase.openExposures).toBe(1);
    expect(await verifyAuditChain(s.store.db)).toBeNull();
  });

  it('expires exemptions from the scheduled job, once', async () => {
    const { ctx, clock } = await setUp(s.store);
    await createExemption(ctx, { kind: 'exemption', host: 'legacy-01', advisoryId: 'USN-4705-1', control: 'firewall rule', approvedBy: 'alice', expires: '2026-11-30', reason: '', actor: 'cli:bob' });
    const handler = createExemptionJobHandlers({ notifiers: [], directNotifiers: [] })['exemptions.expire']!;
    const job = { id: 1, kind: 'exemptions.expire', payload: {}, attempts: 1, maxAttempts: 3, fence: 1 };
    await handler(ctx, job);
    expect((await sudoExposure(s.store)).status).toBe('exempt');
    clock.advance(8 * DAY);
    await handler(ctx, job);
    await handler(ctx, job);
    expect((await sudoExposure(s.store)).status).toBe('open');
    expect((await listAudit(s.store.db)).filter((a) => a.action === 'exemption.expired')).toHaveLength(1);
  });

  it('marks a group-wide package mitigation, and re-opens when it is ended by hand', async () => {
    const { ctx } = await setUp(s.store);
    const { exemption, held } = await createExemption(ctx, { kind: 'mitigation', group: 'web', package: 'openssh-server', control: 'sshd bound to the management VLAN', approvedBy: 'alice', forMs: 14 * DAY, reason: '', actor: 'cli:bob' });
    expect(held).toBe(2); // USN-6859-1 and USN-7270-1 on web-01's openssh-server
    const web = await listExposures(s.store.db, { host: 'web-01', status: 'all' });
    expect(web.map((e) => [e.advisoryId, e.package, e.status]).sort()).toEqual([
      ['USN-6859-1', 'openssh-client', 'open'],
      ['USN-6859-1', 'openssh-server', 'mitigated'],
      ['USN-7270-1', 'openssh-client', 'open'],
      ['USN-7270-1', 'openssh-server', 'mitigated'],
    ]);
    const ended = await endExemption(ctx, { id: exemption.id, actor: 'cli:alice' });
    expect(ended.reopened).toBe(2);
    expect((await listExposures(s.store.db, { host: 'web-01', status: 'mitigated' }))).toEqual([]);
    const reopened = (await listExposures(s.store.db, { host: 'web-01' })).find((e) => e.package === 'openssh-server')!;
    expect(reopened.reasons.at(-1)).toBe('Re-opened: mitigation #1 was ended on 2026-11-23');
    await expect(endExemption(ctx, { id: exemption.id, actor: 'cli:alice' })).rejects.toMatchObject({ code: 'PD_EXEMPTION_ENDED', status: 409 });
    await expect(endExemption(ctx, { id: 99, actor: 'cli:alice' })).rejects.toMatchObject({ code: 'PD_EXEMPTION_NOT_FOUND' });
    const audit = await listAudit(s.store.db, { subjectType: 'exemption', subjectId: exemption.id });
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ['mitigation.created', 'cli:bob'],
      ['mitigation.ended', 'cli:alice'],
    ]);
  });

  it('refuses exemptions that never expire, run too long, or name unknown hosts, advisories or approvers, storing nothing', async () => {
    const { ctx } = await setUp(s.store);
    const base = { kind: 'exemption' as const, host: 'legacy-01', advisoryId: 'USN-4705-1', control: 'isolated VLAN', approvedBy: 'alice', reason: '', actor: 'cli:bob' };
    await expect(createExemption(ctx, base)).rejects.toThrow(/exemptions always expire/);
    await expect(createExemption(ctx, { ...base, forMs: 91 * DAY })).rejects.toThrow(/at most 90d/);
    await expect(createExemption(ctx, { ...base, forMs: DAY, host: 'nope' })).rejects.toMatchObject({ code: 'PD_HOST_NOT_FOUND' });
    await expect(createExemption(ctx, { ...base, forMs: DAY, advisoryId: 'USN-0-0' })).rejects.toMatchObject({ code: 'PD_ADVISORY_NOT_FOUND' });
    await expect(createExemption(ctx, { ...base, forMs: DAY, approvedBy: 'mallory' })).rejects.toMatchObject({ code: 'PD_UNKNOWN_PERSON' });
    expect(await s.store.db.selectFrom('exemptions').selectAll().execute()).toEqual([]);
  });

  it('overrides a case severity with a reason, audited before and after, kept across re-assessment', async () => {
    const { ctx, clock } = await setUp(s.store);
    const openssh = (await listCases(s.store.db)).find((c) => c.advisoryId === 'USN-7270-1')!;
    const result = await overrideCaseSeverity(ctx, { caseId: openssh.id, severity: 'critical', reason: 'jump hosts are internet-facing', person: 'alice', actor: 'cli:alice' });
    expect(result).toEqual({ before: 'medium', after: 'critical' });
    clock.advance(DAY);
    await assessAll(ctx, { actor: 'system' });
    const view = (await getCaseView(s.store.db, openssh.id))!;
    expect(view.severity).toBe('critical');
    expect(view.reasons.at(-1)).toBe('Severity overridden from medium to critical by alice: jump hosts are internet-facing');
    const row = await s.store.db.selectFrom('cases').select(['severity_override', 'override_reason', 'override_by', 'override_at']).where('id', '=', openssh.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ severity_override: 'critical', override_reason: 'jump hosts are internet-facing', override_by: 'alice', override_at: TEST_NOW });
    const [audit] = await listAudit(s.store.db, { subjectType: 'case', subjectId: openssh.id }).then((a) => a.filter((e) => e.action === 'case.severity_overridden'));
    expect(audit).toMatchObject({ actor: 'cli:alice', before: { severity: 'medium', override: null }, after: { severity: 'critical', reason: 'jump hosts are internet-facing', by: 'alice' } });
    await expect(overrideCaseSeverity(ctx, { caseId: openssh.id, severity: 'low', reason: ' ', person: 'alice', actor: 'x' })).rejects.toMatchObject({ code: 'PD_OVERRIDE_REASON' });
    await expect(overrideCaseSeverity(ctx, { caseId: 999, severity: 'low', reason: 'x', person: 'alice', actor: 'x' })).rejects.toMatchObject({ code: 'PD_CASE_NOT_FOUND' });
  });

  it('checks baselines and reports compliance per group, counting exempt and mitigated apart from met and missed', async () => {
    const { ctx, clock } = await setUp(s.store);
    let checks = await checkBaselines(ctx);
    expect(checks.map((c) => [c.group, c.host, c.status, c.faults.map((f) => f.name)])).toEqual([
      ['web', 'web-01', 'below', ['openssh-server']],
      ['databases', 'db-01.example.internal', 'meets', []],
    ]);
    await createExemption(ctx, { kind: 'mitigation', host: 'web-01', package: 'openssh-server', control: 'sshd bound to the management VLAN', approvedBy: 'alice', forMs: 14 * DAY, reason: '', actor: 'cli:bob' });
    checks = await checkBaselines(ctx, { group: 'web' });
    expect(checks).toMatchObject([{ host: 'web-01', status: 'exempt', faults: [{ name: 'openssh-server', exemptionId: 1 }] }]);

    // db-01 is patched in time (met); web-01's openssh-client stays open past its due (missed).
    clock.advance(10 * DAY);
    await importInventory(ctx, {
      text: JSON.stringify([{ name: 'db-01.example.internal', os: 'Ubuntu:24.04:LTS', role: 'database', criticality: 'critical', usage: 0.5, owner: 'dba', groups: ['databases'], packages: [] }]),
      format: 'json',
      source: 'file:db.json',
      actor: 'cli:alice',
    });
    await assessAll(ctx, { actor: 'system' });
    const midway = Object.fromEntries((await buildComplianceReport(ctx)).groups.map((g) => [g.group, g]));
    expect(midway.web).toMatchObject({ baseline: { exempt: 1 }, exposures: { open: 2, mitigated: 2 }, sla: { missed: 0, pending: 2, mitigated: 2 } });
    clock.advance(25 * DAY);
    await assessAll(ctx, { actor: 'system' }); // the mitigation ran out: its exposures re-open
    const report = await buildComplianceReport(ctx);
    const byGroup = Object.fromEntries(report.groups.map((g) => [g.group, g]));
    expect(byGroup.web).toEqual({
      group: 'web',
      baseline: { meets: 0, below: 1, exceeds: 0, exempt: 0 },
      exposures: { open: 4, exempt: 0, mitigated: 0 },
      sla: { met: 0, missed: 4, pending: 0, exempt: 0, mitigated: 0 },
    });
    expect(byGroup.databases).toMatchObject({ baseline: { meets: 1, below: 0 }, exposures: { open: 0 }, sla: { met: 1, missed: 0 } });
    expect(byGroup.pilot).toMatchObject({ baseline: null, exposures: { open: 4 } });
  });
});
