import { z } from 'zod';
import { buildCaseMessage, CASE_MESSAGE_PURPOSES, type CaseMessagePurpose, type ChatMessage } from '../core/messages.js';
import type { PersonRecord } from '../core/people.js';
import { toJson } from '../store/json.js';
import { getCaseView } from '../store/queries/cases.js';
import { recordChange, type WorkflowContext } from './context.js';
import { JOB_KINDS, type JobHandlers } from './jobs.js';

/** The port through which the workflow talks to a chat platform (or the web console's inbox). */
export interface Notifier {
  readonly platform: 'slack' | 'console' | 'teams';
  post(channel: string, message: ChatMessage): Promise<{ channel: string; ts: string | null }>;
  update(channel: string, ts: string, message: ChatMessage): Promise<void>;
}

export interface NotificationDeps {
  notifier: Notifier;
  /** Names for the "Approved by …" footers. */
  people: readonly PersonRecord[];
}

/** Payload of `chat.post` and `chat.update` jobs. */
const CaseMessageJobSchema = z.object({
  caseId: z.number().int().positive(),
  purpose: z.enum(CASE_MESSAGE_PURPOSES),
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

async function buildMessage(ctx: WorkflowContext, deps: NotificationDeps, caseId: number, purpose: CaseMessagePurpose) {
  const view = await getCaseView(ctx.store.db, caseId);
  if (!view) return null;
  const message = buildCaseMessage(view, purpose, {
    publicUrl: ctx.config.publicUrl.replace(/\/+$/, ''),
    timezone: ctx.config.timezone,
    now: ctx.clock.now(),
    people: deps.people,
  });
  return { view, message };
}

/**
 * Posts a case's alert, sign-off request or halt notice once (`chat.post`) and keeps every posted copy
 * in step with the case (`chat.update`). Both are idempotent: a job that runs twice posts once, and an
 * update simply re-renders from the current state.
 */
export function createNotificationJobHandlers(deps: NotificationDeps): JobHandlers {
  return {
    [JOB_KINDS.chatPost]: async (ctx, job) => {
      const { caseId, purpose } = readJobPayload(job.kind, job.payload);
      const existing = await ctx.store.db
        .selectFrom('chat_messages')
        .select('id')
        .where('case_id', '=', caseId)
        .where('purpose', '=', purpose)
        .limit(1)
        .executeTakeFirst();
      if (existing) return;
      const built = await buildMessage(ctx, deps, caseId, purpose);
      if (!built) {
        ctx.logger.warn({ caseId, purpose }, 'chat.post: the case no longer exists; nothing to post');
        return;
      }
      const target = built.view.channel ?? ctx.config.routing.defaultChannel;
      const posted = await deps.notifier.post(target, built.message);
      const at = ctx.clock.now().toISOString();
      await ctx.store.transaction(async (trx) => {
        await trx
          .insertInto('chat_messages')
          .values({
            case_id: caseId,
            purpose,
            platform: deps.notifier.platform,
            channel: posted.channel,
            ts: posted.ts,
            payload: toJson(built.message),
            created_at: at,
            updated_at: at,
          })
          .execute();
        await recordChange(trx, ctx, {
          audit: [
            {
              actor: 'patchdeck',
              action: 'chat.posted',
              subjectType: 'case',
              subjectId: caseId,
              after: { purpose, platform: deps.notifier.platform, channel: posted.channel, ts: posted.ts },
            },
          ],
        });
      });
    },

    [JOB_KINDS.chatUpdate]: async (ctx, job) => {
      const { caseId, purpose } = readJobPayload(job.kind, job.payload);
      const stored = await ctx.store.db
        .selectFrom('chat_messages')
        .select(['id', 'platform', 'channel', 'ts'])
        .where('case_id', '=', caseId)
        .where('purpose', '=', purpose)
        .orderBy('id', 'asc')
        .execute();
      if (stored.length === 0) return;
      const built = await buildMessage(ctx, deps, caseId, purpose);
      if (!built) return;
      // The stored payload is what the web console shows, so it is refreshed even if the chat
      // platform is down; the job is retried for the platform copies.
      await ctx.store.db
        .updateTable('chat_messages')
        .set({ payload: toJson(built.message), updated_at: ctx.clock.now().toISOString() })
        .where('id', 'in', stored.map((row) => row.id))
        .execute();
      for (const row of stored) {
        if (row.ts === null || row.platform !== deps.notifier.platform) continue;
        await deps.notifier.update(row.channel, row.ts, built.message);
      }
    },
  };
}
