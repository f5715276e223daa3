import type { App, MessageShortcut } from '@slack/bolt';
import { getCaseView } from '../../store/queries/cases.js';
import { replyOptionsFor } from './my-work.js';
import { buildCaseReply, buildNoticeReply } from './replies.js';
import type { SlackHandlerDeps } from './services.js';

/** The message shortcut's callback id; manifests/slack.yaml declares it. */
export const CASE_SHORTCUT_ID = 'patchdeck_case';

/**
 * "Show the Patchdeck case" on a message: for an alert whose buttons are gone, or one scrolled far
 * back, it answers privately with the case as it is now (with buttons while it awaits approval).
 * The message is found by its channel and ts among the messages Patchdeck posted.
 */
export function registerSlackShortcuts(app: App, deps: SlackHandlerDeps): void {
  const { ctx, work } = deps;
  app.shortcut<MessageShortcut>({ type: 'message_action', callback_id: CASE_SHORTCUT_ID }, async ({ ack, shortcut, respond }) => {
    await ack();
    work.push(null, async () => {
      const stored = await ctx.store.db
        .selectFrom('chat_messages')
        .select('case_id')
        .where('platform', '=', 'slack')
        .where('channel', '=', shortcut.channel.id)
        .where('ts', '=', shortcut.message.ts)
        .executeTakeFirst();
      const view = stored?.case_id == null ? null : await getCaseView(ctx.store.db, Number(stored.case_id));
      const reply = view === null ? buildNoticeReply('This message is not one Patchdeck posted about a case. `/patchdeck status` lists the open ones.') : buildCaseReply(view, replyOptionsFor(ctx));
      // Sent without waiting: a slow response_url must not hold the face's work queue.
      void respond({ response_type: 'ephemeral', text: reply.text, blocks: reply.blocks }).catch((error: unknown) => {
        ctx.logger.error({ err: (error as Error).message }, 'could not answer a Slack message shortcut');
      });
    });
  });
}
