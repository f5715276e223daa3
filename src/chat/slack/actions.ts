import type { App, BlockAction, RespondFn, webApi } from '@slack/bolt';
import { ACTION_VOTES, DEFER_ACTION_ID, parseActionValue, parseDeferActionValue } from '../../core/messages.js';
import type { CastVoteResult } from '../../workflow/approvals.js';
import { recordRefusedChatAction } from '../../workflow/chat-requests.js';
import type { WorkflowContext } from '../../workflow/context.js';
import { publishHome } from './home.js';
import { openReasonModal } from './modals.js';
import { personIdForSlackUser } from './my-work.js';
import { escapeMrkdwn } from './render.js';
import type { SlackHandlerDeps, SlackServices } from './services.js';

/** How much of a refused button value goes into the audit log. */
const AUDITED_VALUE_CHARS = 200;

const RECORDED_NOTICE: Record<string, string> = {
  approve: 'you approved',
  reject: 'you rejected',
  signoff: 'you signed off the pilot of',
  signoff_reject: 'you rejected the pilot of',
};

/**
 * Listens to every button click (block_actions). The clicker is `body.user.id`, which Slack vouches
 * for by signing the request; nothing inside the action (its value, its text) says who may act. The
 * approval service decides; this face only translates the click and explains a refusal.
 *
 * `ack()` comes first: the receiver runs with `processBeforeResponse: false`, so ack() writes the HTTP
 * 200 at once; the vote, which waits for the case's row lock, runs in the face's work queue after
 * Slack has its answer. A double click still waiting there is dropped; one that reaches castVote
 * again is a duplicate vote and records nothing.
 */
export function registerSlackActions(app: App, deps: SlackHandlerDeps): void {
  const { ctx, services, work } = deps;
  // Reboot notice buttons (reboot_now, reboot_postpone) have their own listener (reboot-actions.ts).
  app.action<BlockAction>({ type: 'block_actions', action_id: /^(?!reboot_)/ }, async ({ ack, body, client, respond }) => {
    await ack();
    const action = body.actions[0];
    // Reject and Defer ask for a reason first: the modal opens now (its trigger_id lasts three seconds), the vote comes with its submission (modals.ts).
    const form = formOfClick(body);
    if (form !== null) {
      if (await openReasonModal(ctx, client, form)) return;
      tellClicker(ctx, client, respond, body, `:warning: Patchdeck could not open the form. Decide on the web console: ${ctx.config.publicUrl.replace(/\/+$/, '')}/cases/${form.caseId}`);
      return;
    }
    const key = action && 'value' in action ? `click:${body.user.id}:${String(action.action_id)}:${String(action.value)}` : null;
    if (work.push(key, () => handleBlockAction(ctx, services, body, client, respond)) === 'full') {
      ctx.logger.warn({ user: body.user.id }, 'Slack click dropped: the face\'s work queue is full');
    }
  });
}

/** A well-formed Reject (of an approval or a pilot) or Defer click with a trigger_id: the modal to open, with what it keeps of the click. */
function formOfClick(body: BlockAction) {
  const action = body.actions[0];
  const value = action && 'value' in action && typeof action.value === 'string' ? action.value : null;
  if (action === undefined || value === null || typeof body.trigger_id !== 'string' || body.trigger_id === '') return null;
  const vote = action.action_id === 'reject' || action.action_id === 'signoff_reject' ? parseActionValue(value) : null;
  const deferral = action.action_id === DEFER_ACTION_ID ? parseDeferActionValue(value) : null;
  const kind = vote !== null && vote.action === action.action_id ? ('reject' as const) : deferral !== null ? ('defer' as const) : null;
  const caseId = vote?.caseId ?? deferral?.caseId;
  if (kind === null || caseId === undefined) return null;
  const ephemeral = body.container?.is_ephemeral === true;
  const channel = body.channel?.id ?? body.container?.channel_id;
  const ts = ephemeral ? undefined : (body.container?.message_ts ?? body.message?.ts);
  return {
    kind,
    caseId,
    triggerId: body.trigger_id,
    context: {
      value,
      channel: typeof channel === 'string' ? channel : null,
      ts: typeof ts === 'string' ? ts : null,
      home: body.container?.type === 'view' && body.view?.type === 'home',
    },
  };
}

async function handleBlockAction(ctx: WorkflowContext, services: SlackServices, body: BlockAction, client: webApi.WebClient, respond: RespondFn): Promise<void> {
  // Unknown users still go to castVote under a name no policy grants, so the refusal is audited there.
  const personId = personIdForSlackUser(ctx, body.user.id);
  const fromHomeTab = body.container?.type === 'view' && body.view?.type === 'home';
  // A click on the Home tab has no channel to answer in: the tab is re-published with the outcome on top.
  const tell = async (text: string) => (fromHomeTab ? republishHome(ctx, client, body.user.id, text) : tellClicker(ctx, client, respond, body, text));
  const action = body.actions[0];
  if (action === undefined) return;
  const value = 'value' in action && typeof action.value === 'string' ? action.value : null;
  const parsed = value === null ? null : parseActionValue(value);
  // The channel message the click came from, if we posted it: a button naming another case than its message was not written by us.
  const clickedCaseId = parsed === null || body.container?.is_ephemeral === true ? null : await caseOfClickedMessage(ctx, body);
  const otherCase = parsed !== null && clickedCaseId !== null && clickedCaseId !== parsed.caseId;
  if (parsed === null || parsed.action !== action.action_id || otherCase) {
    await recordRefusedChatAction(ctx, {
      platform: 'slack',
      actor: personId,
      reason: parsed === null ? 'value_not_recognised' : otherCase ? 'case_value_mismatch' : 'action_value_mismatch',
      actionId: String(action.action_id).slice(0, AUDITED_VALUE_CHARS),
      value: value === null ? null : value.slice(0, AUDITED_VALUE_CHARS),
      caseId: parsed?.caseId ?? null,
    }).catch((error: unknown) => ctx.logger.error({ err: (error as Error).message }, 'could not audit a refused Slack action'));
    await tell(':no_entry: Not recorded: this button was not sent by Patchdeck in this form. Nothing was changed.');
    return;
  }
  const vote = ACTION_VOTES[parsed.action];
  let result: CastVoteResult;
  try {
    result = await services.castVote(ctx, {
      caseId: parsed.caseId,
      stage: vote.stage,
      personId,
      decision: vote.decision,
      via: 'slack',
      // The plan the clicked message showed: a button of an older plan is refused (castVote).
      ...(parsed.planHash === null ? {} : { planHash: parsed.planHash }),
      // Slack sends one trigger_id per click: the same one again is a replayed request.
      ...(typeof body.trigger_id === 'string' && body.trigger_id !== '' ? { eventId: { platform: 'slack' as const, id: body.trigger_id } } : {}),
    });
  } catch (error) {
    ctx.logger.error({ err: (error as Error).message, caseId: parsed.caseId, action: parsed.action }, 'Slack vote failed');
    await tell(`:warning: Patchdeck could not process that click. Check the case in the web console: ${ctx.config.publicUrl.replace(/\/+$/, '')}/cases/${parsed.caseId}`);
    return;
  }
  // On success castVote enqueues a chat.update job, which rewrites the channel message in place.
  if (result.status === 'refused') await tell(`:no_entry: Not recorded: ${escapeMrkdwn(result.reason)}`);
  else if (fromHomeTab) await tell(`:white_check_mark: Recorded: ${RECORDED_NOTICE[parsed.action]} case ${parsed.caseId}.`);
}

/** The case of our stored copy of the clicked channel message (by channel and ts), or null when it is not one of ours. */
async function caseOfClickedMessage(ctx: WorkflowContext, body: BlockAction): Promise<number | null> {
  const channel = body.channel?.id ?? body.container?.channel_id;
  const ts = body.container?.message_ts ?? body.message?.ts;
  if (typeof channel !== 'string' || typeof ts !== 'string') return null;
  const row = await ctx.store.db
    .selectFrom('chat_messages')
    .select('case_id')
    .where('platform', '=', 'slack')
    .where('ts', '=', ts)
    .where('channel', '=', channel)
    .executeTakeFirst();
  return row?.case_id === undefined || row.case_id === null ? null : Number(row.case_id);
}

async function republishHome(ctx: WorkflowContext, client: webApi.WebClient, slackUserId: string, notice: string): Promise<void> {
  try {
    await publishHome(ctx, client, slackUserId, notice);
  } catch (error) {
    ctx.logger.error({ err: (error as Error).message }, 'could not re-publish the Slack Home tab');
  }
}

/**
 * An ephemeral reply only the clicking user sees, in the channel of the message they clicked. A click
 * in an ephemeral message (a /patchdeck answer) is answered through its response_url, which works
 * in channels the bot is not in.
 */
function tellClicker(ctx: WorkflowContext, client: webApi.WebClient, respond: RespondFn, body: BlockAction, text: string): void {
  // Sent without waiting: a slow or rate-limited Slack must not hold the face's work queue.
  if (body.container?.is_ephemeral === true && typeof body.response_url === 'string') {
    void respond({ response_type: 'ephemeral', replace_original: false, text }).catch((error: unknown) => {
      ctx.logger.error({ err: (error as Error).message }, 'could not answer a Slack click through its response_url');
    });
    return;
  }
  const channel = body.channel?.id ?? body.container?.channel_id;
  if (typeof channel !== 'string') {
    ctx.logger.warn({ user: body.user.id }, 'cannot reply to a Slack click without a channel');
    return;
  }
  void client.chat.postEphemeral({ channel, user: body.user.id, text }).catch((error: unknown) => {
    ctx.logger.error({ err: (error as Error).message, channel }, 'could not send an ephemeral Slack reply');
  });
}
