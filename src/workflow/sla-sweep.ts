import { z } from 'zod';
import { PatchdeckError } from '../core/errors.js';
import { slaNoticeDue } from '../core/notification-policy.js';
import { findPersonById } from '../core/people.js';
import type { CaseState } from '../core/types.js';
import { toJson } from '../store/json.js';
import { recordChange, type ChangeRecord, type WorkflowContext } from './context.js';
import { JOB_KINDS, type JobHandlers } from './jobs.js';
import { buildCurrentCaseMessage } from './notifications.js';
import type { DirectNotifier } from './reboots.js';

/**
 * SLA reminders and breach escalations, run by the scheduler's `sla.sweep` (every 15 minutes). A case
 * still open once `routing.slaReminderAt` of its SLA window has passed gets one reminder in its channel;
 * one past its due time gets one escalation, to the `escalateTo` of the routing rule that sent it to
 * its channel (a channel, or a person by direct message), else to its own channel. "Once" is the
 * unique key of the job each enqueues; each is audited when enqueued.
 */

/** Cases in these states need nothing more: no reminders, no escalations. */
export const SLA_CLOSED_STATES: readonly CaseState[] = ['completed', 'reviewed', 'rejected', 'not_applicable', 'mitigated'];

const KEY_CHUNK = 500;
const EscalatePayload = z.object({ caseId: z.number().int().positive(), person: z.string().min(1) }).passthrough();

/** The `escalateTo` of the first routing rule that routes to `channel`, if any. */
export function escalationTarget(ctx: WorkflowContext, channel: string | null): string | null {
  if (channel === null) return null;
  return ctx.config.routing.rules.find((rule) => rule.channel === channel && rule.escalateTo !== undefined)?.escalateTo ?? null;
}

export async function sweepSla(ctx: WorkflowContext): Promise<{ reminders: number; breaches: number }> {
  const now = ctx.clock.now();
  const cases = await ctx.store.db
    .selectFrom('cases')
    .select(['id', 'created_at', 'due_at', 'channel'])
    .where('state', 'not in', SLA_CLOSED_STATES)
    .orderBy('id')
    .execute();
  let reminders = 0;
  let breaches = 0;
  const candidates = cases.flatMap((c) => {
    const due = slaNoticeDue({ now, openedAt: c.created_at, dueAt: c.due_at, fraction: ctx.config.routing.slaReminderAt });
    return due === null ? [] : [{ c, due, key: `case:${Number(c.id)}:sla_${due}` }];
  });
  // Most due cases were handled by an earlier sweep. A chunk of cases is one transaction: its keys are
  // checked inside it, then the new notices' audit events and jobs are written together.
  for (let i = 0; i < candidates.length; i += KEY_CHUNK) {
    const chunk = candidates.slice(i, i + KEY_CHUNK);
    const counted = await ctx.store.transaction(async (trx) => {
      const rows = await trx.selectFrom('jobs').select('unique_key').where('unique_key', 'in', chunk.map((x) => x.key)).execute();
      const done = new Set(rows.map((r) => String(r.unique_key)));
      const change: Required<ChangeRecord> = { audit: [], jobs: [] };
      let r = 0;
      let b = 0;
      for (const { c, due, key } of chunk) {
        if (done.has(key)) continue;
        const caseId = Number(c.id);
        if (due === 'reminder') {
          change.audit.push({ actor: 'patchdeck', action: 'sla.reminder_due', subjectType: 'case', subjectId: caseId, after: { dueAt: c.due_at, channel: c.channel } });
          change.jobs.push({ kind: JOB_KINDS.chatPost, payload: { caseId, purpose: 'sla_reminder' }, uniqueKey: key });
          r++;
          continue;
        }
        const escalateTo = escalationTarget(ctx, c.channel);
        const person = escalateTo === null ? null : findPersonById(ctx.config.people, escalateTo);
        change.audit.push({ actor: 'patchdeck', action: 'sla.breached', subjectType: 'case', subjectId: caseId, after: { dueAt: c.due_at, escalatedTo: escalateTo ?? c.channel } });
        change.jobs.push(
          person !== null
            ? { kind: JOB_KINDS.slaEscalatePerson, payload: { caseId, person: person.id }, uniqueKey: key }
            : { kind: JOB_KINDS.chatPost, payload: { caseId, purpose: 'sla_breach', ...(escalateTo === null ? {} : { escalateTo }) }, uniqueKey: key },
        );
        b++;
      }
      if (change.audit.length > 0) await recordChange(trx, ctx, change);
      return { r, b };
    });
    reminders += counted.r;
    breaches += counted.b;
  }
  if (reminders + breaches > 0) ctx.logger.info({ reminders, breaches }, 'sla.sweep enqueued reminders and escalations');
  return { reminders, breaches };
}

/** `sla.sweep`, and `sla.escalate_person`, which sends the breach notice to a person by direct message. */
export function createSlaJobHandlers(deps: { directNotifiers: readonly DirectNotifier[] }): JobHandlers {
  return {
    [JOB_KINDS.slaSweep]: async (ctx) => {
      await sweepSla(ctx);
    },
    [JOB_KINDS.slaEscalatePerson]: async (ctx, job) => {
      const parsed = EscalatePayload.safeParse(job.payload);
      if (!parsed.success) throw new PatchdeckError('PD_JOB_PAYLOAD', `${job.kind} job payload needs a caseId and a person`);
      const { caseId, person: personId } = parsed.data;
      const person = findPersonById(ctx.config.people, personId);
      if (!person) {
        ctx.logger.warn({ caseId, person: personId }, 'sla.escalate_person: the person is no longer configured');
        return;
      }
      const posted = new Set(
        (await ctx.store.db.selectFrom('chat_messages').select('platform').where('case_id', '=', caseId).where('purpose', '=', 'sla_breach').execute()).map((r) => r.platform),
      );
      const pending = deps.directNotifiers.filter((n) => !posted.has(n.platform));
      if (pending.length === 0) return;
      const message = await buildCurrentCaseMessage(ctx, caseId, 'sla_breach');
      if (!message) return;
      const failures: string[] = [];
      for (const notifier of pending) {
        try {
          const sent = await notifier.postDirect(person, message);
          if (sent === null) continue;
          const at = ctx.clock.now().toISOString();
          await ctx.store.transaction(async (trx) => {
            await trx
              .insertInto('chat_messages')
              .values({ case_id: caseId, purpose: 'sla_breach', platform: notifier.platform, channel: sent.channel, ts: sent.ts, payload: toJson(message), created_at: at, updated_at: at })
              .execute();
            await recordChange(trx, ctx, {
              audit: [{ actor: 'patchdeck', action: 'chat.posted', subjectType: 'case', subjectId: caseId, after: { purpose: 'sla_breach', platform: notifier.platform, channel: sent.channel, person: person.id } }],
            });
          });
        } catch (error) {
          failures.push(`${notifier.platform}: ${(error as Error).message}`);
        }
      }
      if (failures.length > 0) throw new Error(failures.join('; '));
    },
  };
}
