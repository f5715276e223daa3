import type { Exemption, ExemptionKind } from '../../core/exemptions.js';
import type { ExemptionsTable } from '../schema.js';
import type { Executor } from '../db.js';
import type { Selectable } from 'kysely';

export function toExemption(r: Selectable<ExemptionsTable>): Exemption {
  return {
    id: Number(r.id),
    kind: r.kind as ExemptionKind,
    host: r.host,
    group: r.group_name,
    advisoryId: r.advisory_id,
    package: r.package,
    control: r.control,
    reason: r.reason,
    approvedBy: r.approved_by,
    createdBy: r.created_by,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    expiredAt: r.expired_at,
    revokedAt: r.revoked_at,
  };
}

/** Every exemption and mitigation, oldest first. */
export async function listExemptions(db: Executor): Promise<Exemption[]> {
  const rows = await db.selectFrom('exemptions').selectAll().orderBy('id').execute();
  return rows.map(toExemption);
}

export async function getExemption(db: Executor, id: number): Promise<Exemption | null> {
  const row = await db.selectFrom('exemptions').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? null : toExemption(row);
}

/** Exemptions past their expiry that have not been marked expired (or revoked) yet. */
export async function listDueExemptions(db: Executor, nowIso: string): Promise<Exemption[]> {
  const rows = await db
    .selectFrom('exemptions')
    .selectAll()
    .where('expired_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '<=', nowIso)
    .orderBy('id')
    .execute();
  return rows.map(toExemption);
}

/** An exposure that is not resolved, with what an exemption is matched on. */
export interface HeldExposureRow {
  id: number;
  status: string;
  exemptionId: number | null;
  reasons: string;
  advisoryId: string;
  package: string;
  host: string;
  groups: string;
}

export async function listUnresolvedExposureHolds(db: Executor): Promise<HeldExposureRow[]> {
  const rows = await db
    .selectFrom('exposures')
    .innerJoin('hosts', 'hosts.id', 'exposures.host_id')
    .select([
      'exposures.id',
      'exposures.status',
      'exposures.exemption_id',
      'exposures.reasons',
      'exposures.advisory_id',
      'exposures.package',
      'hosts.name as host',
      'hosts.groups',
    ])
    .where('exposures.status', '!=', 'resolved')
    .orderBy('exposures.id')
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    status: r.status,
    exemptionId: r.exemption_id === null ? null : Number(r.exemption_id),
    reasons: r.reasons,
    advisoryId: r.advisory_id,
    package: r.package,
    host: r.host,
    groups: r.groups,
  }));
}
