import type { App, BlockAction, webApi } from '@slack/bolt';
import { ACTION_VOTES, parseActionValue } from '../../core/messages.js';
import { findPersonBySlackId } from '../../core/people.js';
import { castVote, type CastVoteResult } from '../../workflow/approvals.js';
import { recordRefusedChatAction } from '../../workflow/chat-requests.js';
import type { WorkflowContext } from '../../workflow/context.js';
import { escapeMrkdwn } from './render.js';

/** How much of a refused button value goes into the audit log. */
const AUDITED_VALUE_CHARS = 200;

/**
 * Listens to every button click (block_actions). The clicker is `body.user.id`, which Slack vouches
 * for by signing the request; nothing inside the action (its value, its text) says who may act. The
 * approval service decides; this face only translates the click and explains a refusal.
 */
export function registerSlackActions(app: App, ctx: WorkflowContext): void {
  app.action<BlockAction>({ type: 'block_actions' }, async ({ ack, body, client }) => {
    await ack();
    await handleBlockAction(ctx, body, client);
  });
}

async function handleBlockAction(ctx: WorkflowContext, body: BlockAction, client: webApi.WebClient): Promise<void> {
  const slackUserId = body.user.id;
  // Unknown users still go to castVote under a name no policy grants, so the refusal is audited there.
  const personId = findPersonBySlackId(ctx.config.people, slackUserId)?.id ?? `slack:${slackUserId}`;
  const tell = (text: string) => tellClicker(ctx, client, body, text);
  const action = body.actions[0];
  if (action === undefined) return;
  const value = 'value' in action && typeof action.value === 'string' ? action.value : null;
  const parsed = value === null ? null : parseActionValue(value);
  if (parsed === null || parsed.action !== action.action_id) {
    await recordRefusedChatAction(ctx, {
      platform: 'slack',
      actor: personId,
      reason: parsed === null ? 'value_not_recognised' : 'action_value_mismatch',
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
    result = await castVote(ctx, { caseId: parsed.caseId, stage: vote.stage, personId, decision: vote.decision, via: 'slack' });
  } catch (error) {
    ctx.logger.error({ err: (error as Error).message, caseId: parsed.caseId, action: parsed.action }, 'Slack vote failed');
    await tell(`:warning: Patchdeck could not process that click. Check the case in the web console: ${ctx.config.publicUrl.replace(/\/+$/, '')}/cases/${parsed.caseId}`);
    return;
  }
  // On success castVote enqueues a chat.update job, which rewrites the message in place.
  if (result.status === 'refused') await tell(`:no_entry: Not recorded: ${escapeMrkdwn(result.reason)}`);
}

/** An ephemeral reply only the clicking user sees, in the channel of the message they clicked. */
async function tellClicker(ctx: WorkflowContext, client: webApi.WebClient, body: BlockAction, text: string): Promise<void> {
  const channel = body.channel?.id ?? body.container?.channel_id;
  if (typeof channel !== 'string') {
    ctx.logger.warn({ user: body.user.id }, 'cannot reply to a Slack click without a channel');
    return;
  }
  try {
    await client.chat.postEphemeral({ channel, user: body.user.id, text });
  } catch (error) {
    ctx.logger.error({ err: (error as Error).message, channel }, 'could not send an ephemeral Slack reply');
  }
}
