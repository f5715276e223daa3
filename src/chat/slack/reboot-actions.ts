import type { App, BlockAction, webApi } from '@slack/bolt';
import { parseRebootActionValue, rebootActionIdOf } from '../../core/messages.js';
import { recordRefusedChatAction } from '../../workflow/chat-requests.js';
import type { WorkflowContext } from '../../workflow/context.js';
import { decideReboot } from '../../workflow/reboots.js';
import { personIdForSlackUser } from './my-work.js';
import { escapeMrkdwn } from './render.js';
import type { SlackHandlerDeps } from './services.js';

/** Action ids of the reboot notice's buttons; the vote listener leaves these alone. */
export const SLACK_REBOOT_ACTION_PATTERN = /^reboot_/;
const AUDITED_VALUE_CHARS = 200;

/**
 * "Reboot now" and "Postpone" in a reboot notice DM. Like votes: ack first, the clicker is the signed
 * `body.user.id`, the button value only names the notice (and, for postpone, the count it showed, so a
 * double click postpones once); decideReboot decides and audits. A successful decision rewrites the
 * DM through a `reboot.update` job; refusals and repeats are told to the clicker only.
 */
export function registerSlackRebootActions(app: App, deps: SlackHandlerDeps): void {
  const { ctx, work } = deps;
  app.action<BlockAction>({ type: 'block_actions', action_id: SLACK_REBOOT_ACTION_PATTERN }, async ({ ack, body, client }) => {
    await ack();
    const action = body.actions[0];
    const key = action && 'value' in action ? `reboot:${body.user.id}:${String(action.action_id)}:${String(action.value)}` : null;
    if (work.push(key, () => handleRebootClick(ctx, body, client)) === 'full') {
      ctx.logger.warn({ user: body.user.id }, 'Slack reboot click dropped: the face\'s work queue is full');
    }
  });
}

async function handleRebootClick(ctx: WorkflowContext, body: BlockAction, client: webApi.WebClient): Promise<void> {
  const action = body.actions[0];
  if (action === undefined) return;
  const personId = personIdForSlackUser(ctx, body.user.id);
  const value = 'value' in action && typeof action.value === 'string' ? action.value : null;
  const parsed = value === null ? null : parseRebootActionValue(value);
  const tell = (text: string) => tellClicker(ctx, client, body, text);
  if (parsed === null || rebootActionIdOf(parsed) !== action.action_id) {
    await recordRefusedChatAction(ctx, {
      platform: 'slack',
      actor: personId,
      reason: parsed === null ? 'value_not_recognised' : 'action_value_mismatch',
      actionId: String(action.action_id).slice(0, AUDITED_VALUE_CHARS),
      value: value === null ? null : value.slice(0, AUDITED_VALUE_CHARS),
      caseId: null,
    }).catch((error: unknown) => ctx.logger.error({ err: (error as Error).message }, 'could not audit a refused Slack reboot action'));
    tell(':no_entry: Not recorded: this button was not sent by Patchdeck in this form. Nothing was changed.');
    return;
  }
  try {
    const result = await decideReboot(ctx, {
      noticeId: parsed.noticeId,
      personId,
      decision: parsed.decision,
      ...(parsed.decision === 'postpone' ? { postponesSoFar: parsed.postponesSoFar } : {}),
      via: 'slack',
    });
    if (result.status === 'refused') tell(`:no_entry: Not recorded: ${escapeMrkdwn(result.reason)}`);
    else if (result.status === 'unchanged') tell(`:information_source: Nothing changed: ${escapeMrkdwn(result.reason)}`);
  } catch (error) {
    ctx.logger.error({ err: (error as Error).message, noticeId: parsed.noticeId }, 'Slack reboot decision failed');
    tell(':warning: Patchdeck could not process that click. Try again in a minute.');
  }
}

function tellClicker(ctx: WorkflowContext, client: webApi.WebClient, body: BlockAction, text: string): void {
  const channel = body.channel?.id ?? body.container?.channel_id;
  if (typeof channel !== 'string') return;
  void client.chat.postEphemeral({ channel, user: body.user.id, text }).catch((error: unknown) => {
    ctx.logger.error({ err: (error as Error).message, channel }, 'could not send an ephemeral Slack reply');
  });
}
