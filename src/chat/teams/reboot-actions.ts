import { z } from 'zod';
import { parseRebootActionValue, rebootActionIdOf } from '../../core/messages.js';
import { findPersonByTeamsId } from '../../core/people.js';
import { recordRefusedChatAction } from '../../workflow/chat-requests.js';
import type { WorkflowContext } from '../../workflow/context.js';
import { buildRebootNotice, decideReboot } from '../../workflow/reboots.js';
import type { TeamsActivity, TeamsInvokeAnswer } from './connector.js';
import { renderNoticeCard, renderTeamsCard, type TeamsCardOptions } from './render.js';

const AUDITED_VALUE_CHARS = 200;
const RebootDataSchema = z.object({ value: z.string() }).passthrough();

function cardAnswer(card: Record<string, unknown>): TeamsInvokeAnswer {
  return { status: 200, body: { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: card } };
}

async function noticeCard(ctx: WorkflowContext, noticeId: number, notice: TeamsCardOptions['notice']): Promise<Record<string, unknown>> {
  const built = await buildRebootNotice(ctx, noticeId);
  if (!built) return renderNoticeCard(`${notice?.text ?? ''} Reboot notice ${noticeId} no longer exists.`.trim());
  return renderTeamsCard(built.message, { notice });
}

/**
 * "Reboot now" / "Postpone" on a reboot notice card in a personal chat (verb `patchdeck.reboot`). The
 * sender is the signed activity's `from.aadObjectId`; the card data only names the notice (and the
 * postpone count it showed). The answer is the notice card as it is now, with what happened on top.
 */
export async function handleTeamsRebootAction(ctx: WorkflowContext, activity: TeamsActivity, action: { id?: string | undefined; data?: unknown }): Promise<TeamsInvokeAnswer> {
  const aad = activity.from?.aadObjectId;
  const personId = (aad === undefined ? null : findPersonByTeamsId(ctx.config.people, aad))?.id ?? `teams:${aad ?? activity.from?.id ?? 'unknown'}`;
  const data = RebootDataSchema.safeParse(action.data);
  const value = data.success ? data.data.value : null;
  const parsed = value === null ? null : parseRebootActionValue(value);
  if (parsed === null || (action.id !== undefined && action.id !== rebootActionIdOf(parsed))) {
    await recordRefusedChatAction(ctx, {
      platform: 'teams',
      actor: personId,
      reason: parsed === null ? 'value_not_recognised' : 'action_value_mismatch',
      actionId: (action.id ?? 'patchdeck.reboot').slice(0, AUDITED_VALUE_CHARS),
      value: (value ?? JSON.stringify(action.data ?? null)).slice(0, AUDITED_VALUE_CHARS),
      caseId: null,
    }).catch((error: unknown) => ctx.logger.error({ err: (error as Error).message }, 'could not audit a refused Teams reboot action'));
    return cardAnswer(renderNoticeCard('Not recorded: this button was not sent by Patchdeck in this form. Nothing was changed.'));
  }
  const result = await decideReboot(ctx, {
    noticeId: parsed.noticeId,
    personId,
    decision: parsed.decision,
    ...(parsed.decision === 'postpone' ? { postponesSoFar: parsed.postponesSoFar } : {}),
    via: 'teams',
  });
  const notice: TeamsCardOptions['notice'] =
    result.status === 'refused'
      ? { text: `Not recorded: ${result.reason}`, tone: 'attention' }
      : result.status === 'unchanged'
        ? { text: `Nothing changed: ${result.reason}`, tone: 'attention' }
        : { text: result.decision === 'reboot_now' ? 'Recorded: the host reboots now.' : 'Recorded: the reboot is postponed.', tone: 'good' };
  // A refused click must not show the owner's buttons to someone else: answer with a plain notice.
  if (result.status === 'refused') return cardAnswer(renderNoticeCard(notice.text));
  return cardAnswer(await noticeCard(ctx, parsed.noticeId, notice));
}
