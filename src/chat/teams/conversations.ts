import { PatchdeckError } from '../../core/errors.js';
import { z } from 'zod';
import { toJson } from '../../store/json.js';
import { recordChange, type WorkflowContext } from '../../workflow/context.js';
import type { TeamsActivity, TeamsConversationReference } from './connector.js';

/** Teams names its default channel nowhere in the activity: its channel id is the team id. */
const DEFAULT_CHANNEL_NAME = 'General';

/** `#Patching`, `patching` and ` Patching ` name the same channel. */
export function normaliseChannelName(name: string): string {
  return name.trim().replace(/^#/, '').toLowerCase();
}

function channelNameOf(activity: TeamsActivity): string | null {
  const data = activity.channelData;
  if (data?.channel?.name) return data.channel.name;
  if (data?.channel && data.team && data.channel.id === data.team.id) return DEFAULT_CHANNEL_NAME;
  return activity.conversation?.name ?? null;
}

/**
 * Keeps the conversation reference of every conversation the bot hears from, so it can post there
 * later. The first time a conversation is stored is audited (the bot was added somewhere new); later
 * activities only refresh the reference (a service URL can move) and keep a known name.
 */
export async function rememberConversation(ctx: WorkflowContext, activity: TeamsActivity, reference: TeamsConversationReference): Promise<void> {
  const conversationId = reference.conversation.id;
  const now = ctx.clock.now().toISOString();
  const channelName = channelNameOf(activity);
  const teamName = activity.channelData?.team?.name ?? null;
  const tenantId = activity.channelData?.tenant?.id ?? activity.conversation?.tenantId ?? null;
  // The activity id is of this one message; a stored reference is for the whole conversation.
  const { activityId: _ignored, ...stored } = reference;
  await ctx.store.transaction(async (trx) => {
    const existing = await trx
      .selectFrom('teams_conversations')
      .select(['channel_name', 'team_name'])
      .where('conversation_id', '=', conversationId)
      .executeTakeFirst();
    const values = {
      channel_name: channelName ?? existing?.channel_name ?? null,
      team_name: teamName ?? existing?.team_name ?? null,
      tenant_id: tenantId,
      service_url: reference.serviceUrl,
      reference: toJson(stored),
      updated_at: now,
    };
    if (existing) {
      await trx.updateTable('teams_conversations').set(values).where('conversation_id', '=', conversationId).execute();
      return;
    }
    await trx.insertInto('teams_conversations').values({ conversation_id: conversationId, ...values }).execute();
    await recordChange(trx, ctx, {
      audit: [
        {
          actor: 'patchdeck',
          action: 'teams.conversation_added',
          subjectType: 'chat_endpoint',
          subjectId: 'teams',
          after: { conversationId, channelName: values.channel_name, teamName: values.team_name, tenantId },
        },
      ],
    });
  });
}

/**
 * Where a new 1:1 chat can be started: the service URL and tenant of the conversation most recently
 * heard from (Teams serves one tenant from one service URL), limited to `tenantId` when the bot is
 * single-tenant. Null until the bot has heard from anywhere in a tenant.
 */
export async function findTenantEndpoint(ctx: WorkflowContext, tenantId?: string): Promise<{ serviceUrl: string; tenantId: string } | null> {
  let query = ctx.store.db
    .selectFrom('teams_conversations')
    .select(['service_url', 'tenant_id'])
    .where('tenant_id', 'is not', null);
  if (tenantId !== undefined) query = query.where('tenant_id', '=', tenantId);
  const row = await query.orderBy('updated_at', 'desc').orderBy('conversation_id', 'asc').executeTakeFirst();
  return row?.service_url && row.tenant_id ? { serviceUrl: row.service_url, tenantId: row.tenant_id } : null;
}

/** Stores the reference of a 1:1 chat the bot started itself, as if the user had written in it (audited as a new conversation). */
export async function rememberPersonalConversation(ctx: WorkflowContext, reference: TeamsConversationReference, tenantId: string): Promise<void> {
  const activity: TeamsActivity = {
    type: 'conversationUpdate',
    conversation: { id: reference.conversation.id, conversationType: 'personal', tenantId },
    channelData: { tenant: { id: tenantId } },
  };
  await rememberConversation(ctx, activity, reference);
}

/** The bot was removed from a conversation: forget it, so nothing is posted there any more. */
export async function forgetConversation(ctx: WorkflowContext, conversationId: string): Promise<void> {
  await ctx.store.transaction(async (trx) => {
    const removed = await trx.deleteFrom('teams_conversations').where('conversation_id', '=', conversationId).executeTakeFirst();
    if (Number(removed.numDeletedRows) === 0) return;
    await recordChange(trx, ctx, {
      audit: [{ actor: 'patchdeck', action: 'teams.conversation_removed', subjectType: 'chat_endpoint', subjectId: 'teams', after: { conversationId } }],
    });
  });
}

/** Remembers which Teams user id (MRI) an Entra object id has, for card refresh lists. */
export async function rememberTeamsUser(ctx: WorkflowContext, aadObjectId: string, userId: string): Promise<void> {
  const now = ctx.clock.now().toISOString();
  await ctx.store.db
    .insertInto('teams_users')
    .values({ aad_object_id: aadObjectId, user_id: userId, updated_at: now })
    .onConflict((oc) => oc.column('aad_object_id').doUpdateSet({ user_id: userId, updated_at: now }))
    .execute();
}

export async function findTeamsUserIds(ctx: WorkflowContext, aadObjectIds: readonly string[]): Promise<string[]> {
  if (aadObjectIds.length === 0) return [];
  const rows = await ctx.store.db.selectFrom('teams_users').select('user_id').where('aad_object_id', 'in', [...aadObjectIds]).orderBy('aad_object_id').execute();
  return rows.map((row) => row.user_id);
}

const StoredReferenceSchema = z
  .object({
    conversation: z.object({ id: z.string() }).passthrough(),
    serviceUrl: z.string(),
    channelId: z.string(),
    bot: z.object({ id: z.string() }).passthrough(),
  })
  .passthrough();

function readReference(conversationId: string, text: string): TeamsConversationReference {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  const result = StoredReferenceSchema.safeParse(parsed);
  if (!result.success) {
    throw new PatchdeckError('PD_TEAMS_BAD_REFERENCE', `the stored reference of Teams conversation ${conversationId} is unreadable: mention the bot in that conversation once to store it again`);
  }
  return result.data as TeamsConversationReference;
}

export interface StoredConversation {
  conversationId: string;
  reference: TeamsConversationReference;
}

export async function getConversation(ctx: WorkflowContext, conversationId: string): Promise<StoredConversation | null> {
  const row = await ctx.store.db.selectFrom('teams_conversations').select(['conversation_id', 'reference']).where('conversation_id', '=', conversationId).executeTakeFirst();
  return row ? { conversationId: row.conversation_id, reference: readReference(row.conversation_id, row.reference) } : null;
}

/**
 * Where a message for a routing channel (`#patching`) goes in Teams: the conversation configured in
 * `teams.channels`, else the conversation most recently heard from whose channel has that name.
 */
export async function resolveConversation(ctx: WorkflowContext, channel: string): Promise<StoredConversation> {
  const configured = Object.entries(ctx.config.teams.channels).find(([name]) => normaliseChannelName(name) === normaliseChannelName(channel))?.[1];
  if (configured !== undefined) {
    const stored = await getConversation(ctx, configured);
    if (stored) return stored;
    throw new PatchdeckError(
      'PD_TEAMS_NO_CONVERSATION',
      `teams.channels maps ${channel} to conversation ${configured}, but the bot has not heard from it yet: add the Patchdeck app to that channel (or mention it there once)`,
    );
  }
  const wanted = normaliseChannelName(channel);
  const rows = await ctx.store.db
    .selectFrom('teams_conversations')
    .select(['conversation_id', 'channel_name', 'reference'])
    .where('channel_name', 'is not', null)
    .orderBy('updated_at', 'desc')
    .orderBy('conversation_id', 'asc')
    .execute();
  const match = rows.find((row) => normaliseChannelName(row.channel_name ?? '') === wanted);
  if (match) return { conversationId: match.conversation_id, reference: readReference(match.conversation_id, match.reference) };
  throw new PatchdeckError(
    'PD_TEAMS_NO_CONVERSATION',
    `no Teams conversation is known for ${channel}: add the Patchdeck app to a channel named "${wanted}", or map it in teams.channels`,
  );
}
