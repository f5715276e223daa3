import { parseDurationMs } from '../config/schema.js';
import { PatchdeckError } from '../core/errors.js';
import {
  describeExemptionScope,
  holdExposure,
  resolveExemptionExpiry,
  withoutExemptionReasons,
  type Exemption,
  type ExemptionRequest,
} from '../core/exemptions.js';
import { findPersonById } from '../core/people.js';
import { SEVERITIES, type Severity } from '../core/types.js';
import type { Executor } from '../store/db.js';
import { fromJson, toJson } from '../store/json.js';
import { getExemption, listDueExemptions, listExemptions, listUnresolvedExposureHolds } from '../store/queries/exemptions.js';
import { recordChange, type ChangeRecord, type WorkflowContext } from './context.js';
import { JOB_KINDS, type JobHandlers } from './jobs.js';

/** An exposure whose status an exemption changed. */
export interface HoldChange {
  exposureId: number;
  host: string;
  advisoryId: string;
  package: string;
  from: string;
  to: string;
  exemptionId: number | null;
}

/**
 * Re-applies every exemption to the exposures that are not resolved: held ones become `exempt` or
 * `mitigated`, those whose exemption ended re-open with a reason saying which and when.
 */
export async function refreshExposureHolds(trx: Executor, now: Date): Promise<HoldChange[]> {
  const exemptions = await listExemptions(trx);
  const rows = await listUnresolvedExposureHolds(trx);
  const changes: HoldChange[] = [];
  for (const row of rows) {
    const hold = holdExposure(
      { host: row.host, groups: fromJson<string[]>(row.groups, []), advisoryId: row.advisoryId, package: row.package },
      exemptions,
      row.exemptionId,
      now,
    );
    const before = fromJson<string[]>(row.reasons, []);
    const reasons = [...withoutExemptionReasons(before), ...(hold.reason === null ? [] : [hold.reason])];
    if (hold.status === row.status && hold.exemptionId === row.exemptionId && toJson(reasons) === toJson(before)) continue;
    await trx.updateTable('exposures').set({ status: hold.status, exemption_id: hold.exemptionId, reasons: toJson(reasons) }).where('id', '=', row.id).execute();
    if (hold.status !== row.status) {
      changes.push({ exposureId: row.id, host: row.host, advisoryId: row.advisoryId, package: row.package, from: row.status, to: hold.status, exemptionId: hold.exemptionId });
    }
  }
  return changes;
}

function auditSummary(e: Exemption) {
  return {
    id: e.id,
    kind: e.kind,
    scope: describeExemptionScope(e),
    control: e.control,
    reason: e.reason,
    approvedBy: e.approvedBy,
    expiresAt: e.expiresAt,
  };
}

const reopenedList = (changes: HoldChange[]) => changes.filter((c) => c.to === 'open').map((c) => ({ exposure: c.exposureId, host: c.host, advisory: c.advisoryId, package: c.package }));

/**
 * Marks exemptions past their expiry as expired and re-opens what they held, in the caller's
 * transaction. One audit event per exemption, naming the exposures it re-opened.
 */
export async function expireDueExemptions(trx: Executor, ctx: WorkflowContext, actor: string): Promise<{ expired: number[]; reopened: number }> {
  const now = ctx.clock.now();
  const due = await listDueExemptions(trx, now.toISOString());
  if (due.length === 0) return { expired: [], reopened: 0 };
  for (const e of due) await trx.updateTable('exemptions').set({ expired_at: now.toISOString() }).where('id', '=', e.id).execute();
  const changes = await refreshExposureHolds(trx, now);
  const change: ChangeRecord = { audit: [] };
  for (const e of due) {
    change.audit.push({
      actor,
      action: 'exemption.expired',
      subjectType: 'exemption',
      subjectId: e.id,
      before: { state: 'active' },
      after: { ...auditSummary(e), state: 'expired', expiredAt: now.toISOString(), reopened: reopenedList(changes.filter((c) => c.exemptionId === e.id)) },
    });
  }
  await recordChange(trx, ctx, change);
  const reopened = changes.filter((c) => c.to === 'open').length;
  ctx.logger.info({ expired: due.map((e) => e.id), reopened }, 'exemptions expired');
  return { expired: due.map((e) => e.id), reopened };
}

export async function expireExemptions(ctx: WorkflowContext, options: { actor: string }): Promise<{ expired: number[]; reopened: number }> {
  return ctx.store.transaction((trx) => expireDueExemptions(trx, ctx, options.actor));
}

/** Job handlers for `exemptions.expire` (scheduled): idempotent, since expired exemptions are skipped. */
export function createExemptionJobHandlers(): JobHandlers {
  return {
    [JOB_KINDS.exemptionsExpire]: async (ctx) => {
      await expireExemptions(ctx, { actor: 'patchdeck' });
    },
  };
}

function requireKnownPerson(ctx: WorkflowContext, id: string, option: string): void {
  if (ctx.config.people.length > 0 && findPersonById(ctx.config.people, id) === null) {
    throw new PatchdeckError('PD_UNKNOWN_PERSON', `${option} "${id}" is not a person in the config (people[].id); use one of: ${ctx.config.people.map((p) => p.id).join(', ')}.`);
  }
}

export interface CreateExemptionInput extends ExemptionRequest {
  reason: string;
  actor: string;
}

/** Records an exemption or mitigation and applies it to the exposures it covers at once. */
export async function createExemption(ctx: WorkflowContext, input: CreateExemptionInput): Promise<{ exemption: Exemption; held: number }> {
  const now = ctx.clock.now();
  const maxLabel = ctx.config.policy.maxExemption;
  const expiresAt = resolveExemptionExpiry(input, now, parseDurationMs(maxLabel), maxLabel);
  requireKnownPerson(ctx, input.approvedBy, '--approved-by');
  return ctx.store.transaction(async (trx) => {
    if (input.host !== undefined) {
      const host = await trx.selectFrom('hosts').select('id').where('name', '=', input.host).executeTakeFirst();
      if (!host) throw new PatchdeckError('PD_HOST_NOT_FOUND', `there is no host "${input.host}"; list hosts with "patchdeck hosts list"`, { status: 404 });
    }
    if (input.advisoryId !== undefined) {
      const advisory = await trx.selectFrom('advisories').select('id').where('id', '=', input.advisoryId).executeTakeFirst();
      if (!advisory) throw new PatchdeckError('PD_ADVISORY_NOT_FOUND', `there is no advisory "${input.advisoryId}"; check the id in "patchdeck exposures list"`, { status: 404 });
    }
    const inserted = await trx
      .insertInto('exemptions')
      .values({
        kind: input.kind,
        host: input.host ?? null,
        group_name: input.group ?? null,
        advisory_id: input.advisoryId ?? null,
        package: input.package ?? null,
        control: input.control.trim(),
        reason: input.reason.trim(),
        approved_by: input.approvedBy.trim(),
        created_by: input.actor,
        created_at: now.toISOString(),
        expires_at: expiresAt,
        expired_at: null,
        revoked_at: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const exemption = (await getExemption(trx, Number(inserted.id)))!;
    const changes = await refreshExposureHolds(trx, now);
    const held = changes.filter((c) => c.exemptionId === exemption.id && c.to !== 'open');
    await recordChange(trx, ctx, {
      audit: [
        {
          actor: input.actor,
          action: `${exemption.kind}.created`,
          subjectType: 'exemption',
          subjectId: exemption.id,
          after: { ...auditSummary(exemption), held: held.map((c) => c.exposureId) },
        },
      ],
    });
    return { exemption, held: held.length };
  });
}

/** Ends an exemption before its expiry (`exemptions expire ID`); what it held re-opens. */
export async function endExemption(ctx: WorkflowContext, input: { id: number; actor: string }): Promise<{ exemption: Exemption; reopened: number }> {
  const now = ctx.clock.now();
  return ctx.store.transaction(async (trx) => {
    const existing = await getExemption(trx, input.id);
    if (!existing) throw new PatchdeckError('PD_EXEMPTION_NOT_FOUND', `there is no exemption #${input.id}; see "patchdeck exemptions list"`, { status: 404 });
    if (existing.revokedAt !== null || existing.expiredAt !== null) {
      throw new PatchdeckError('PD_EXEMPTION_ENDED', `exemption #${input.id} already ended on ${(existing.revokedAt ?? existing.expiredAt)!.slice(0, 10)}`, { status: 409 });
    }
    await trx.updateTable('exemptions').set({ revoked_at: now.toISOString() }).where('id', '=', input.id).execute();
    const exemption = (await getExemption(trx, input.id))!;
    const changes = (await refreshExposureHolds(trx, now)).filter((c) => c.exemptionId === input.id && c.to === 'open');
    await recordChange(trx, ctx, {
      audit: [
        {
          actor: input.actor,
          action: `${exemption.kind}.ended`,
          subjectType: 'exemption',
          subjectId: exemption.id,
          before: { state: 'active', expiresAt: existing.expiresAt },
          after: { ...auditSummary(exemption), state: 'revoked', revokedAt: now.toISOString(), reopened: reopenedList(changes) },
        },
      ],
    });
    return { exemption, reopened: changes.length };
  });
}

export interface OverrideInput {
  caseId: number;
  severity: Severity;
  reason: string;
  /** The person overriding (a config people id when people are configured). */
  person: string;
  actor: string;
}

/**
 * Sets a case's severity by hand, with a reason; the override is stored on the case, so re-assessment
 * keeps it, and audited with the severity before and after.
 */
export async function overrideCaseSeverity(ctx: WorkflowContext, input: OverrideInput): Promise<{ before: Severity; after: Severity }> {
  if (!SEVERITIES.includes(input.severity)) throw new PatchdeckError('PD_USAGE', `--severity must be one of ${SEVERITIES.join(', ')}`);
  if (input.reason.trim() === '') throw new PatchdeckError('PD_OVERRIDE_REASON', '--reason must say why the severity is overridden.');
  requireKnownPerson(ctx, input.person, '--as');
  const nowIso = ctx.clock.now().toISOString();
  return ctx.store.transaction(async (trx) => {
    const row = await trx.selectFrom('cases').select(['id', 'severity', 'reasons', 'severity_override', 'override_reason', 'override_by']).where('id', '=', input.caseId).executeTakeFirst();
    if (!row) throw new PatchdeckError('PD_CASE_NOT_FOUND', `there is no case ${input.caseId}; list cases with "patchdeck patches list"`, { status: 404 });
    const before = row.severity as Severity;
    const reasons = fromJson<string[]>(row.reasons, []).filter((r) => !r.startsWith('Severity overridden'));
    reasons.push(`Severity overridden from ${before} to ${input.severity} by ${input.person}: ${input.reason.trim()}`);
    await trx
      .updateTable('cases')
      .set({
        severity: input.severity,
        reasons: toJson(reasons),
        severity_override: input.severity,
        override_reason: input.reason.trim(),
        override_by: input.person,
        override_at: nowIso,
        updated_at: nowIso,
      })
      .where('id', '=', input.caseId)
      .execute();
    await recordChange(trx, ctx, {
      audit: [
        {
          actor: input.actor,
          action: 'case.severity_overridden',
          subjectType: 'case',
          subjectId: input.caseId,
          before: { severity: before, override: row.severity_override, reason: row.override_reason, by: row.override_by },
          after: { severity: input.severity, override: input.severity, reason: input.reason.trim(), by: input.person },
        },
      ],
    });
    return { before, after: input.severity };
  });
}
