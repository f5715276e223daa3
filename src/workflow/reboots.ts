import { z } from 'zod';
import { parseDurationMs } from '../config/schema.js';
import { PatchdeckError } from '../core/errors.js';
import { buildRebootNoticeMessage, canPostpone, type ChatMessage, type RebootNoticeView } from '../core/messages.js';
import { findPersonById, type PersonRecord } from '../core/people.js';
import type { Executor } from '../store/db.js';
import { toJson } from '../store/json.js';
import { recordChange, type WorkflowContext } from './context.js';
import { JOB_KINDS, type JobHandlers } from './jobs.js';
import { forEachPlatform } from './notifications.js';

/**
 * End-user reboot notices. When a rollout target needs a reboot and its host's owner is a known
 * person, the reboot is not done at once: a notice is stored with the time it will happen
 * (`reboot_at`, `maintenance.rebootNoticeLead` from now) and a hard deadline, the owner gets a direct
 * message with "Reboot now" and "Postpone", and a `rollout.target` job is scheduled at `reboot_at`.
 * The target stays `reboot_pending` (not terminal), so the wave waits. Every decision is checked
 * and recorded here, server-side, whichever face the click came from.
 */

/** A platform's way of writing to one person (a Slack DM, a Teams personal chat, the web console). */
export interface DirectNotifier {
  readonly platform: 'slack' | 'teams' | 'console';
  /** Posts to the person's direct conversation; null when the person has no identity on this platform. */
  postDirect(person: PersonRecord, message: ChatMessage): Promise<{ channel: string; ts: string | null } | null>;
  update(channel: string, ts: string, message: ChatMessage): Promise<void>;
}

/** Stored chat messages of notice `id` use this purpose (one row per platform). */
export function rebootMessagePurpose(noticeId: number): string {
  return `reboot_notice:${noticeId}`;
}

const SYSTEM_ACTOR = 'patchdeck';
const NoticePayload = z.object({ noticeId: z.number().int().positive() }).passthrough();

/** The person a host's `owner` names: a person id, or the email of a person. */
export function resolveOwner(people: readonly PersonRecord[], owner: string): PersonRecord | null {
  const wanted = owner.trim().toLowerCase();
  if (wanted === '') return null;
  return findPersonById(people, wanted) ?? people.find((p) => p.email !== undefined && p.email.toLowerCase() === wanted) ?? null;
}

function rebootJobKey(targetId: number, step: string): string {
  return `target:${targetId}:reboot:${step}`;
}

/**
 * Called inside the transaction that moves a target to `reboot_pending`. Stores a notice and
 * enqueues the direct message and the reboot at its time; answers false (reboot at once) when notices
 * are off or nobody to ask is configured for the host.
 */
export async function planRebootNotice(
  trx: Executor,
  ctx: WorkflowContext,
  target: { targetId: number; rolloutId: number; caseId: number; hostId: number; hostName: string },
): Promise<boolean> {
  const settings = ctx.config.maintenance;
  if (!settings.rebootNotices) return false;
  const host = await trx.selectFrom('hosts').select('owner').where('id', '=', target.hostId).executeTakeFirst();
  const owner = host ? resolveOwner(ctx.config.people, host.owner) : null;
  if (!owner) return false;
  const existing = await trx.selectFrom('reboot_notices').select('id').where('target_id', '=', target.targetId).executeTakeFirst();
  if (existing) return true;
  const now = ctx.clock.now();
  const deadline = new Date(now.getTime() + parseDurationMs(settings.rebootDeadline));
  const lead = new Date(now.getTime() + parseDurationMs(settings.rebootNoticeLead));
  const rebootAt = lead < deadline ? lead : deadline;
  const inserted = await trx
    .insertInto('reboot_notices')
    .values({
      target_id: target.targetId,
      rollout_id: target.rolloutId,
      case_id: target.caseId,
      host_name: target.hostName,
      owner: owner.id,
      state: 'scheduled',
      postpones: 0,
      reboot_at: rebootAt.toISOString(),
      deadline_at: deadline.toISOString(),
      last_decision: null,
      decided_by: null,
      decided_at: null,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const noticeId = Number(inserted.id);
  await recordChange(trx, ctx, {
    audit: [
      {
        actor: SYSTEM_ACTOR,
        action: 'reboot.notice_scheduled',
        subjectType: 'reboot_notice',
        subjectId: noticeId,
        after: { targetId: target.targetId, rolloutId: target.rolloutId, host: target.hostName, owner: owner.id, rebootAt: rebootAt.toISOString(), deadlineAt: deadline.toISOString() },
      },
    ],
    jobs: [
      { kind: JOB_KINDS.rebootNotify, payload: { noticeId }, uniqueKey: `reboot_notice:${noticeId}:post` },
      { kind: JOB_KINDS.rolloutTarget, payload: { targetId: target.targetId }, uniqueKey: rebootJobKey(target.targetId, 'at:0'), runAt: rebootAt },
    ],
  });
  return true;
}

/**
 * Called by `rollout.target` for a `reboot_pending` target, inside its transaction: may the reboot
 * run now? True when there is no notice (notices were off), the owner chose "Reboot now", or the
 * time came; the notice is then marked `rebooting`, so a later click changes nothing.
 */
export async function claimRebootIfDue(trx: Executor, ctx: WorkflowContext, targetId: number): Promise<boolean> {
  let query = trx.selectFrom('reboot_notices').selectAll().where('target_id', '=', targetId);
  if (ctx.store.dialect === 'postgres') query = query.forUpdate();
  const notice = await query.executeTakeFirst();
  if (!notice) return true;
  if (notice.state === 'rebooting') return true;
  const now = ctx.clock.now();
  if (notice.last_decision !== 'reboot_now' && now.toISOString() < notice.reboot_at) return false;
  const noticeId = Number(notice.id);
  const due = notice.last_decision !== 'reboot_now';
  await trx
    .updateTable('reboot_notices')
    .set({ state: 'rebooting', updated_at: now.toISOString(), ...(due ? { last_decision: 'due', decided_by: null, decided_at: now.toISOString() } : {}) })
    .where('id', '=', noticeId)
    .execute();
  await recordChange(trx, ctx, {
    audit: [{ actor: SYSTEM_ACTOR, action: 'reboot.started', subjectType: 'reboot_notice', subjectId: noticeId, after: { targetId, reason: due ? 'due' : 'reboot_now' } }],
    jobs: [{ kind: JOB_KINDS.rebootUpdate, payload: { noticeId }, uniqueKey: `reboot_notice:${noticeId}:update:rebooting` }],
  });
  return true;
}

export type RebootDecision = 'reboot_now' | 'postpone';

export type DecideRebootResult =
  | { status: 'recorded'; decision: RebootDecision; rebootAt: string }
  /** A double click, or a click on a notice already acted on: nothing changed. */
  | { status: 'unchanged'; reason: string; rebootAt: string }
  | { status: 'refused'; code: string; reason: string };

export interface DecideRebootInput {
  noticeId: number;
  personId: string;
  decision: RebootDecision;
  /** For postpone: how many postpones the clicked message showed (the button value carries it). */
  postponesSoFar?: number;
  via: 'slack' | 'teams' | 'web' | 'cli';
}

/**
 * The owner's answer to a reboot notice. Only the host's owner may decide; a repeated click (same
 * button, same message) is answered "unchanged"; a postpone past the limit or the deadline is refused
 * with the time the reboot will happen. Refusals are audited like decisions.
 */
export async function decideReboot(ctx: WorkflowContext, input: DecideRebootInput): Promise<DecideRebootResult> {
  const settings = ctx.config.maintenance;
  return ctx.store.transaction(async (trx): Promise<DecideRebootResult> => {
    let query = trx.selectFrom('reboot_notices').selectAll().where('id', '=', input.noticeId);
    if (ctx.store.dialect === 'postgres') query = query.forUpdate();
    const notice = await query.executeTakeFirst();
    const refuse = async (code: string, reason: string): Promise<DecideRebootResult> => {
      await recordChange(trx, ctx, {
        audit: [
          {
            actor: input.personId,
            action: 'reboot.decision_refused',
            subjectType: 'reboot_notice',
            subjectId: input.noticeId,
            after: { decision: input.decision, via: input.via, code, reason },
          },
        ],
      });
      return { status: 'refused', code, reason };
    };
    if (!notice) return refuse('PD_REBOOT_NO_NOTICE', `There is no reboot notice ${input.noticeId}.`);
    if (notice.owner !== input.personId) {
      const owner = findPersonById(ctx.config.people, notice.owner);
      return refuse('PD_REBOOT_NOT_OWNER', `Only the owner of ${notice.host_name} (${owner?.name ?? notice.owner}) can decide when it reboots.`);
    }
    const fmtAt = notice.reboot_at;
    if (notice.state !== 'scheduled') return { status: 'unchanged', reason: `${notice.host_name} is already rebooting.`, rebootAt: fmtAt };
    const rollout = await trx.selectFrom('rollouts').select('state').where('id', '=', notice.rollout_id).executeTakeFirst();
    if (rollout?.state !== 'piloting' && rollout?.state !== 'deploying') {
      // A halted rollout reboots nothing more: a "Reboot now" would be recorded but never happen.
      return refuse('PD_REBOOT_ROLLOUT_STOPPED', `The rollout that patched ${notice.host_name} has stopped (${rollout?.state ?? 'removed'}); Patchdeck will not reboot it. Restart it yourself when convenient.`);
    }
    if (input.decision === 'reboot_now' && notice.last_decision === 'reboot_now') {
      return { status: 'unchanged', reason: `The reboot of ${notice.host_name} is already on its way.`, rebootAt: fmtAt };
    }
    const now = ctx.clock.now();
    const noticeId = Number(notice.id);
    const targetId = Number(notice.target_id);
    let set: { reboot_at: string; postpones: number; last_decision: string };
    let jobs: NonNullable<Parameters<typeof recordChange>[2]['jobs']>;
    if (input.decision === 'reboot_now') {
      set = { reboot_at: now.toISOString(), postpones: Number(notice.postpones), last_decision: 'reboot_now' };
      jobs = [{ kind: JOB_KINDS.rolloutTarget, payload: { targetId }, uniqueKey: rebootJobKey(targetId, 'now') }];
    } else {
      const postpones = Number(notice.postpones);
      if (input.postponesSoFar !== undefined && input.postponesSoFar < postpones) {
        return { status: 'unchanged', reason: `Already postponed: ${notice.host_name} reboots at ${notice.reboot_at}.`, rebootAt: fmtAt };
      }
      if (notice.last_decision === 'reboot_now') return refuse('PD_REBOOT_ALREADY_NOW', `"Reboot now" was already chosen for ${notice.host_name}.`);
      const view = { state: 'scheduled' as const, postpones, postponeLimit: settings.rebootPostponeLimit, rebootAt: notice.reboot_at, deadlineAt: notice.deadline_at };
      if (!canPostpone(view)) {
        return refuse('PD_REBOOT_NO_POSTPONE', `${notice.host_name} cannot be postponed again (limit ${settings.rebootPostponeLimit}, deadline ${notice.deadline_at}); it reboots at ${notice.reboot_at}.`);
      }
      const from = Math.max(Date.parse(notice.reboot_at), now.getTime());
      const next = new Date(Math.min(from + parseDurationMs(settings.rebootPostpone), Date.parse(notice.deadline_at)));
      set = { reboot_at: next.toISOString(), postpones: postpones + 1, last_decision: 'postpone' };
      jobs = [{ kind: JOB_KINDS.rolloutTarget, payload: { targetId }, uniqueKey: rebootJobKey(targetId, `at:${postpones + 1}`), runAt: next }];
    }
    await trx
      .updateTable('reboot_notices')
      .set({ ...set, decided_by: input.personId, decided_at: now.toISOString(), updated_at: now.toISOString() })
      .where('id', '=', noticeId)
      .execute();
    await recordChange(trx, ctx, {
      audit: [
        {
          actor: input.personId,
          action: 'reboot.decided',
          subjectType: 'reboot_notice',
          subjectId: noticeId,
          before: { rebootAt: notice.reboot_at, postpones: Number(notice.postpones) },
          after: { decision: input.decision, via: input.via, rebootAt: set.reboot_at, postpones: set.postpones },
        },
      ],
      jobs: [...jobs, { kind: JOB_KINDS.rebootUpdate, payload: { noticeId }, uniqueKey: `reboot_notice:${noticeId}:update:${set.last_decision}:${set.postpones}` }],
    });
    return { status: 'recorded', decision: input.decision, rebootAt: set.reboot_at };
  });
}

/** The notice as its message shows it, or null when it no longer exists. */
export async function buildRebootNotice(ctx: WorkflowContext, noticeId: number): Promise<{ message: ChatMessage; owner: string; caseId: number } | null> {
  const row = await ctx.store.db
    .selectFrom('reboot_notices')
    .innerJoin('cases', 'cases.id', 'reboot_notices.case_id')
    .selectAll('reboot_notices')
    .select(['cases.advisory_id', 'cases.title'])
    .where('reboot_notices.id', '=', noticeId)
    .executeTakeFirst();
  if (!row) return null;
  const people = ctx.config.people;
  const view: RebootNoticeView = {
    id: Number(row.id),
    caseId: Number(row.case_id),
    advisoryId: row.advisory_id,
    caseTitle: row.title,
    hostName: row.host_name,
    ownerName: findPersonById(people, row.owner)?.name ?? row.owner,
    state: row.state === 'rebooting' ? 'rebooting' : 'scheduled',
    postpones: Number(row.postpones),
    postponeLimit: ctx.config.maintenance.rebootPostponeLimit,
    postponeBy: ctx.config.maintenance.rebootPostpone,
    rebootAt: row.reboot_at,
    deadlineAt: row.deadline_at,
    lastDecision: row.last_decision === 'reboot_now' || row.last_decision === 'postpone' || row.last_decision === 'due' ? row.last_decision : null,
    decidedByName: row.decided_by === null ? null : findPersonById(people, row.decided_by)?.name ?? row.decided_by,
    decidedAt: row.decided_at,
  };
  const message = buildRebootNoticeMessage(view, { publicUrl: ctx.config.publicUrl.replace(/\/+$/, ''), timezone: ctx.config.timezone, now: ctx.clock.now() });
  return { message, owner: row.owner, caseId: Number(row.case_id) };
}

/**
 * `reboot.notify` posts the notice to the owner once per platform; `reboot.update` rewrites every
 * posted copy (and the stored payload the web console shows) after a decision.
 */
export function createRebootJobHandlers(deps: { notifiers: readonly DirectNotifier[] }): JobHandlers {
  return {
    [JOB_KINDS.rebootNotify]: async (ctx, job) => {
      const { noticeId } = readPayload(job.kind, job.payload);
      const purpose = rebootMessagePurpose(noticeId);
      const posted = new Set(
        (await ctx.store.db.selectFrom('chat_messages').select('platform').where('purpose', '=', purpose).execute()).map((r) => r.platform),
      );
      const pending = deps.notifiers.filter((n) => !posted.has(n.platform));
      if (pending.length === 0) return;
      const built = await buildRebootNotice(ctx, noticeId);
      if (!built) return;
      const person = findPersonById(ctx.config.people, built.owner);
      if (!person) {
        ctx.logger.warn({ noticeId, owner: built.owner }, 'reboot.notify: the owner is no longer configured; the reboot happens at its time');
        return;
      }
      await forEachPlatform(
        pending,
        async (notifier) => {
          const sent = await notifier.postDirect(person, built.message);
          if (sent === null) {
            ctx.logger.info({ noticeId, platform: notifier.platform, person: person.id }, 'reboot notice: the owner cannot be reached on this platform');
            return;
          }
          const at = ctx.clock.now().toISOString();
          await ctx.store.transaction(async (trx) => {
            await trx
              .insertInto('chat_messages')
              .values({ case_id: built.caseId, purpose, platform: notifier.platform, channel: sent.channel, ts: sent.ts, payload: toJson(built.message), created_at: at, updated_at: at })
              .execute();
            await recordChange(trx, ctx, {
              audit: [{ actor: SYSTEM_ACTOR, action: 'reboot.notice_sent', subjectType: 'reboot_notice', subjectId: noticeId, after: { platform: notifier.platform, channel: sent.channel, person: person.id } }],
            });
          });
        },
        (notifier) => notifier.platform,
      );
    },
    [JOB_KINDS.rebootUpdate]: async (ctx, job) => {
      const { noticeId } = readPayload(job.kind, job.payload);
      const stored = await ctx.store.db.selectFrom('chat_messages').select(['id', 'platform', 'channel', 'ts']).where('purpose', '=', rebootMessagePurpose(noticeId)).execute();
      if (stored.length === 0) return;
      const built = await buildRebootNotice(ctx, noticeId);
      if (!built) return;
      await ctx.store.db
        .updateTable('chat_messages')
        .set({ payload: toJson(built.message), updated_at: ctx.clock.now().toISOString() })
        .where('id', 'in', stored.map((r) => r.id))
        .execute();
      const copies = stored.flatMap((row) => {
        const notifier = deps.notifiers.find((n) => n.platform === row.platform);
        return row.ts === null || notifier === undefined ? [] : [{ notifier, channel: row.channel, ts: row.ts }];
      });
      await forEachPlatform(copies, (c) => c.notifier.update(c.channel, c.ts, built.message), (c) => `${c.notifier.platform} ${c.channel}`);
    },
  };
}

function readPayload(kind: string, payload: unknown): { noticeId: number } {
  const parsed = NoticePayload.safeParse(payload);
  if (!parsed.success) throw new PatchdeckError('PD_JOB_PAYLOAD', `${kind} job payload needs a positive integer noticeId`);
  return parsed.data;
}

/** The console "platform": the notice is stored and shown on the web console, where the owner signs in to answer. */
export function createConsoleDirectNotifier(): DirectNotifier {
  return {
    platform: 'console',
    async postDirect(person) {
      return { channel: `@${person.id}`, ts: null };
    },
    async update() {},
  };
}
