import type { Request, Response } from 'express';
import { z } from 'zod';

/**
 * The seam between Patchdeck's Teams face and a Bot Framework SDK. Everything the face and the
 * notifier need from an SDK is here, in Patchdeck's own types: authenticating an inbound activity,
 * answering it, and sending or updating a message in a stored conversation. `botbuilder` implements it
 * today (botbuilder-connector.ts); its successor, `@microsoft/agents-hosting`, would implement it in
 * one new file without touching the face, the notifier or the workflow (see docs/teams.md).
 */

/** The parts of an inbound activity Patchdeck reads; everything else is kept but not trusted. */
export const TeamsActivitySchema = z
  .object({
    type: z.string(),
    id: z.string().optional(),
    name: z.string().optional(),
    action: z.string().optional(),
    channelId: z.string().optional(),
    serviceUrl: z.string().optional(),
    text: z.string().optional(),
    from: z.object({ id: z.string(), name: z.string().optional(), aadObjectId: z.string().optional() }).passthrough().optional(),
    recipient: z.object({ id: z.string(), name: z.string().optional() }).passthrough().optional(),
    conversation: z
      .object({ id: z.string(), name: z.string().optional(), conversationType: z.string().optional(), tenantId: z.string().optional() })
      .passthrough()
      .optional(),
    channelData: z
      .object({
        tenant: z.object({ id: z.string() }).passthrough().optional(),
        team: z.object({ id: z.string(), name: z.string().optional() }).passthrough().optional(),
        channel: z.object({ id: z.string(), name: z.string().optional() }).passthrough().optional(),
        eventType: z.string().optional(),
      })
      .passthrough()
      .optional(),
    value: z.unknown().optional(),
  })
  .passthrough();

export type TeamsActivity = z.infer<typeof TeamsActivitySchema>;

/** What is needed to write into a conversation later (a Bot Framework ConversationReference, as JSON). */
export interface TeamsConversationReference {
  conversation: { id: string; [key: string]: unknown };
  serviceUrl: string;
  channelId: string;
  bot: { id: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface TeamsCardAttachment {
  contentType: 'application/vnd.microsoft.card.adaptive';
  content: Record<string, unknown>;
}

/** A message the bot sends: a card with a plain-text summary for notifications. */
export interface TeamsOutgoingMessage {
  summary: string;
  attachments: TeamsCardAttachment[];
}

/** An inbound activity that passed authentication. */
export interface TeamsTurn {
  activity: TeamsActivity;
  reference: TeamsConversationReference;
  /** Sends a plain-text reply into the activity's conversation. */
  reply(text: string): Promise<void>;
}

/** The HTTP answer to an `invoke` activity; other activities are answered 200 with no body. */
export interface TeamsInvokeAnswer {
  status: number;
  body?: unknown;
}

export interface TeamsRequestHooks {
  /** Runs for an authenticated activity; its answer is the HTTP answer. */
  onTurn(turn: TeamsTurn): Promise<TeamsInvokeAnswer | null>;
  /** Runs before a 401 answer; `reason` is machine-readable, e.g. `bad_signature`, `wrong_audience`. */
  onRejected(reason: string): Promise<void>;
}

/** Where in a conversation a message goes. */
export interface TeamsSendOptions {
  /**
   * The activity id of a channel post: the message goes into that post's reply chain (conversation id
   * `<channel conversation id>;messageid=<root id>`) instead of starting a new post.
   */
  replyToId?: string;
}

const THREAD_SUFFIX = /;messageid=[^;]*$/;

/**
 * The conversation id of a channel post's reply chain, as Teams routes replies: `;messageid=<root>`
 * appended to the channel's conversation id (any earlier suffix replaced, so a reply to a reply stays in the chain).
 */
export function threadedConversationId(conversationId: string, rootActivityId: string): string {
  return `${conversationId.replace(THREAD_SUFFIX, '')};messageid=${rootActivityId}`;
}

/** Splits `<conversation id>;messageid=<root>` back into the conversation and the root; root null when not threaded. */
export function splitThreadedConversationId(id: string): { conversationId: string; rootActivityId: string | null } {
  const match = /^(.*);messageid=([^;]+)$/.exec(id);
  return match ? { conversationId: match[1]!, rootActivityId: match[2]! } : { conversationId: id, rootActivityId: null };
}

/** Only channel posts have reply chains; in chats a reply would be refused, so it is posted in the chat. */
export function supportsReplyChains(reference: TeamsConversationReference): boolean {
  return reference.conversation.conversationType === 'channel';
}

export interface TeamsConnector {
  /** Handles one POST of the messaging endpoint (its JSON body already parsed). */
  handle(req: Request, res: Response, hooks: TeamsRequestHooks): Promise<void>;
  /** Posts a new message into a stored conversation (or a post's reply chain there); answers the new activity id. */
  send(reference: TeamsConversationReference, message: TeamsOutgoingMessage, options?: TeamsSendOptions): Promise<{ id: string }>;
  /** Replaces a message the bot posted earlier; `replyToId` as it was posted. */
  update(reference: TeamsConversationReference, activityId: string, message: TeamsOutgoingMessage, options?: TeamsSendOptions): Promise<void>;
  /**
   * Starts (or finds: Teams answers the same id again) the bot's 1:1 chat with a user and answers its
   * reference. Throws PD_TEAMS_APP_NOT_INSTALLED when Teams refuses because the app is not installed for the user.
   */
  createPersonalConversation(target: TeamsPersonalTarget): Promise<TeamsConversationReference>;
}

/** Who a 1:1 chat is started with, and where: the service URL and tenant come from a stored reference of that tenant. */
export interface TeamsPersonalTarget {
  serviceUrl: string;
  tenantId: string;
  /** The user's Teams id (`29:…`) when known, else their Entra object id (Teams accepts both as a member id). */
  memberId: string;
  aadObjectId: string;
}
