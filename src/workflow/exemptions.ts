import { z } from 'zod';
import { parseDurationMs } from '../config/schema.js';
import { PatchdeckError } from '../core/errors.js';
import { buildExemptionExpiredMessage, MAX_LISTED_REOPENED, type ExemptionNoticeView } from '../core/exemption-notice.js';
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
import type { Notifier } from './notifications.js';
import { resolveOwner, type DirectNotifier } from './reboots.js';
import { quietUntil, requeueAfterQuietHours } from './quiet-hours-delay.js';

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
  const change: Required<ChangeRecord> = { audit: [], jobs: [] };
  for (const e of due) {
    change.jobs.push(...(await endNoticeJobs(trx, ctx, { ...e, expiredAt: now.toISOString() }, changes.filter((c) => c.exemptionId === e.id && c.to === 'open'), null)));
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

// ---- Telling people an exemption ended ----

const ReopenedSchema = z.object({ host: z.string(), advisoryId: z.string(), package: z.string() });
const NoticePayload = z.object({
  exemptionId: z.number().int().positive(),
  caseId: z.number().int().positive().nullable(),
  reopened: z.array(ReopenedSchema),
  reopenedTotal: z.number().int().min(0),
  /** Who ended a revoked exemption; null when it expired. */
  endedBy: z.string().nullable(),
});
const ApproverPayload = NoticePayload.omit({ caseId: true }).extend({ person: z.string().min(1), cases: z.array(z.object({ id: z.number().int().positive(), advisoryId: z.string() })) });
type NoticeJob = NonNullable<ChangeRecord['jobs']>[number];

/** Stored chat messages of the notices about exemption `id` use this purpose (one row per platform). */
export function exemptionNoticePurpose(exemptionId: number, audience: 'channel' | 'approver'): string {
  return audience === 'channel' ? `exemption_expired:${exemptionId}` : `exemption_expired:${exemptionId}:approver`;
}

const ID_CHUNK = 500;

/**
 * The jobs that tell people an exemption ended, written in the transaction that ended it: one per case
 * whose exposures re-opened (one more for re-opened exposures without a case) and one for its approver
 * when they are a configured person. Their keys name the exemption, so each end notifies once.
 */
async function endNoticeJobs(trx: Executor, ctx: WorkflowContext, exemption: Exemption, reopened: HoldChange[], endedBy: string | null): Promise<NoticeJob[]> {
  const caseOf = new Map<number, number | null>();
  const ids = reopened.map((c) => c.exposureId);
  for (let i = 0; i < ids.length; i += ID_CHUNK) {
    const rows = await trx.selectFrom('exposures').select(['id', 'case_id']).where('id', 'in', ids.slice(i, i + ID_CHUNK)).execute();
    for (const row of rows) caseOf.set(Number(row.id), row.case_id === null ? null : Number(row.case_id));
  }
  const byCase = new Map<number | null, HoldChange[]>();
  for (const change of reopened) {
    const caseId = caseOf.get(change.exposureId) ?? null;
    byCase.set(caseId, [...(byCase.get(caseId) ?? []), change]);
  }
  const listed = (changes: HoldChange[]) => changes.slice(0, MAX_LISTED_REOPENED).map((c) => ({ host: c.host, advisoryId: c.advisoryId, package: c.package }));
  const jobs: NoticeJob[] = [...byCase].map(([caseId, changes]) => ({
    kind: JOB_KINDS.exemptionNotify,
    payload: { exemptionId: exemption.id, caseId, reopened: listed(changes), reopenedTotal: changes.length, endedBy },
    uniqueKey: `exemption:${exemption.id}:ended:case:${caseId ?? 'none'}`,
  }));
  const approver = resolveOwner(ctx.config.people, exemption.approvedBy);
  if (approver !== null) {
    const caseIds = [...byCase.keys()].filter((id): id is number => id !== null).sort((a, b) => a - b);
    const cases = caseIds.length === 0 ? [] : await trx.selectFrom('cases').select(['id', 'advisory_id']).where('id', 'in', caseIds).orderBy('id').execute();
    jobs.push({
      kind: JOB_KINDS.exemptionNotifyApprover,
      payload: {
        exemptionId: exemption.id,
        person: approver.id,
        cases: cases.map((c) => ({ id: Number(c.id), advisoryId: c.advisory_id })),
        reopened: listed(reopened),
        reopenedTotal: reopened.length,
        endedBy,
      },
      uniqueKey: `exemption:${exemption.id}:ended:approver`,
    });
  }
  return jobs;
}

function noticeView(ctx: WorkflowContext, exemption: Exemption, payload: z.infer<typeof NoticePayload> & { cases?: { id: number; advisoryId: string }[] }, kase: ExemptionNoticeView['case'], audience: ExemptionNoticeView['audience']): ExemptionNoticeView {
  return {
    exemption: {
      id: exemption.id,
      kind: exemption.kind,
      scope: describeExemptionScope(exemption),
      control: exemption.control,
      reason: exemption.reason,
      approvedBy: findPersonById(ctx.config.people, exemption.approvedBy)?.name ?? exemption.approvedBy,
      expiresAt: exemption.expiresAt,
      ended: exemption.revokedAt !== null ? 'revoked' : 'expired',
      endedAt: exemption.revokedAt ?? exemption.expiredAt ?? exemption.expiresAt,
      endedBy: payload.endedBy,
    },
    case: kase,
    reopened: payload.reopened,
    reopenedTotal: payload.reopenedTotal,
    cases: payload.cases ?? [],
    audience,
  };
}

function parsePayload<T extends z.ZodTypeAny>(schema: T, kind: string, payload: Record<string, unknown>): z.infer<T> {
  const parsed = schema.safeParse(payload);
  // A malformed payload never becomes valid: say so plainly in the job's last_error.
  if (!parsed.success) throw new PatchdeckError('PD_JOB_PAYLOAD', `${kind} job payload is invalid (${parsed.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; ')})`);
  return parsed.data as z.infer<T>;
}

/** Stores one posted copy of a notice with its audit event. */
async function storePosted(
  ctx: WorkflowContext,
  row: { caseId: number | null; exemptionId: number; purpose: string; platform: string; channel: string; ts: string | null; payload: string; person?: string },
): Promise<void> {
  const at = ctx.clock.now().toISOString();
  await ctx.store.transaction(async (trx) => {
    await trx
      .insertInto('chat_messages')
      .values({ case_id: row.caseId, purpose: row.purpose, platform: row.platform, channel: row.channel, ts: row.ts, payload: row.payload, created_at: at, updated_at: at })
      .execute();
    await recordChange(trx, ctx, {
      audit: [
        {
          actor: 'patchdeck',
          action: 'chat.posted',
          subjectType: 'exemption',
          subjectId: row.exemptionId,
          after: { purpose: 'exemption_expired', caseId: row.caseId, platform: row.platform, channel: row.channel, ts: row.ts, ...(row.person === undefined ? {} : { person: row.person }) },
        },
      ],
    });
  });
}

async function postedPlatforms(ctx: WorkflowContext, purpose: string, caseId: number | null): Promise<Set<string>> {
  let query = ctx.store.db.selectFrom('chat_messages').select('platform').where('purpose', '=', purpose);
  query = caseId === null ? query.where('case_id', 'is', null) : query.where('case_id', '=', caseId);
  return new Set((await query.execute()).map((r) => r.platform));
}

/** Runs every platform's part even when one fails, then fails the job naming each failure, so the retry does what is left. */
async function eachPlatform<T extends { platform: string }>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  const failures: string[] = [];
  for (const item of items) {
    try {
      await work(item);
    } catch (error) {
      failures.push(`${item.platform}: ${(error as Error).message}`);
    }
  }
  if (failures.length > 0) throw new Error(failures.join('; '));
}

export interface ExemptionJobDeps {
  /** Channel posts, one per enabled platform (the console when none is configured). */
  notifiers: readonly Notifier[];
  /** Direct messages to the approver (chat/slack/direct.ts, chat/teams/direct.ts, else the console). */
  directNotifiers: readonly DirectNotifier[];
}

/**
 * `exemptions.expire` (scheduled; idempotent, since expired exemptions are skipped), and the notices an
 * ended exemption causes: `exemption.notify` posts to the case's channel (the routing default without a
 * case), `exemption.notify_approver` sends the approver a direct message. Both post once per platform.
 */
export function createExemptionJobHandlers(deps: ExemptionJobDeps): JobHandlers {
  const publicUrl = (ctx: WorkflowContext) => ctx.config.publicUrl.replace(/\/+$/, '');
  return {
    [JOB_KINDS.exemptionsExpire]: async (ctx) => {
      await expireExemptions(ctx, { actor: 'patchdeck' });
    },

    [JOB_KINDS.exemptionNotify]: async (ctx, job) => {
      const payload = parsePayload(NoticePayload, job.kind, job.payload);
      const exemption = await getExemption(ctx.store.db, payload.exemptionId);
      if (!exemption) {
        ctx.logger.warn({ exemptionId: payload.exemptionId }, 'exemption.notify: the exemption no longer exists; nothing to post');
        return;
      }
      const purpose = exemptionNoticePurpose(exemption.id, 'channel');
      const posted = await postedPlatforms(ctx, purpose, payload.caseId);
      const pending = deps.notifiers.filter((n) => !posted.has(n.platform));
      if (pending.length === 0) return;
      const caseRow =
        payload.caseId === null ? undefined : await ctx.store.db.selectFrom('cases').select(['id', 'advisory_id', 'title', 'severity', 'channel']).where('id', '=', payload.caseId).executeTakeFirst();
      const kase = caseRow === undefined ? null : { id: Number(caseRow.id), advisoryId: caseRow.advisory_id, title: caseRow.title, severity: caseRow.severity as Severity };
      const target = caseRow?.channel ?? ctx.config.routing.defaultChannel;
      const until = quietUntil(ctx, target, kase?.severity ?? null);
      if (until !== null) {
        const key = `exemption:${exemption.id}:ended:case:${payload.caseId ?? 'none'}`;
        await requeueAfterQuietHours(ctx, { kind: job.kind, payload: job.payload, key }, { until, channels: [target], subjectType: 'exemption', subjectId: exemption.id, purpose: 'exemption_expired' });
        return;
      }
      const message = buildExemptionExpiredMessage(noticeView(ctx, exemption, payload, kase, 'channel'), { publicUrl: publicUrl(ctx), timezone: ctx.config.timezone, now: ctx.clock.now() });
      await eachPlatform(pending, async (notifier) => {
        const sent = await notifier.post(target, message);
        await storePosted(ctx, { caseId: kase?.id ?? null, exemptionId: exemption.id, purpose, platform: notifier.platform, channel: sent.channel, ts: sent.ts, payload: toJson(message) });
      });
    },

    [JOB_KINDS.exemptionNotifyApprover]: async (ctx, job) => {
      const payload = parsePayload(ApproverPayload, job.kind, job.payload);
      const exemption = await getExemption(ctx.store.db, payload.exemptionId);
      const person = findPersonById(ctx.config.people, payload.person);
      if (!exemption || !person) {
        ctx.logger.warn({ exemptionId: payload.exemptionId, person: payload.person }, 'exemption.notify_approver: the exemption or the person is gone; nothing to send');
        return;
      }
      const purpose = exemptionNoticePurpose(exemption.id, 'approver');
      const posted = await postedPlatforms(ctx, purpose, null);
      const pending = deps.directNotifiers.filter((n) => !posted.has(n.platform));
      if (pending.length === 0) return;
      const message = buildExemptionExpiredMessage(noticeView(ctx, exemption, { ...payload, caseId: null }, null, 'approver'), {
        publicUrl: publicUrl(ctx),
        timezone: ctx.config.timezone,
        now: ctx.clock.now(),
      });
      await eachPlatform(pending, async (notifier) => {
        // null: the person has no identity on this platform, so there is no direct path to them here.
        const sent = await notifier.postDirect(person, message);
        if (sent === null) return;
        await storePosted(ctx, { caseId: null, exemptionId: exemption.id, purpose, platform: notifier.platform, channel: sent.channel, ts: sent.ts, payload: toJson(message), person: person.id });
      });
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
  const expiresAt = resolveExemptionExpiry(input, now, parseDurationMs(maxLabel), maxLabel, ctx.config.timezone);
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
      jobs: await endNoticeJobs(trx, ctx, exemption, changes, input.actor),
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
