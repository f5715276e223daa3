import type { ChatMessage } from '../../core/messages.js';
import type { WorkflowContext } from '../../workflow/context.js';
import type { Notifier } from '../../workflow/notifications.js';
import type { TeamsConnector } from './connector.js';
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
 * (and given back on update) is the conversation id and the activity id. Failures throw, so the job
 * that called us is retried by the queue.
 */
export function createTeamsNotifier(deps: { ctx: WorkflowContext; connector: TeamsConnector }): Notifier {
  const { ctx, connector } = deps;
  return {
    platform: 'teams',
    async post(channel: string, message: ChatMessage) {
      const target = await resolveConversation(ctx, channel);
      const sent = await connector.send(target.reference, renderTeamsMessage(message, { refreshUserIds: await approverUserIds(ctx) }));
      return { channel: target.conversationId, ts: sent.id };
    },
    async update(conversationId: string, activityId: string, message: ChatMessage) {
      const stored = await getConversation(ctx, conversationId);
      if (!stored) {
        // The bot was removed from that conversation: there is nothing left to update.
        ctx.logger.warn({ conversationId }, 'Teams conversation is no longer known; the card there is not updated');
        return;
      }
      await connector.update(stored.reference, activityId, renderTeamsMessage(message, { refreshUserIds: await approverUserIds(ctx) }));
    },
  };
}
