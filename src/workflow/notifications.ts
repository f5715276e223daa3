import { z } from 'zod';
import { buildCaseMessage, CASE_MESSAGE_PURPOSES, supersededMessage, type CaseMessagePurpose, type ChatMessage } from '../core/messages.js';
import type { PersonRecord } from '../core/people.js';
import { fromJson, toJson } from '../store/json.js';
import { getCaseView } from '../store/queries/cases.js';
import { holdForChannel } from './channel-policy.js';
import { recordChange, type WorkflowContext } from './context.js';
import { JOB_KINDS, type JobHandlers } from './jobs.js';

/** The port through which the workflow talks to a chat platform (or the web console's inbox). */
export interface Notifier {
  readonly platform: 'slack' | 'console' | 'teams';
  post(channel: string, message: ChatMessage, options?: PostOptions): Promise<{ channel: string; ts: string | null }>;
  update(channel: string, ts: string, message: ChatMessage): Promise<void>;
}

export interface PostOptions {
  /** Reply in the thread of this earlier post of the same platform (Slack `thread_ts`); platforms without threads post in the channel. */
  threadTs?: string;
}

/** Names for the "Approved by …" footers, and where each message goes: one notifier per enabled platform. */
export type NotificationDeps = { people: readonly PersonRecord[] } & ({ notifiers: readonly Notifier[] } | { notifier: Notifier });

function notifiersOf(deps: NotificationDeps): readonly Notifier[] {
  return 'notifiers' in deps ? deps.notifiers : [deps.notifier];
}

/** Case messages posted as replies under the case's alert (one thread per case) where the platform has threads. */
const THREADED_PURPOSES: ReadonlySet<CaseMessagePurpose> = new Set(['withdrawn', 'progress', 'sla_reminder']);

/** Payload of `chat.post` and `chat.update` jobs. */
const CaseMessageJobSchema = z.object({
  caseId: z.number().int().positive(),
  purpose: z.enum(CASE_MESSAGE_PURPOSES),
  /** Escalations go to the rule's `escalateTo` channel instead of the case's own. */
  escalateTo: z.string().min(1).optional(),
  /** A re-post after the approval plan changed: posted once per plan, replacing the older plan's messages. */
  planHash: z.string().min(1).optional(),
});

export type CaseMessageJob = z.infer<typeof CaseMessageJobSchema>;

function readJobPayload(kind: string, payload: Record<string, unknown>): CaseMessageJob {
  const parsed = CaseMessageJobSchema.safeParse(payload);
  if (!parsed.success) {
    // A malformed payload never becomes valid: say so plainly in the job's last_error.
    throw new Error(`${kind} job payload is invalid (${parsed.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; ')})`);
  }
  return parsed.data;
}

async function buildMessage(ctx: WorkflowContext, people: readonly PersonRecord[], caseId: number, purpose: CaseMessagePurpose) {
  const view = await getCaseView(ctx.store.db, caseId);
  if (!view) return null;
  const message = buildCaseMessage(view, purpose, {
    publicUrl: ctx.config.publicUrl.replace(/\/+$/, ''),
    timezone: ctx.config.timezone,
    now: ctx.clock.now(),
    people,
  });
  return { view, message };
}

/** The message a case would get now, for faces that answer with the current state (a Teams card refresh). */
export async function buildCurrentCaseMessage(ctx: WorkflowContext, caseId: number, purpose: CaseMessagePurpose): Promise<ChatMessage | null> {
  return (await buildMessage(ctx, ctx.config.people, caseId, purpose))?.message ?? null;
}

/** Rewrites a message of an older plan as replaced (no buttons) on its platform, then marks it superseded. */
async function supersede(
  ctx: WorkflowContext,
  notifiers: readonly Notifier[],
  row: { id: number; platform: string; channel: string; ts: string | null; payload: string; plan_hash: string | null },
  plan: string,
): Promise<void> {
  const old = fromJson<ChatMessage | null>(row.payload, null);
  if (old === null) throw new Error(`chat message ${row.id} has an unreadable payload`);
  const message = supersededMessage(old);
  const notifier = notifiers.find((n) => n.platform === row.platform);
  if (notifier !== undefined && row.ts !== null) await notifier.update(row.channel, row.ts, message);
  const at = ctx.clock.now().toISOString();
  await ctx.store.transaction(async (trx) => {
    await trx.updateTable('chat_messages').set({ payload: toJson(message), superseded_at: at, updated_at: at }).where('id', '=', row.id).execute();
    await recordChange(trx, ctx, {
      audit: [
        {
          actor: 'patchdeck',
          action: 'chat.superseded',
          subjectType: 'case',
          subjectId: old.caseId ?? 'unknown',
          before: { planHash: row.plan_hash },
          after: { planHash: plan, platform: row.platform, channel: row.channel, ts: row.ts },
        },
      ],
    });
  });
}

/** The `ts` of the case's latest alert on a platform: replies go in its thread. */
export async function alertTs(ctx: WorkflowContext, caseId: number, platform: string): Promise<string | null> {
  const row = await ctx.store.db
    .selectFrom('chat_messages')
    .select('ts')
    .where('case_id', '=', caseId)
    .where('purpose', '=', 'alert')
    .where('platform', '=', platform)
    .where('ts', 'is not', null)
    .orderBy('id', 'desc')
    .executeTakeFirst();
  return row?.ts ?? null;
}

/** Runs every platform's part even when one fails, then fails the job (naming each failure) so the queue retries it. */
export async function forEachPlatform<T>(items: readonly T[], work: (item: T) => Promise<void>, describe: (item: T) => string): Promise<void> {
  const failures: string[] = [];
  for (const item of items) {
    try {
      await work(item);
    } catch (error) {
      failures.push(`${describe(item)}: ${(error as Error).message}`);
    }
  }
  if (failures.length > 0) throw new Error(failures.join('; '));
}

/**
 * Posts a case's alert, sign-off request or halt notice once per platform (`chat.post`) and keeps every
 * posted copy in step with the case (`chat.update`). Both are idempotent: a job that runs twice posts
 * once on each platform, and an update simply re-renders from the current state. A `chat.post` with a
 * `planHash` (the approval plan changed) posts a fresh alert once per plan and rewrites the older
 * plan's messages as replaced, without buttons; `chat.update` leaves replaced messages alone. When one platform
 * fails the others still get their copy; the job fails afterwards and its retry only does what is left.
 */
export function createNotificationJobHandlers(deps: NotificationDeps): JobHandlers {
  const notifiers = notifiersOf(deps);
  return {
    [JOB_KINDS.chatPost]: async (ctx, job) => {
      const { caseId, purpose, escalateTo, planHash } = readJobPayload(job.kind, job.payload);
      const existing = await ctx.store.db
        .selectFrom('chat_messages')
        .select(['id', 'platform', 'channel', 'ts', 'payload', 'plan_hash'])
        .where('case_id', '=', caseId)
        .where('purpose', '=', purpose)
        .where('superseded_at', 'is', null)
        .orderBy('id', 'asc')
        .execute();
      // Without a plan, one message per case, purpose and platform; a re-post is once per plan.
      if (planHash === undefined && notifiers.every((n) => existing.some((row) => row.platform === n.platform))) return;
      const built = await buildMessage(ctx, deps.people, caseId, purpose);
      if (!built) {
        ctx.logger.warn({ caseId, purpose }, 'chat.post: the case no longer exists; nothing to post');
        return;
      }
      // Posted for the plan as it is now: if it changed again meanwhile, the later change's job finds this post done.
      const plan = planHash === undefined ? null : (built.view.planHash ?? planHash);
      const current = existing.filter((row) => plan === null || row.plan_hash === plan);
      const pending = notifiers.filter((n) => !current.some((row) => row.platform === n.platform));
      const target = (purpose === 'escalation' || purpose === 'sla_breach' ? escalateTo : undefined) ?? built.view.channel ?? ctx.config.routing.defaultChannel;
      // Quiet hours and digest mode of the channel (channel-policy.ts) may hold the post back.
      if (await holdForChannel(ctx, { caseId, purpose, target, severity: built.view.severity, payload: job.payload })) return;
      const failures: string[] = [];
      await forEachPlatform(
        pending,
        async (notifier) => {
          // A withdrawal notice, the rollout's progress and the SLA reminder answer in the thread of the case's latest alert on that platform.
          const thread = THREADED_PURPOSES.has(purpose) ? await alertTs(ctx, caseId, notifier.platform) : null;
          const sent = await notifier.post(target, built.message, thread === null ? undefined : { threadTs: thread });
          const at = ctx.clock.now().toISOString();
          await ctx.store.transaction(async (trx) => {
            await trx
              .insertInto('chat_messages')
              .values({
                case_id: caseId,
                purpose,
                platform: notifier.platform,
                channel: sent.channel,
                ts: sent.ts,
                payload: toJson(built.message),
                created_at: at,
                updated_at: at,
                plan_hash: built.view.planHash ?? null,
              })
              .execute();
            await recordChange(trx, ctx, {
              audit: [
                {
                  actor: 'patchdeck',
                  action: 'chat.posted',
                  subjectType: 'case',
                  subjectId: caseId,
                  after: { purpose, platform: notifier.platform, channel: sent.channel, ts: sent.ts, ...(plan === null ? {} : { planHash: plan }) },
                },
              ],
            });
          });
          current.push({ id: -1, platform: notifier.platform, channel: sent.channel, ts: sent.ts, payload: '', plan_hash: plan });
        },
        (notifier) => notifier.platform,
      ).catch((error: unknown) => failures.push((error as Error).message));
      if (plan !== null) {
        // The older plan's messages lose their buttons and point to the new one, on platforms that have the new one.
        const replaced = existing.filter((row) => row.plan_hash !== plan && current.some((c) => c.platform === row.platform));
        await forEachPlatform(replaced, (row) => supersede(ctx, notifiers, row, plan), (row) => `${row.platform} ${row.channel} (replacing)`).catch((error: unknown) =>
          failures.push((error as Error).message),
        );
      }
      if (failures.length > 0) throw new Error(failures.join('; '));
    },

    [JOB_KINDS.chatUpdate]: async (ctx, job) => {
      const { caseId, purpose } = readJobPayload(job.kind, job.payload);
      const stored = await ctx.store.db
        .selectFrom('chat_messages')
        .select(['id', 'platform', 'channel', 'ts'])
        .where('case_id', '=', caseId)
        .where('purpose', '=', purpose)
        .where('superseded_at', 'is', null)
        .orderBy('id', 'asc')
        .execute();
      if (stored.length === 0) return;
      const built = await buildMessage(ctx, deps.people, caseId, purpose);
      if (!built) return;
      // The stored payload is what the web console shows, so it is refreshed even if a chat
      // platform is down; the job is retried for the platform copies.
      await ctx.store.db
        .updateTable('chat_messages')
        .set({ payload: toJson(built.message), updated_at: ctx.clock.now().toISOString() })
        .where('id', 'in', stored.map((row) => row.id))
        .execute();
      // Each copy is updated by its own platform's notifier; copies of a platform no longer enabled stay as they are.
      const copies = stored.flatMap((row) => {
        const notifier = notifiers.find((n) => n.platform === row.platform);
        return row.ts === null || notifier === undefined ? [] : [{ notifier, channel: row.channel, ts: row.ts }];
      });
      await forEachPlatform(
        copies,
        (copy) => copy.notifier.update(copy.channel, copy.ts, built.message),
        (copy) => `${copy.notifier.platform} ${copy.channel}`,
      );
    },
  };
}
