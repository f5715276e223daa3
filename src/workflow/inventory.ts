import { PatchdeckError } from '../core/errors.js';
import type { HostInput, HostPackage } from '../core/types.js';
import { getInventoryFormat, type InventoryReject } from '../inventory/index.js';
import { HOST_NAME_PATTERN } from '../inventory/types.js';
import { insertHosts, loadHostsByName, replaceHostPackages, updateHost } from '../store/queries/hosts.js';
import { recordChange, type WorkflowContext } from './context.js';

/** Host names listed in the audit event, per kind; the counts are always complete. */
const AUDIT_NAME_SAMPLE = 100;

export interface ImportHostsInput {
  hosts: HostInput[];
  /** Where the hosts came from, e.g. "file:hosts.csv"; stored on each host and audited. */
  source: string;
  actor: string;
  /** Entries the parser rejected, counted in the audit event. */
  rejected?: InventoryReject[];
}

export interface ImportResult {
  source: string;
  created: number;
  updated: number;
  packages: number;
  rejected: InventoryReject[];
}

export interface ImportInventoryInput {
  text: string;
  format: string;
  source: string;
  actor: string;
}

/** Parses an inventory file in the given format and imports the hosts it could read. */
export async function importInventory(ctx: WorkflowContext, input: ImportInventoryInput): Promise<ImportResult> {
  const parsed = getInventoryFormat(input.format).parse(input.text, input.source);
  return importHosts(ctx, { hosts: parsed.hosts, source: input.source, actor: input.actor, rejected: parsed.rejects });
}

/**
 * Creates or updates hosts and REPLACES each imported host's package list, in one transaction with
 * one audit event (counts and a sample of names, so a 10,000-host import stays one small record).
 * Hosts not in the import are left as they are.
 */
export async function importHosts(ctx: WorkflowContext, input: ImportHostsInput): Promise<ImportResult> {
  const rejected = input.rejected ?? [];
  const seen = new Set<string>();
  for (const host of input.hosts) {
    if (!HOST_NAME_PATTERN.test(host.name)) {
      throw new PatchdeckError('PD_INVENTORY_HOST_NAME', `host name "${host.name}" is not a valid host name`);
    }
    if (seen.has(host.name)) throw new PatchdeckError('PD_INVENTORY_DUPLICATE', `host "${host.name}" is listed twice`);
    seen.add(host.name);
  }
  if (input.hosts.length === 0) return { source: input.source, created: 0, updated: 0, packages: 0, rejected };

  const nowIso = ctx.clock.now().toISOString();
  return ctx.store.transaction(async (trx) => {
    const existing = await loadHostsByName(trx);
    const fresh = input.hosts.filter((h) => !existing.has(h.name));
    const known = input.hosts.filter((h) => existing.has(h.name));
    const createdIds = await insertHosts(trx, fresh, input.source, nowIso);
    for (const host of known) await updateHost(trx, existing.get(host.name)!.id, host, input.source, nowIso);

    const packagesByHost = new Map<number, HostPackage[]>();
    for (const host of input.hosts) {
      const id = createdIds.get(host.name) ?? existing.get(host.name)!.id;
      packagesByHost.set(id, host.packages);
    }
    const packages = await replaceHostPackages(trx, packagesByHost);

    await recordChange(trx, ctx, {
      audit: [
        {
          actor: input.actor,
          action: 'inventory.imported',
          subjectType: 'inventory',
          subjectId: input.source,
          after: {
            created: fresh.length,
            updated: known.length,
            packages,
            rejected: rejected.length,
            createdHosts: fresh.slice(0, AUDIT_NAME_SAMPLE).map((h) => h.name),
            updatedHosts: known.slice(0, AUDIT_NAME_SAMPLE).map((h) => h.name),
          },
        },
      ],
    });
    ctx.logger.info({ source: input.source, created: fresh.length, updated: known.length, packages, rejected: rejected.length }, 'inventory imported');
    return { source: input.source, created: fresh.length, updated: known.length, packages, rejected };
  });
}
