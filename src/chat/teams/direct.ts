import type { ChatMessage } from '../../core/messages.js';
import { fromJson } from '../../store/json.js';
import type { WorkflowContext } from '../../workflow/context.js';
import type { DirectNotifier } from '../../workflow/reboots.js';
import type { TeamsConnector, TeamsConversationReference } from './connector.js';
import { getConversation } from './conversations.js';
import { renderTeamsMessage } from './render.js';

interface PersonalReference {
  conversation?: { id?: unknown; conversationType?: unknown };
  user?: { aadObjectId?: unknown };
}

/**
 * The stored personal (1:1) conversation of a Teams user: the face keeps the reference of every
 * conversation it hears from, and a personal chat's reference names its user. A person who never
 * opened the Patchdeck app in Teams has none, and cannot be written to proactively.
 */
export async function findPersonalConversation(ctx: WorkflowContext, aadObjectId: string): Promise<{ conversationId: string; reference: TeamsConversationReference } | null> {
  // Personal chats carry no channel name; channel conversations are never a person's DM.
  const rows = await ctx.store.db
    .selectFrom('teams_conversations')
    .select(['conversation_id', 'reference'])
    .where('channel_name', 'is', null)
    .orderBy('updated_at', 'desc')
    .execute();
  for (const row of rows) {
    const ref = fromJson<PersonalReference | null>(row.reference, null);
    if (ref?.conversation?.conversationType === 'personal' && ref.user?.aadObjectId === aadObjectId) {
      const stored = await getConversation(ctx, row.conversation_id);
      if (stored) return stored;
    }
  }
  return null;
}

/** Reboot notices and other direct messages as Adaptive Cards in the person's personal chat with the bot. */
export function createTeamsDirectNotifier(deps: { ctx: WorkflowContext; connector: TeamsConnector }): DirectNotifier {
  const { ctx, connector } = deps;
  return {
    platform: 'teams',
    async postDirect(person, message: ChatMessage) {
      if (person.teams === undefined) return null;
      const target = await findPersonalConversation(ctx, person.teams);
      if (!target) {
        ctx.logger.warn({ person: person.id }, 'no personal Teams chat is known for this person: they need to open the Patchdeck app in Teams once');
        return null;
      }
      const sent = await connector.send(target.reference, renderTeamsMessage(message));
      return { channel: target.conversationId, ts: sent.id };
    },
    async update(conversationId, activityId, message) {
      const stored = await getConversation(ctx, conversationId);
      if (!stored) return;
      await connector.update(stored.reference, activityId, renderTeamsMessage(message));
    },
  };
}
