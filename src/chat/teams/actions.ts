import { z } from 'zod';
import { ACTION_VOTES, CASE_MESSAGE_PURPOSES, parseActionValue, parseDeferActionValue, type CaseMessagePurpose, type ChatMessage } from '../../core/messages.js';
import { formatInZone } from '../../core/time.js';
import { findPersonByTeamsId } from '../../core/people.js';
import type { VoteStage } from '../../core/types.js';
import { fromJson } from '../../store/json.js';
import { castVote, deferCase, quickVoteRefusal, recordVoteRefusal, REPLAYED_CLICK_REASON, type CastVoteInput, type CastVoteResult, type DeferCaseInput } from '../../workflow/approvals.js';
import { recordRefusedChatAction } from '../../workflow/chat-requests.js';
import type { WorkflowContext } from '../../workflow/context.js';
import { buildCurrentCaseMessage } from '../../workflow/notifications.js';
import type { WorkQueue } from '../slack/work-queue.js';
import { RECORDING_NOTICE, type CardUpdateThrottle, type ClickNotice, type TeamsClickState } from './click-state.js';
import type { TeamsActivity, TeamsConnector, TeamsInvokeAnswer, TeamsTurn } from './connector.js';
import { forgetConversation, rememberConversation, rememberTeamsUser } from './conversations.js';
import { approverUserIds } from './notifier.js';
import { handleTeamsRebootAction } from './reboot-actions.js';
import { cardAttachment, MAX_REASON_CHARS, renderNoticeCard, renderTeamsCard, TEAMS_VERBS } from './render.js';

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

const VoteDataSchema = z.object({ value: z.string(), reason: z.string().optional() }).passthrough();
/** A Defer form's submit: its value and the inputs Teams adds (`until` is the Input.Date's YYYY-MM-DD). */
const DeferDataSchema = z.object({ value: z.string(), reason: z.string().optional(), until: z.string().optional() }).passthrough();

/** What a Reject or Defer without a reason is told; the form asks for one, a forged submit may not. */
export const REASON_REQUIRED = 'say why (a reason is required); open the form again and fill in the reason';
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

/** What the face needs besides the workflow: where queued work runs, the SDK seam, and what it remembers. */
export interface TeamsActionDeps {
  ctx: WorkflowContext;
  connector: TeamsConnector;
  work: WorkQueue;
  state: TeamsClickState;
  cardUpdates: CardUpdateThrottle;
  /** Overrides the invoke deadline (tests). */
  deadlineMs?: number;
}

async function renderCard(deps: TeamsActionDeps, message: ChatMessage, notice: ClickNotice | null, extraRefreshUserIds: readonly string[] = []) {
  const refreshUserIds = [...new Set([...(await deps.state.approverUserIds(() => approverUserIds(deps.ctx), deps.ctx.clock.now().getTime())), ...extraRefreshUserIds])];
  return renderTeamsCard(message, { refreshUserIds, notice });
}

async function currentCard(deps: TeamsActionDeps, caseId: number, purpose: CaseMessagePurpose, notice: ClickNotice | null = null, extraRefreshUserIds: readonly string[] = []) {
  const message = await buildCurrentCaseMessage(deps.ctx, caseId, purpose);
  if (message === null) return renderNoticeCard(notice ? `${notice.text} Case ${caseId} no longer exists.` : `Case ${caseId} no longer exists.`);
  return renderCard(deps, message, notice, extraRefreshUserIds);
}

/** Our stored copy of the card an invoke came from (its activity id is the invoke's `replyToId`). */
async function clickedCard(ctx: WorkflowContext, activity: TeamsActivity): Promise<{ id: number; caseId: number | null; purpose: string; payload: ChatMessage | null; supersededAt: string | null } | null> {
  const replyToId = (activity as { replyToId?: unknown }).replyToId;
  const conversationId = activity.conversation?.id;
  if (typeof replyToId !== 'string' || conversationId === undefined) return null;
  const row = await ctx.store.db
    .selectFrom('chat_messages')
    .select(['id', 'case_id', 'purpose', 'payload', 'superseded_at'])
    .where('platform', '=', 'teams')
    .where('channel', '=', conversationId)
    .where('ts', '=', replyToId)
    .executeTakeFirst();
  if (!row) return null;
  return { id: Number(row.id), caseId: row.case_id === null ? null : Number(row.case_id), purpose: row.purpose, payload: fromJson<ChatMessage | null>(row.payload, null), supersededAt: row.superseded_at };
}

function purposeOf(value: string): CaseMessagePurpose | null {
  return (CASE_MESSAGE_PURPOSES as readonly string[]).includes(value) ? (value as CaseMessagePurpose) : null;
}

type ClickedCard = Awaited<ReturnType<typeof clickedCard>>;

/** The card for the clicker: the clicked message as stored (a replaced one stays replaced), else the case's current one. */
async function cardForClicker(deps: TeamsActionDeps, clicked: ClickedCard, caseId: number, fallbackPurpose: CaseMessagePurpose, notice: ClickNotice) {
  if (clicked !== null && clicked.caseId === caseId && clicked.payload !== null) return renderCard(deps, clicked.payload, notice);
  const purpose = (clicked !== null && clicked.caseId === caseId ? purposeOf(clicked.purpose) : null) ?? fallbackPurpose;
  return currentCard(deps, caseId, purpose, notice);
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
/** Which vote a card of each purpose asks for; other purposes have no buttons. */
const STAGE_OF_PURPOSE: Partial<Record<CaseMessagePurpose, VoteStage>> = { alert: 'approval', escalation: 'approval', signoff: 'pilot_signoff' };

/**
 * An Action.Execute from one of our cards. The sender is the activity's `from.aadObjectId`, which the
 * Bot Connector vouches for by signing the request; the card's data only names the case, the action
 * and (on approval buttons) the plan the card showed.
 *
 * A vote is answered at once and counted afterwards, in the face's work queue: Teams waits for the
 * answer, and castVote waits for the case's row lock. Refusals that need no lock are answered
 * inline (malformed data, unknown person, no such case, a button of an older plan, a replayed
 * invoke); otherwise the clicker gets the card with "Recording your vote…". When the vote is done the
 * clicked card is updated through the Bot Connector, and the clicker's client, listed in the card's
 * refresh users, asks for its own view of it: the refresh answer carries the outcome (kept in
 * `state`). A successful vote also enqueues `chat.update`, which updates every copy of the message.
 */
async function handleCardAction(deps: TeamsActionDeps, turn: TeamsTurn): Promise<TeamsInvokeAnswer> {
  const { ctx, state } = deps;
  const { activity } = turn;
  const parsed = CardActionSchema.safeParse(activity.value);
  if (!parsed.success) return refuse(ctx, activity, 'value_not_recognised', { actionId: 'unknown', value: null, caseId: null });
  const action = parsed.data.action;
  const aad = activity.from?.aadObjectId ?? activity.from?.id ?? 'unknown';
  const nowMs = () => ctx.clock.now().getTime();
  if (action.verb === TEAMS_VERBS.refresh) {
    const data = RefreshDataSchema.safeParse(action.data);
    if (!data.success) return refuse(ctx, activity, 'value_not_recognised', { actionId: action.verb, value: JSON.stringify(action.data ?? null), caseId: null });
    const stage = STAGE_OF_PURPOSE[data.data.purpose];
    const notice = stage === undefined ? null : state.noticeFor(aad, data.data.caseId, stage, nowMs());
    const clicker = notice === null || activity.from?.id === undefined ? [] : [activity.from.id];
    return cardAnswer(await currentCard(deps, data.data.caseId, data.data.purpose, notice, clicker));
  }
  // Reboot notice answers (personal chat) are decided by reboot-actions.ts, not as votes.
  if (action.verb === TEAMS_VERBS.reboot) return handleTeamsRebootAction(ctx, activity, action);
  if (action.verb === TEAMS_VERBS.defer) return handleDefer(deps, turn, action);
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
  const reason = (data.success ? data.data.reason ?? '' : '').trim().slice(0, MAX_REASON_CHARS);
  const input: CastVoteInput = {
    caseId: vote.caseId,
    stage,
    personId: actorOf(ctx, activity),
    decision,
    via: 'teams',
    ...(reason === '' ? {} : { comment: reason }),
    ...(vote.planHash === null ? {} : { planHash: vote.planHash }),
    ...(activity.id === undefined ? {} : { eventId: { platform: 'teams' as const, id: activity.id } }),
  };
  // The card the click came from, if we posted it: a button naming another case than its card was not written by us.
  const clicked = await clickedCard(ctx, activity);
  if (clicked !== null && clicked.caseId !== vote.caseId) {
    return refuse(ctx, activity, 'case_value_mismatch', { actionId: action.id ?? vote.action, value, caseId: vote.caseId });
  }
  const refuseInline = async (refusal: { code: string; reason: string }) => {
    // Answered first; the audit record follows in the queue.
    deps.work.push(null, () => recordVoteRefusal(ctx, input, { status: 'refused', ...refusal }).then(() => undefined));
    return cardAnswer(await cardForClicker(deps, clicked, vote.caseId, purpose, { text: `Not recorded: ${refusal.reason}`, tone: 'attention' }));
  };
  if (activity.id !== undefined && !state.firstSighting(activity.id, nowMs())) return refuseInline({ code: 'PD_VOTE_REPLAYED', reason: REPLAYED_CLICK_REASON });
  // The Reject forms (approval, pilot) ask for a reason; a submit without one (an old card, a forged invoke) is refused.
  if (decision === 'reject' && reason === '') return refuseInline({ code: 'PD_VOTE_NO_REASON', reason: REASON_REQUIRED });
  const quick = await quickVoteRefusal(ctx, input);
  if (quick !== null) return refuseInline(quick);

  const queued = deps.work.push(`vote:${aad}:${value}`, () => countVote(deps, turn, input, aad));
  if (queued === 'full') {
    ctx.logger.warn({ caseId: vote.caseId }, 'Teams click dropped: the face\'s work queue is full');
    return cardAnswer(await cardForClicker(deps, clicked, vote.caseId, purpose, { text: 'Not recorded: Patchdeck is busy right now. Click again in a minute.', tone: 'attention' }));
  }
  // A double click still waiting in the queue is the same vote: it is answered the same way.
  state.votePending(aad, vote.caseId, stage);
  return cardAnswer(await cardForClicker(deps, clicked, vote.caseId, purpose, RECORDING_NOTICE));
}

/**
 * The Defer form's submit: reason and day are checked here (refused inline, audited), the deferral runs
 * in the work queue like a vote, and its outcome reaches the clicker the same way (card refresh).
 */
async function handleDefer(deps: TeamsActionDeps, turn: TeamsTurn, action: { id?: string | undefined; verb: string; data?: unknown }): Promise<TeamsInvokeAnswer> {
  const { ctx, state } = deps;
  const { activity } = turn;
  const data = DeferDataSchema.safeParse(action.data);
  const parsed = data.success ? parseDeferActionValue(data.data.value) : null;
  if (!data.success || parsed === null) {
    return refuse(ctx, activity, 'value_not_recognised', { actionId: action.id ?? action.verb, value: data.success ? data.data.value : JSON.stringify(action.data ?? null), caseId: null });
  }
  const clicked = await clickedCard(ctx, activity);
  if (clicked !== null && clicked.caseId !== parsed.caseId) {
    return refuse(ctx, activity, 'case_value_mismatch', { actionId: action.id ?? action.verb, value: data.data.value, caseId: parsed.caseId });
  }
  const aad = activity.from?.aadObjectId ?? activity.from?.id ?? 'unknown';
  const reason = (data.data.reason ?? '').trim().slice(0, MAX_REASON_CHARS);
  const untilDay = (data.data.until ?? '').trim();
  const input: DeferCaseInput = {
    caseId: parsed.caseId,
    personId: actorOf(ctx, activity),
    reason,
    via: 'teams',
    untilDay,
    ...(parsed.planHash === null ? {} : { planHash: parsed.planHash }),
  };
  const refuseInline = async (refusal: { code: string; reason: string }) => {
    deps.work.push(null, () => recordRefusedChatAction(ctx, { platform: 'teams', actor: input.personId, reason: refusal.code, actionId: 'defer', value: data.data.value.slice(0, AUDITED_VALUE_CHARS), caseId: parsed.caseId }).then(() => undefined));
    return cardAnswer(await cardForClicker(deps, clicked, parsed.caseId, 'alert', { text: `Not deferred: ${refusal.reason}`, tone: 'attention' }));
  };
  if (activity.id !== undefined && !state.firstSighting(activity.id, ctx.clock.now().getTime())) return refuseInline({ code: 'PD_VOTE_REPLAYED', reason: REPLAYED_CLICK_REASON });
  if (reason === '') return refuseInline({ code: 'PD_DEFER_NO_REASON', reason: REASON_REQUIRED });
  if (untilDay === '') return refuseInline({ code: 'PD_DEFER_BAD_UNTIL', reason: 'pick the day the case asks for approval again' });
  const queued = deps.work.push(`defer:${aad}:${data.data.value}`, async () => {
    let notice: ClickNotice;
    try {
      const result = await deferCase(ctx, input);
      notice =
        result.status === 'refused'
          ? { text: `Not deferred: ${result.reason}`, tone: 'attention' }
          : { text: `Deferred${result.until === null ? '' : ` until ${formatInZone(result.until, ctx.config.timezone)}`}.`, tone: 'good' };
    } catch (error) {
      ctx.logger.error({ err: (error as Error).message, caseId: input.caseId }, 'Teams deferral failed');
      notice = { text: `Patchdeck could not process that click. Check the case in the web console: ${ctx.config.publicUrl.replace(/\/+$/, '')}/cases/${input.caseId}`, tone: 'attention' };
    }
    state.voteSettled(aad, input.caseId, 'approval', notice, ctx.clock.now().getTime());
    scheduleClickedCardUpdate(deps, turn);
  });
  if (queued === 'full') return cardAnswer(await cardForClicker(deps, clicked, parsed.caseId, 'alert', { text: 'Not deferred: Patchdeck is busy right now. Try again in a minute.', tone: 'attention' }));
  state.votePending(aad, parsed.caseId, 'approval');
  return cardAnswer(await cardForClicker(deps, clicked, parsed.caseId, 'alert', { text: 'Recording your deferral…', tone: 'good' }));
}

/** The queued part of a vote: count it, keep the outcome for the clicker, then update the clicked card. */
async function countVote(deps: TeamsActionDeps, turn: TeamsTurn, input: CastVoteInput, aad: string): Promise<void> {
  const { ctx, state } = deps;
  let notice: ClickNotice;
  try {
    const result: CastVoteResult = await castVote(ctx, input);
    notice = result.status === 'refused' ? { text: `Not recorded: ${result.reason}`, tone: 'attention' } : { text: `Recorded: you ${DECISION_WORDS[input.decision]}.`, tone: 'good' };
  } catch (error) {
    ctx.logger.error({ err: (error as Error).message, caseId: input.caseId, stage: input.stage }, 'Teams vote failed');
    notice = { text: `Patchdeck could not process that click. Check the case in the web console: ${ctx.config.publicUrl.replace(/\/+$/, '')}/cases/${input.caseId}`, tone: 'attention' };
  }
  state.voteSettled(aad, input.caseId, input.stage, notice, ctx.clock.now().getTime());
  scheduleClickedCardUpdate(deps, turn);
}

function scheduleClickedCardUpdate(deps: TeamsActionDeps, turn: TeamsTurn): void {
  const replyToId = (turn.activity as { replyToId?: unknown }).replyToId;
  if (typeof replyToId !== 'string') return;
  const clicker = turn.activity.from?.id;
  // One update per card and second is enough however many votes finished meanwhile: it renders the state when it runs.
  deps.cardUpdates.schedule(`card:${turn.reference.conversation.id}:${replyToId}`, () => updateClickedCard(deps, turn, replyToId, clicker));
}

/** Rewrites the clicked card as it is now (stored copies only; a replaced one is left alone), so refreshes follow. */
async function updateClickedCard(deps: TeamsActionDeps, turn: TeamsTurn, replyToId: string, clicker: string | undefined): Promise<void> {
  const { ctx } = deps;
  const clicked = await clickedCard(ctx, turn.activity);
  const purpose = clicked === null ? null : purposeOf(clicked.purpose);
  if (clicked === null || clicked.caseId === null || clicked.supersededAt !== null || purpose === null) return;
  const message = await buildCurrentCaseMessage(ctx, clicked.caseId, purpose);
  if (message === null) return;
  const { activityId: _ignored, ...reference } = turn.reference;
  const card = await renderCard(deps, message, null, clicker === undefined ? [] : [clicker]);
  try {
    await deps.connector.update(reference, replyToId, { summary: message.text.slice(0, 500), attachments: [cardAttachment(card)] });
  } catch (error) {
    // The chat.update job of a recorded vote updates it again; a refusal changed nothing on the card.
    ctx.logger.warn({ err: (error as Error).message, caseId: clicked.caseId }, 'could not update the clicked Teams card');
  }
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
export async function handleTeamsTurn(deps: TeamsActionDeps, turn: TeamsTurn): Promise<TeamsInvokeAnswer | null> {
  const { ctx } = deps;
  const { activity } = turn;
  const aad = activity.from?.aadObjectId;
  // Written only when this process has not stored that pair yet: an invoke should not wait for a write.
  if (aad && deps.state.knownUsers.get(aad) !== activity.from!.id) {
    await rememberTeamsUser(ctx, aad, activity.from!.id);
    deps.state.knownUsers.set(aad, activity.from!.id);
  }
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
      return answerWithin(ctx, deps.deadlineMs ?? INVOKE_DEADLINE_MS, handleCardAction(deps, turn), () =>
        cardAnswer(renderNoticeCard('Patchdeck is still working on this click; the card will update when it is done.')),
      );
    default:
      return null;
  }
}
