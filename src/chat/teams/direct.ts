import { isPatchdeckError } from '../../core/errors.js';
import type { ChatMessage } from '../../core/messages.js';
import { fromJson } from '../../store/json.js';
import { recordChange, type WorkflowContext } from '../../workflow/context.js';
import type { DirectNotifier } from '../../workflow/reboots.js';
import type { TeamsConnector, TeamsConversationReference } from './connector.js';
import { findTeamsUserIds, findTenantEndpoint, getConversation, rememberPersonalConversation } from './conversations.js';
import { renderTeamsMessage } from './render.js';

interface PersonalReference {
  conversation?: { id?: unknown; conversationType?: unknown };
  user?: { aadObjectId?: unknown };
}

/**
 * The stored personal (1:1) conversation of a Teams user: the face keeps the reference of every
 * conversation it hears from, and a personal chat's reference names its user. A person who never
 * opened the Patchdeck app in Teams has none (see openPersonalConversation).
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

const NOT_INSTALLED_ACTION = 'teams.personal_chat_refused';

/**
 * Starts the bot's 1:1 chat with a person it has no chat with, in the tenant it last heard from, and
 * stores it. Null when no tenant is known yet, or when Teams refuses because the app is not installed
 * for the person: that is audited once per person (it needs an admin or the person to act, and every
 * later DM would only repeat it); other failures are logged, and the DM falls back either way.
 */
async function openPersonalConversation(ctx: WorkflowContext, connector: TeamsConnector, personId: string, aadObjectId: string) {
  const endpoint = await findTenantEndpoint(ctx, ctx.config.teams.tenantId);
  if (!endpoint) return null;
  // The Teams user id is known when the person ever clicked or wrote anywhere; else Teams takes the object id.
  const [userId] = await findTeamsUserIds(ctx, [aadObjectId]);
  try {
    const reference = await connector.createPersonalConversation({ ...endpoint, memberId: userId ?? aadObjectId, aadObjectId });
    await rememberPersonalConversation(ctx, reference, endpoint.tenantId);
    return { conversationId: reference.conversation.id, reference };
  } catch (error) {
    if (!isPatchdeckError(error) || error.code !== 'PD_TEAMS_APP_NOT_INSTALLED') {
      ctx.logger.warn({ person: personId, err: (error as Error).message }, 'could not start a personal Teams chat; the message falls back');
      return null;
    }
    ctx.logger.warn({ person: personId }, error.message);
    await ctx.store.transaction(async (trx) => {
      const earlier = await trx
        .selectFrom('audit_events')
        .select('seq')
        .where('action', '=', NOT_INSTALLED_ACTION)
        .where('subject_type', '=', 'person')
        .where('subject_id', '=', personId)
        .executeTakeFirst();
      if (earlier) return;
      await recordChange(trx, ctx, {
        audit: [{ actor: 'patchdeck', action: NOT_INSTALLED_ACTION, subjectType: 'person', subjectId: personId, after: { aadObjectId, tenantId: endpoint.tenantId, message: error.message } }],
      });
    });
    return null;
  }
}

/** Reboot notices and other direct messages as Adaptive Cards in the person's personal chat with the bot. */
export function createTeamsDirectNotifier(deps: { ctx: WorkflowContext; connector: TeamsConnector }): DirectNotifier {
  const { ctx, connector } = deps;
  return {
    platform: 'teams',
    async postDirect(person, message: ChatMessage) {
      if (person.teams === undefined) return null;
      const target = (await findPersonalConversation(ctx, person.teams)) ?? (await openPersonalConversation(ctx, connector, person.id, person.teams));
      if (!target) {
        ctx.logger.warn({ person: person.id }, 'no personal Teams chat is known or could be started for this person: the Patchdeck app must be installed for them');
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
