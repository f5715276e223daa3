import type { ChatMessage } from '../../core/messages.js';
import type { WorkflowContext } from '../../workflow/context.js';
import type { Notifier, PostOptions } from '../../workflow/notifications.js';
import { splitThreadedConversationId, supportsReplyChains, threadedConversationId, type TeamsConnector } from './connector.js';
import { findTeamsUserIds, getConversation, resolveConversation } from './conversations.js';
import { renderTeamsMessage } from './render.js';

/** Teams user ids of the approvers the bot has met: their clients refresh a card by themselves. */
export async function approverUserIds(ctx: WorkflowContext): Promise<string[]> {
  const group = ctx.config.approvals.approversGroup;
  const aadIds = ctx.config.people.flatMap((p) => (p.groups.includes(group) && p.teams !== undefined ? [p.teams] : []));
  return findTeamsUserIds(ctx, aadIds);
}

/**
 * Posts and updates Adaptive Cards proactively, through the conversation references the face stored.
 * `channel` on post is the routing channel (`#patching`), resolved to a conversation; what is stored
 * (and given back on update) is the conversation id and the activity id. A post with `threadTs` (the
 * activity id of the case's alert) goes into that post's reply chain in a channel, and is stored under
 * the reply chain's conversation id (`…;messageid=<root>`), which is where Teams says it lives; chats
 * have no reply chains, so there it is posted in the chat. Failures throw, so the job that called us is
 * retried by the queue.
 */
export function createTeamsNotifier(deps: { ctx: WorkflowContext; connector: TeamsConnector }): Notifier {
  const { ctx, connector } = deps;
  return {
    platform: 'teams',
    async post(channel: string, message: ChatMessage, options?: PostOptions) {
      const target = await resolveConversation(ctx, channel);
      const root = options?.threadTs !== undefined && supportsReplyChains(target.reference) ? options.threadTs : null;
      const rendered = renderTeamsMessage(message, { refreshUserIds: await approverUserIds(ctx) });
      const sent = await connector.send(target.reference, rendered, root === null ? undefined : { replyToId: root });
      return { channel: root === null ? target.conversationId : threadedConversationId(target.conversationId, root), ts: sent.id };
    },
    async update(channel: string, activityId: string, message: ChatMessage) {
      const { conversationId, rootActivityId } = splitThreadedConversationId(channel);
      const stored = await getConversation(ctx, conversationId);
      if (!stored) {
        // The bot was removed from that conversation: there is nothing left to update.
        ctx.logger.warn({ conversationId }, 'Teams conversation is no longer known; the card there is not updated');
        return;
      }
      const rendered = renderTeamsMessage(message, { refreshUserIds: await approverUserIds(ctx) });
      await connector.update(stored.reference, activityId, rendered, rootActivityId === null ? undefined : { replyToId: rootActivityId });
    },
  };
}
