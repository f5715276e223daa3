import type { App, types, ViewSubmitAction, webApi } from '@slack/bolt';
import { ACTION_VOTES, parseActionValue, parseDeferActionValue } from '../../core/messages.js';
import { dayInZone, formatInZone } from '../../core/time.js';
import { recordRefusedChatAction } from '../../workflow/chat-requests.js';
import type { WorkflowContext } from '../../workflow/context.js';
import { publishHome } from './home.js';
import { personIdForSlackUser } from './my-work.js';
import { escapeMrkdwn } from './render.js';
import type { SlackHandlerDeps } from './services.js';

/**
 * Reject and Defer on an approval request ask for a reason (and Defer for the day the case asks
 * again) before anything counts: the button opens a modal (views.open with the click's trigger_id),
 * and its view_submission, signed like every request, carries what was typed. The modal keeps the
 * button's value and the clicked message in `private_metadata`; the clicker is the submission's
 * `user.id`, never anything in the form.
 */

export const MODAL_CALLBACKS = { reject: 'patchdeck_reject', defer: 'patchdeck_defer' } as const;
export const MODAL_FIELDS = { reason: 'reason', until: 'until' } as const;

/** Longest reason the form takes (the workflow keeps at most this much of a comment). */
const MAX_REASON_CHARS = 2000;
const AUDITED_VALUE_CHARS = 200;
const DAY_MS = 86_400_000;

export const REASON_REQUIRED_TEXT = 'Say why (a reason is required).';
const FORGED_FORM_TEXT = 'Not recorded: this form was not sent by Patchdeck in this form. Nothing was changed.';

/** What the modal remembers of the click that opened it. */
interface ModalContext {
  /** The button's value: `case:<id>:reject:<hash>` or `case:<id>:defer:<hash>`. */
  value: string;
  /** The channel and ts of the clicked message; null for a click on the Home tab. */
  channel: string | null;
  ts: string | null;
  home: boolean;
}

function plain(text: string) {
  return { type: 'plain_text' as const, text, emoji: true };
}

/** The modal a Reject (of an approval or a pilot) or Defer button opens. */
export function buildReasonModal(kind: 'reject' | 'defer', caseId: number, context: ModalContext, opts: { timezone: string; now: Date }): types.ModalView {
  const pilot = parseActionValue(context.value)?.action === 'signoff_reject';
  const blocks: types.KnownBlock[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text:
          kind === 'reject'
            ? `Reject ${pilot ? `the pilot of case #${caseId}: the rollout halts` : `case #${caseId}`}. Your reason is shown with your vote and kept in the audit log.`
            : `Defer case #${caseId}: it leaves the approval queue and asks again on the day you pick (${escapeMrkdwn(opts.timezone)}).`,
      },
    },
    {
      type: 'input',
      block_id: MODAL_FIELDS.reason,
      label: plain(kind === 'reject' ? 'Why reject?' : 'Why defer?'),
      element: { type: 'plain_text_input', action_id: MODAL_FIELDS.reason, multiline: true, max_length: MAX_REASON_CHARS },
    },
  ];
  if (kind === 'defer') {
    blocks.push({
      type: 'input',
      block_id: MODAL_FIELDS.until,
      label: plain('Ask for approval again on'),
      hint: plain(`The start of that day in ${opts.timezone}.`),
      element: { type: 'datepicker', action_id: MODAL_FIELDS.until, initial_date: dayInZone(new Date(opts.now.getTime() + DAY_MS), opts.timezone) },
    });
  }
  return {
    type: 'modal',
    callback_id: MODAL_CALLBACKS[kind],
    private_metadata: JSON.stringify(context),
    title: plain(`${kind === 'reject' ? (pilot ? 'Reject pilot' : 'Reject') : 'Defer'} case #${caseId}`.slice(0, 24)),
    submit: plain(kind === 'reject' ? (pilot ? 'Reject pilot' : 'Reject') : 'Defer'),
    close: plain('Cancel'),
    blocks,
  };
}

/**
 * Opens the modal for a Reject or Defer click. Called right after ack(): the trigger_id is good for
 * three seconds, so this does not wait in the work queue. Resolves false when Slack refused to open it.
 */
export async function openReasonModal(ctx: WorkflowContext, client: webApi.WebClient, args: { kind: 'reject' | 'defer'; caseId: number; triggerId: string; context: ModalContext }): Promise<boolean> {
  try {
    await client.views.open({ trigger_id: args.triggerId, view: buildReasonModal(args.kind, args.caseId, args.context, { timezone: ctx.config.timezone, now: ctx.clock.now() }) });
    return true;
  } catch (error) {
    ctx.logger.error({ err: (error as Error).message, caseId: args.caseId }, 'could not open the Slack reason modal');
    return false;
  }
}

function readContext(text: string): ModalContext | null {
  try {
    const parsed = JSON.parse(text) as Partial<ModalContext>;
    if (typeof parsed.value !== 'string') return null;
    return {
      value: parsed.value,
      channel: typeof parsed.channel === 'string' ? parsed.channel : null,
      ts: typeof parsed.ts === 'string' ? parsed.ts : null,
      home: parsed.home === true,
    };
  } catch {
    return null;
  }
}

function field(view: ViewSubmitAction['view'], name: string): string {
  const state = view.state.values[name]?.[name];
  return (state?.value ?? state?.selected_date ?? '').trim();
}

/** The case of our stored copy of the clicked message, or null when it is not one of ours. */
async function caseOfMessage(ctx: WorkflowContext, channel: string | null, ts: string | null): Promise<number | null> {
  if (channel === null || ts === null) return null;
  const row = await ctx.store.db.selectFrom('chat_messages').select('case_id').where('platform', '=', 'slack').where('ts', '=', ts).where('channel', '=', channel).executeTakeFirst();
  return row?.case_id === undefined || row.case_id === null ? null : Number(row.case_id);
}

/**
 * Tells the submitter how it went: an ephemeral message in the channel of the clicked message, the
 * Home tab re-published with the outcome on top, or else a message in the app's DM with them.
 */
async function tellSubmitter(ctx: WorkflowContext, client: webApi.WebClient, userId: string, context: ModalContext | null, text: string): Promise<void> {
  try {
    if (context?.home) await publishHome(ctx, client, userId, text);
    else if (context?.channel) await client.chat.postEphemeral({ channel: context.channel, user: userId, text });
    else await client.chat.postMessage({ channel: userId, text });
  } catch (error) {
    ctx.logger.error({ err: (error as Error).message }, 'could not tell a Slack user the outcome of their form');
  }
}

export function registerSlackModals(app: App, deps: SlackHandlerDeps): void {
  const { ctx, services, work } = deps;
  for (const kind of ['reject', 'defer'] as const) {
    app.view<ViewSubmitAction>({ callback_id: MODAL_CALLBACKS[kind], type: 'view_submission' }, async ({ ack, body, view, client }) => {
      const personId = personIdForSlackUser(ctx, body.user.id);
      const context = readContext(view.private_metadata);
      const vote = context === null ? null : parseActionValue(context.value);
      const deferral = context === null ? null : parseDeferActionValue(context.value);
      const rejects = vote !== null && ACTION_VOTES[vote.action].decision === 'reject';
      const caseId = kind === 'reject' ? (rejects ? vote.caseId : null) : deferral?.caseId ?? null;
      if (context === null || caseId === null) {
        await ack({ response_action: 'errors', errors: { [MODAL_FIELDS.reason]: FORGED_FORM_TEXT } });
        await recordRefusedChatAction(ctx, {
          platform: 'slack',
          actor: personId,
          reason: 'value_not_recognised',
          actionId: MODAL_CALLBACKS[kind],
          value: (context?.value ?? view.private_metadata).slice(0, AUDITED_VALUE_CHARS),
          caseId: null,
        }).catch((error: unknown) => ctx.logger.error({ err: (error as Error).message }, 'could not audit a refused Slack form'));
        return;
      }
      // Slack's client insists on the inputs, but spaces pass it (and a forged submission may leave them out).
      const reason = field(view, MODAL_FIELDS.reason).slice(0, MAX_REASON_CHARS);
      const untilDay = field(view, MODAL_FIELDS.until);
      const errors: Record<string, string> = {};
      if (reason === '') errors[MODAL_FIELDS.reason] = REASON_REQUIRED_TEXT;
      if (kind === 'defer' && untilDay === '') errors[MODAL_FIELDS.until] = 'Pick the day the case asks for approval again.';
      if (Object.keys(errors).length > 0) {
        await ack({ response_action: 'errors', errors });
        return;
      }
      await ack();
      const tell = (text: string) => tellSubmitter(ctx, client, body.user.id, context, text);
      const task = async () => {
        const clickedCase = await caseOfMessage(ctx, context.channel, context.ts);
        if (clickedCase !== null && clickedCase !== caseId) {
          await recordRefusedChatAction(ctx, { platform: 'slack', actor: personId, reason: 'case_value_mismatch', actionId: MODAL_CALLBACKS[kind], value: context.value.slice(0, AUDITED_VALUE_CHARS), caseId });
          await tell(`:no_entry: ${FORGED_FORM_TEXT}`);
          return;
        }
        try {
          if (kind === 'reject' && vote !== null) {
            const stage = ACTION_VOTES[vote.action].stage;
            const result = await services.castVote(ctx, {
              caseId,
              stage,
              personId,
              decision: 'reject',
              via: 'slack',
              comment: reason,
              ...(vote.planHash ? { planHash: vote.planHash } : {}),
              // One trigger_id per submission: the same one again is a replayed request.
              ...(body.trigger_id ? { eventId: { platform: 'slack' as const, id: body.trigger_id } } : {}),
            });
            const what = stage === 'pilot_signoff' ? `the pilot of case ${caseId}` : `case ${caseId}`;
            await tell(result.status === 'refused' ? `:no_entry: Not recorded: ${escapeMrkdwn(result.reason)}` : `:white_check_mark: Recorded: you rejected ${what}.`);
          } else {
            const result = await services.deferCase(ctx, { caseId, personId, reason, via: 'slack', untilDay, ...(deferral?.planHash ? { planHash: deferral.planHash } : {}) });
            await tell(
              result.status === 'refused'
                ? `:no_entry: Not deferred: ${escapeMrkdwn(result.reason)}`
                : `:white_check_mark: Deferred case ${caseId}${result.until === null ? '' : ` until ${formatInZone(result.until, ctx.config.timezone)}`}.`,
            );
          }
        } catch (error) {
          ctx.logger.error({ err: (error as Error).message, caseId, kind }, 'Slack form failed');
          await tell(`:warning: Patchdeck could not process that form. Check the case in the web console: ${ctx.config.publicUrl.replace(/\/+$/, '')}/cases/${caseId}`);
        }
      };
      if (work.push(`form:${body.user.id}:${kind}:${context.value}`, task) === 'full') {
        ctx.logger.warn({ user: body.user.id }, 'Slack form dropped: the face\'s work queue is full');
        await tell(':warning: Not recorded: Patchdeck is busy right now. Try again in a minute.');
      }
    });
  }
}
