import { checkHostBaseline, type Baseline, type BaselineStatus, type HostBaselineCheck } from '../core/baselines.js';
import { tallySla, type SlaTally } from '../core/sla.js';
import { listBaselineHosts, listHostGroups, listSlaExposures } from '../store/queries/compliance.js';
import { listExemptions } from '../store/queries/exemptions.js';
import type { WorkflowContext } from './context.js';

/** Checks every host of each configured baseline's group (or only `group`). Read-only. */
export async function checkBaselines(ctx: WorkflowContext, options: { group?: string } = {}): Promise<HostBaselineCheck[]> {
  const baselines: Baseline[] = ctx.config.baselines.filter((b) => options.group === undefined || b.group === options.group);
  if (baselines.length === 0) return [];
  const db = ctx.store.db;
  const hosts = await listBaselineHosts(db, baselines.map((b) => b.group), baselines.flatMap((b) => b.packages.map((p) => p.name)));
  const exemptions = await listExemptions(db);
  const now = ctx.clock.now();
  return baselines.flatMap((baseline) => hosts.filter((h) => h.groups.includes(baseline.group)).map((h) => checkHostBaseline(h, baseline, exemptions, now)));
}

export interface GroupCompliance {
  group: string;
  /** Null when the group has no baseline. */
  baseline: Record<BaselineStatus, number> | null;
  exposures: { open: number; exempt: number; mitigated: number };
  sla: SlaTally;
}

export interface ComplianceReport {
  generatedAt: string;
  groups: GroupCompliance[];
  /** The baseline check of each host, for the groups shown. */
  hosts: HostBaselineCheck[];
}

/** Per group: hosts against the baseline, exposures by status, SLA met and missed. */
export async function buildComplianceReport(ctx: WorkflowContext, options: { group?: string } = {}): Promise<ComplianceReport> {
  const now = ctx.clock.now();
  const hosts = await checkBaselines(ctx, options);
  const exposures = await listSlaExposures(ctx.store.db);
  const known = await listHostGroups(ctx.store.db);
  const groups =
    options.group !== undefined ? [options.group] : [...new Set([...ctx.config.baselines.map((b) => b.group), ...known])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    generatedAt: now.toISOString(),
    hosts,
    groups: groups.map((group) => {
      const inGroup = exposures.filter((e) => e.hostGroups.includes(group));
      const checks = hosts.filter((h) => h.group === group);
      const hasBaseline = ctx.config.baselines.some((b) => b.group === group);
      return {
        group,
        baseline: hasBaseline
          ? { meets: checks.filter((h) => h.status === 'meets').length, below: checks.filter((h) => h.status === 'below').length, exceeds: checks.filter((h) => h.status === 'exceeds').length, exempt: checks.filter((h) => h.status === 'exempt').length }
          : null,
        exposures: {
          open: inGroup.filter((e) => e.status === 'open').length,
          exempt: inGroup.filter((e) => e.status === 'exempt').length,
          mitigated: inGroup.filter((e) => e.status === 'mitigated').length,
        },
        sla: tallySla(inGroup, now),
      };
    }),
  };
}
