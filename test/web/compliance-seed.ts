import type { HostInput } from '../../src/core/types.js';
import { toJson } from '../../src/store/json.js';
import { importHosts } from '../../src/workflow/inventory.js';
import { createTestContext, NOW, seedCase, seedExposure } from './seed.js';

/** Groups, baselines and exposures for the compliance pages (HTTP and browser tests). */
export const U = 'Ubuntu:22.04:LTS';
const hours = (n: number) => new Date(Date.parse(NOW) + n * 3_600_000).toISOString();

export const COMPLIANCE_CONFIG = {
  policy: {
    alertThreshold: 'high',
    slaByGroup: { 'pci<dss>': { critical: '12h', high: '3d' } },
    classification: { ssvc: { epssActivePercentile: 0.9, exposedGroups: ['internet-facing', 'dmz'] } },
  },
  baselines: [
    { group: 'web', packages: [{ ecosystem: U, name: 'openssl', minVersion: '3.0.2-0ubuntu1.12' }] },
    { group: 'pci<dss>', packages: [{ ecosystem: U, name: 'sudo', minVersion: '1.9.9-1ubuntu2.4' }] },
  ],
};

const host = (name: string, groups: string[], packages: [string, string][]): HostInput => ({
  name,
  os: U,
  role: 'server',
  criticality: 'medium',
  usage: 0.5,
  owner: 'ops',
  groups,
  packages: packages.map(([n, version]) => ({ ecosystem: U, name: n, version })),
});

/** Hosts against two baselines, and exposures resolved in time, late, open overdue, exempt and mitigated. */
export async function seedCompliance(ctx: ReturnType<typeof createTestContext>): Promise<void> {
  await importHosts(ctx, {
    hosts: [
      host('web-01', ['web', 'internet-facing'], [['openssl', '3.0.2-0ubuntu1.12']]),
      host('web-02', ['web'], [['openssl', '3.0.2-0ubuntu1.9']]),
      host('web-03', ['web'], [['openssl', '3.0.2-0ubuntu1.15']]),
      host('pay-01', ['pci<dss>'], [['sudo', '1.9.9-1ubuntu2']]),
    ],
    source: 'test',
    actor: 'test',
  });
  const ids = Object.fromEntries((await ctx.store.db.selectFrom('hosts').select(['id', 'name']).execute()).map((h) => [h.name, Number(h.id)]));
  const caseId = await seedCase(ctx.store, { advisoryId: 'USN-6450-1', title: 'OpenSSL vulnerabilities', severity: 'high' });
  for (const name of ['web-01', 'web-02', 'web-03']) await seedExposure(ctx.store, caseId, 'USN-6450-1', ids[name]!, 'libssl3');
  const set = (name: string, values: Record<string, unknown>) =>
    ctx.store.db.updateTable('exposures').set(values).where('host_id', '=', ids[name]!).execute();
  await set('web-01', { status: 'resolved', resolved_at: hours(-2) }); // due in 5 days: met
  await set('web-02', { status: 'open', due_at: hours(-1) }); // overdue: missed
  await ctx.store.db
    .insertInto('exemptions')
    .values({ kind: 'mitigation', host: 'web-03', group_name: null, advisory_id: 'USN-6450-1', package: null, control: 'TLS terminated on the <b>proxy</b>', reason: '', approved_by: 'alice', created_by: 'cli:bob', created_at: hours(-48), expires_at: hours(24 * 30), expired_at: null, revoked_at: null })
    .execute();
  await set('web-03', { status: 'mitigated', exemption_id: 1, reasons: toJson(['Mitigated: mitigation #1']) });
}

