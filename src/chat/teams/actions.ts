import { z } from 'zod';
import { ACTION_VOTES, CASE_MESSAGE_PURPOSES, parseActionValue, type CaseMessagePurpose } from '../../core/messages.js';
import { findPersonByTeamsId } from '../../core/people.js';
import { castVote, type CastVoteResult } from '../../workflow/approvals.js';
import { recordRefusedChatAction } from '../../workflow/chat-requests.js';
import type { WorkflowContext } from '../../workflow/context.js';
import { buildCurrentCaseMessage } from '../../workflow/notifications.js';
import type { TeamsActivity, TeamsInvokeAnswer, TeamsTurn } from './connector.js';
import { forgetConversation, rememberConversation, rememberTeamsUser } from './conversations.js';
import { approverUserIds } from './notifier.js';
import { handleTeamsRebootAction } from './reboot-actions.js';
import { renderNoticeCard, renderTeamsCard, TEAMS_VERBS, type TeamsCardOptions } from './render.js';

/** Teams gives an invoke about five seconds; we answer before that, whatever is still running. */
export const INVOKE_DEADLINE_MS = 4_500;

/** How much of a refused action goes into the audit log. */
const AUDITED_VALUE_CHARS = 200;

/** `value` of an `adaptiveCard/action` invoke (Universal Actions). */
const CardActionSchema = z
  .object({
    action: z.object({ type: z.string().optional(), id: z.string().optional(), verb: z.string(), data: z.unknown().optional() }).passthrough(),
    trigger: z.string().optional(),
  })
  .passthrough();

const VoteDataSchema = z.object({ value: z.string() }).passthrough();
const RefreshDataSchema = z.object({ caseId: z.number().int().positive(), purpose: z.enum(CASE_MESSAGE_PURPOSES) }).passthrough();

function cardAnswer(card: Record<string, unknown>): TeamsInvokeAnswer {
  return { status: 200, body: { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: card } };
}

/** Answers with `work` if it is done in time, else with `fallback`; `work` still finishes (and logs a failure). */
export async function answerWithin<T>(ctx: WorkflowContext, deadlineMs: number, work: Promise<T>, fallback: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), deadlineMs);
  });
  const guarded = work.catch((error: unknown) => {
    ctx.logger.error({ err: (error as Error).message }, 'Teams card action failed');
    throw error;
  });
  try {
    const first = await Promise.race([guarded, late]);
    if (first !== 'late') return first;
    guarded.catch(() => undefined);
    ctx.logger.warn({ deadlineMs }, 'Teams card action is taking longer than the invoke deadline; answered early');
    return fallback();
  } finally {
    clearTimeout(timer);
  }
}

/** Patchdeck person id of the signed activity's sender; unknown senders get a name no policy grants. */
function actorOf(ctx: WorkflowContext, activity: TeamsActivity): string {
  const aad = activity.from?.aadObjectId;
  const person = aad === undefined ? null : findPersonByTeamsId(ctx.config.people, aad);
  return person?.id ?? `teams:${aad ?? activity.from?.id ?? 'unknown'}`;
}

async function currentCard(ctx: WorkflowContext, caseId: number, purpose: CaseMessagePurpose, notice: TeamsCardOptions['notice'] = null) {
  const message = await buildCurrentCaseMessage(ctx, caseId, purpose);
  if (message === null) return renderNoticeCard(notice ? `${notice.text} Case ${caseId} no longer exists.` : `Case ${caseId} no longer exists.`);
  return renderTeamsCard(message, { refreshUserIds: await approverUserIds(ctx), notice });
}

async function refuse(ctx: WorkflowContext, activity: TeamsActivity, reason: string, detail: { actionId: string; value: string | null; caseId: number | null }): Promise<TeamsInvokeAnswer> {
  await recordRefusedChatAction(ctx, {
    platform: 'teams',
    actor: actorOf(ctx, activity),
    reason,
    actionId: detail.actionId.slice(0, AUDITED_VALUE_CHARS),
    value: detail.value === null ? null : detail.value.slice(0, AUDITED_VALUE_CHARS),
    caseId: detail.caseId,
  }).catch((error: unknown) => ctx.logger.error({ err: (error as Error).message }, 'could not audit a refused Teams action'));
  return cardAnswer(renderNoticeCard('Not recorded: this button was not sent by Patchdeck in this form. Nothing was changed.'));
}

const DECISION_WORDS = { approve: 'approved', reject: 'rejected' } as const;

/**
 * An Action.Execute from one of our cards. The sender is the activity's `from.aadObjectId`, which the
 * Bot Connector vouches for by signing the request; the card's data only names the case and action.
 * A vote goes to the approval service; the answer is the card as it is now, for the sender, with a
 * line saying what happened (or why nothing did). A refresh answers the current card.
 */
async function handleCardAction(ctx: WorkflowContext, activity: TeamsActivity): Promise<TeamsInvokeAnswer> {
  const parsed = CardActionSchema.safeParse(activity.value);
  if (!parsed.success) return refuse(ctx, activity, 'value_not_recognised', { actionId: 'unknown', value: null, caseId: null });
  const action = parsed.data.action;
  if (action.verb === TEAMS_VERBS.refresh) {
    const data = RefreshDataSchema.safeParse(action.data);
    if (!data.success) return refuse(ctx, activity, 'value_not_recognised', { actionId: action.verb, value: JSON.stringify(action.data ?? null), caseId: null });
    return cardAnswer(await currentCard(ctx, data.data.caseId, data.data.purpose));
  }
  // Reboot notice answers (personal chat) are decided by reboot-actions.ts, not as votes.
  if (action.verb === TEAMS_VERBS.reboot) return handleTeamsRebootAction(ctx, activity, action);
  const data = VoteDataSchema.safeParse(action.data);
  const value = data.success ? data.data.value : null;
  const vote = value === null ? null : parseActionValue(value);
  if (action.verb !== TEAMS_VERBS.vote || vote === null) {
    return refuse(ctx, activity, action.verb === TEAMS_VERBS.vote ? 'value_not_recognised' : 'verb_not_recognised', {
      actionId: action.id ?? action.verb,
      value: value ?? JSON.stringify(action.data ?? null),
      caseId: vote?.caseId ?? null,
    });
  }
  if (action.id !== undefined && action.id !== vote.action) {
    return refuse(ctx, activity, 'action_value_mismatch', { actionId: action.id, value, caseId: vote.caseId });
  }
  const { stage, decision } = ACTION_VOTES[vote.action];
  const purpose: CaseMessagePurpose = stage === 'approval' ? 'alert' : 'signoff';
  let result: CastVoteResult;
  try {
    result = await castVote(ctx, { caseId: vote.caseId, stage, personId: actorOf(ctx, activity), decision, via: 'teams' });
  } catch (error) {
    ctx.logger.error({ err: (error as Error).message, caseId: vote.caseId, action: vote.action }, 'Teams vote failed');
    return cardAnswer(renderNoticeCard(`Patchdeck could not process that click. Check the case in the web console: ${ctx.config.publicUrl.replace(/\/+$/, '')}/cases/${vote.caseId}`));
  }
  // On success castVote also enqueues a chat.update job, which updates the card for everyone.
  const notice: TeamsCardOptions['notice'] =
    result.status === 'refused' ? { text: `Not recorded: ${result.reason}`, tone: 'attention' } : { text: `Recorded: you ${DECISION_WORDS[decision]}.`, tone: 'good' };
  return cardAnswer(await currentCard(ctx, vote.caseId, purpose, notice));
}

function botWasRemoved(activity: TeamsActivity): boolean {
  if (activity.type === 'installationUpdate') return (activity.action ?? '').startsWith('remove');
  const removed = (activity as { membersRemoved?: unknown }).membersRemoved;
  const botId = activity.recipient?.id;
  return Array.isArray(removed) && removed.some((m) => typeof m === 'object' && m !== null && (m as { id?: unknown }).id === botId);
}

/**
 * One authenticated activity. Every activity teaches us who its sender is (for card refreshes);
 * messages, conversation and installation updates keep the conversation reference proactive posts
 * need; card actions become votes.
 */
export async function handleTeamsTurn(ctx: WorkflowContext, turn: TeamsTurn, options: { deadlineMs?: number } = {}): Promise<TeamsInvokeAnswer | null> {
  const { activity } = turn;
  if (activity.from?.aadObjectId) await rememberTeamsUser(ctx, activity.from.aadObjectId, activity.from.id);
  switch (activity.type) {
    case 'message':
      await rememberConversation(ctx, activity, turn.reference);
      // The reference is stored either way; a reply that fails is not worth a redelivery.
      await turn
        .reply('Patchdeck will post the patch alerts routed to this conversation here. Vote with the buttons on each card; the web console has the details.')
        .catch((error: unknown) => ctx.logger.warn({ err: (error as Error).message }, 'could not reply to a Teams message'));
      return null;
    case 'conversationUpdate':
    case 'installationUpdate':
      if (botWasRemoved(activity)) await forgetConversation(ctx, turn.reference.conversation.id);
      else await rememberConversation(ctx, activity, turn.reference);
      return null;
    case 'invoke':
      if (activity.name !== 'adaptiveCard/action') return { status: 501 };
      return answerWithin(ctx, options.deadlineMs ?? INVOKE_DEADLINE_MS, handleCardAction(ctx, activity), () =>
        cardAnswer(renderNoticeCard('Patchdeck is still working on this click; the card will update when it is done.')),
      );
    default:
      return null;
  }
}
