import { PatchdeckError } from '../core/errors.js';
import type { HostInput, HostPackage } from '../core/types.js';
import { getInventoryFormat, type InventoryReject } from '../inventory/index.js';
import { sshScanner, type SshScanOptions, type SshTarget } from '../inventory/ssh-scan.js';
import { HOST_NAME_PATTERN, type ImportScope } from '../inventory/types.js';
import type { Executor } from '../store/db.js';
import {
  chunk,
  insertForeignHost,
  insertHosts,
  loadHostsByName,
  replaceHostPackages,
  setHostAttestation,
  updateHost,
  type AttestationState,
  type ForeignHostInput,
  type HostAttribute,
  type HostRecord,
} from '../store/queries/hosts.js';
import { requestAssess } from './assess-jobs.js';
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
  /** A partial source: see ImportScope. */
  scope?: ImportScope;
  /**
   * A scan (ssh-scan) rather than an inventory source: hosts it creates are `unmanaged` and it leaves
   * stored statuses alone. An inventory source makes every host it lists `managed`.
   */
  scan?: boolean;
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
  return importHosts(ctx, {
    hosts: parsed.hosts,
    source: input.source,
    actor: input.actor,
    rejected: parsed.rejects,
    ...(parsed.scope ? { scope: parsed.scope } : {}),
  });
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
    const createdIds = await insertHosts(trx, fresh, input.source, nowIso, input.scan ? 'unmanaged' : 'managed');
    const keep = input.scope?.keep ?? [];
    const changed = known.filter((host) => assessedAttributesDiffer(existing.get(host.name)!, host, keep)).map((host) => existing.get(host.name)!.id);
    for (const host of known) {
      await updateHost(trx, existing.get(host.name)!.id, host, input.source, nowIso, { keep, ...(input.scan ? {} : { status: 'managed' as const }) });
    }

    const packagesByHost = new Map<number, HostPackage[]>();
    const ecosystemsByHost = new Map<number, string[]>();
    for (const host of input.hosts) {
      const id = createdIds.get(host.name) ?? existing.get(host.name)!.id;
      packagesByHost.set(id, host.packages);
      if (input.scope?.replace === 'reported-ecosystems') ecosystemsByHost.set(id, [...new Set(host.packages.map((p) => p.ecosystem))]);
    }
    // Compared before they are replaced: only hosts whose package list changes need matching again.
    const repackaged = await hostsWithChangedPackages(trx, known.map((h) => existing.get(h.name)!.id), packagesByHost, input.scope ? ecosystemsByHost : undefined);
    const packages = await replaceHostPackages(trx, packagesByHost, input.scope ? ecosystemsByHost : undefined);

    await recordChange(trx, ctx, {
      audit: [
        {
          actor: input.actor,
          action: input.scan ? 'inventory.scanned' : 'inventory.imported',
          subjectType: 'inventory',
          subjectId: input.source,
          after: {
            created: fresh.length,
            updated: known.length,
            packages,
            rejected: rejected.length,
            ...(input.scan ? { createdAs: 'unmanaged' } : {}),
            createdHosts: fresh.slice(0, AUDIT_NAME_SAMPLE).map((h) => h.name),
            updatedHosts: known.slice(0, AUDIT_NAME_SAMPLE).map((h) => h.name),
          },
        },
      ],
    });
    // New hosts and hosts that changed are matched by the assess job (workflow/assess-jobs.ts), committed with the import.
    await requestAssess(trx, ctx, { hostIds: [...createdIds.values(), ...changed, ...repackaged] });
    ctx.logger.info({ source: input.source, created: fresh.length, updated: known.length, packages, rejected: rejected.length }, 'inventory imported');
    return { source: input.source, created: fresh.length, updated: known.length, packages, rejected };
  });
}

/** The attributes assessment reads (classification, SLA, routing, exemptions by group) differ from the stored ones. */
function assessedAttributesDiffer(stored: HostRecord, host: HostInput, keep: readonly HostAttribute[]): boolean {
  const next = (attribute: 'role' | 'criticality') => (keep.includes(attribute) ? stored[attribute] : host[attribute]);
  const groups = (list: string[]) => [...list].sort().join('\u0000');
  return (
    next('role') !== stored.role ||
    next('criticality') !== stored.criticality ||
    (!keep.includes('groups') && groups(host.groups) !== groups(stored.groups))
  );
}

/**
 * Stored hosts whose package list the replacement changes: all of it, or with `ecosystemsByHost`
 * only the ecosystems given for the host (as `replaceHostPackages` replaces them). Read in chunks.
 */
async function hostsWithChangedPackages(
  trx: Executor,
  hostIds: number[],
  packagesByHost: Map<number, HostPackage[]>,
  ecosystemsByHost: Map<number, string[]> | undefined,
): Promise<number[]> {
  const key = (p: { ecosystem: string; name: string; version: string }) => `${p.ecosystem}\u0000${p.name}\u0000${p.version}`;
  const changed: number[] = [];
  for (const part of chunk(hostIds, 500)) {
    const stored = new Map<number, Set<string>>(part.map((id) => [id, new Set()]));
    const rows = await trx.selectFrom('host_packages').select(['host_id', 'ecosystem', 'name', 'version']).where('host_id', 'in', part).execute();
    for (const row of rows) {
      const hostId = Number(row.host_id);
      const replaced = ecosystemsByHost?.get(hostId);
      if (replaced === undefined || replaced.includes(row.ecosystem)) stored.get(hostId)?.add(key(row));
    }
    for (const [hostId, before] of stored) {
      const after = new Set((packagesByHost.get(hostId) ?? []).map(key));
      if (after.size !== before.size || [...after].some((k) => !before.has(k))) changed.push(hostId);
    }
  }
  return changed;
}

/** Records a contractor or guest device: an owner and an attestation state instead of packages. */
export async function addForeignHost(ctx: WorkflowContext, input: ForeignHostInput & { actor: string }): Promise<{ id: number }> {
  if (!HOST_NAME_PATTERN.test(input.name)) {
    throw new PatchdeckError('PD_INVENTORY_HOST_NAME', `host name "${input.name}" must be letters, digits, "-", "_" and dots, not starting with "-"`);
  }
  if (input.owner.trim() === '') throw new PatchdeckError('PD_HOST_OWNER', 'a foreign device needs an owner (--owner): who answers for it');
  const nowIso = ctx.clock.now().toISOString();
  return ctx.store.transaction(async (trx) => {
    const existing = await trx.selectFrom('hosts').select(['id', 'status']).where('name', '=', input.name).executeTakeFirst();
    if (existing) {
      throw new PatchdeckError('PD_HOST_EXISTS', `host "${input.name}" already exists (status ${existing.status}); foreign devices must be new names`, { status: 409 });
    }
    const { actor, ...host } = input;
    const id = await insertForeignHost(trx, { ...host, owner: host.owner.trim() }, `foreign:${actor}`, nowIso);
    await recordChange(trx, ctx, {
      audit: [{ actor, action: 'host.foreign_added', subjectType: 'host', subjectId: input.name, after: { id, owner: host.owner.trim(), attestation: host.attestation, role: host.role, criticality: host.criticality } }],
    });
    return { id };
  });
}

/** Sets a foreign device's attestation state (pending, attested, expired), audited with before and after. */
export async function attestHost(ctx: WorkflowContext, input: { name: string; state: AttestationState; actor: string }): Promise<{ changed: boolean }> {
  const nowIso = ctx.clock.now().toISOString();
  return ctx.store.transaction(async (trx) => {
    const host = await trx.selectFrom('hosts').select(['id', 'status', 'attestation']).where('name', '=', input.name).executeTakeFirst();
    if (!host) throw new PatchdeckError('PD_HOST_NOT_FOUND', `no host named "${input.name}"; see \`patchdeck hosts list\``, { status: 404 });
    if (host.status !== 'foreign') {
      throw new PatchdeckError('PD_HOST_NOT_FOREIGN', `host "${input.name}" is ${host.status}; only foreign devices carry an attestation`, { status: 409 });
    }
    if (host.attestation === input.state) return { changed: false };
    await setHostAttestation(trx, Number(host.id), input.state, nowIso);
    await recordChange(trx, ctx, {
      audit: [{ actor: input.actor, action: 'host.attested', subjectType: 'host', subjectId: input.name, before: { attestation: host.attestation }, after: { attestation: input.state } }],
    });
    return { changed: true };
  });
}

export interface ScanInput {
  targets: SshTarget[];
  options: Omit<SshScanOptions, 'name'>;
  /** Host name to record when there is one target; default the target's host. */
  name?: string;
  actor: string;
}

export interface ScanResult extends ImportResult {
  /** Targets that could not be scanned, with why. */
  failed: { target: string; code: string; message: string }[];
  /** Hosts whose key was trusted on first use (--accept-new) and written to known_hosts. */
  acceptedKeys: string[];
  /** Scanned hosts no inventory source lists: created or still `unmanaged`. */
  unmanaged: string[];
}

/**
 * Scans machines over SSH one after the other (no transaction is open while the network is used),
 * then imports what was read in one transaction. A scanned host keeps its stored role, criticality,
 * owner and groups; one no inventory source has listed is created `unmanaged`.
 */
export async function scanHosts(ctx: WorkflowContext, input: ScanInput): Promise<ScanResult> {
  if (input.name !== undefined && input.targets.length !== 1) throw new PatchdeckError('PD_USAGE', '--name needs exactly one --ssh target', { status: 400 });
  const hosts: HostInput[] = [];
  const failed: ScanResult['failed'] = [];
  const acceptedKeys: string[] = [];
  for (const target of input.targets) {
    const label = `${target.user}@${target.host}:${target.port}`;
    try {
      const scanned = await sshScanner.scan(target, { ...input.options, ...(input.name !== undefined ? { name: input.name } : {}) });
      if (scanned.hostKey === 'accepted-new') acceptedKeys.push(label);
      if (hosts.some((h) => h.name === scanned.host.name)) continue;
      hosts.push(scanned.host);
    } catch (error) {
      if (!(error instanceof PatchdeckError)) throw error;
      ctx.logger.warn({ target: label, code: error.code }, error.message);
      failed.push({ target: label, code: error.code, message: error.message });
    }
  }
  const source = `ssh-scan:${input.actor}`;
  const imported = await importHosts(ctx, {
    hosts,
    source,
    actor: input.actor,
    scan: true,
    scope: { keep: ['role', 'criticality', 'usage', 'owner', 'groups'], replace: 'reported-ecosystems' },
  });
  const stored = await loadHostsByName(ctx.store.db);
  const unmanaged = hosts.map((h) => h.name).filter((name) => stored.get(name)?.status === 'unmanaged');
  return { ...imported, failed, acceptedKeys, unmanaged };
}
