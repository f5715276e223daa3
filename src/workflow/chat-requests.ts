import { recordChange, type WorkflowContext } from './context.js';

/** A request to a chat endpoint that failed authentication (bad or missing signature, stale time). */
export interface RejectedChatRequest {
  platform: 'slack' | 'teams';
  /** Machine-readable: `missing_signature`, `bad_timestamp`, `stale_timestamp`, `future_timestamp`, `bad_signature`. */
  reason: string;
  remoteAddress: string | null;
  path: string;
}

/** Audits a rejected inbound chat request as `<platform>.request_rejected`, by `anonymous`. */
export async function recordRejectedChatRequest(ctx: WorkflowContext, request: RejectedChatRequest): Promise<void> {
  await ctx.store.transaction((trx) =>
    recordChange(trx, ctx, {
      audit: [
        {
          actor: 'anonymous',
          action: `${request.platform}.request_rejected`,
          subjectType: 'chat_endpoint',
          subjectId: request.platform,
          after: { reason: request.reason, remoteAddress: request.remoteAddress, path: request.path },
        },
      ],
    }),
  );
}

/**
 * A signed button click the face refused before it reached the approval service: an action id that
 * disagrees with its value, or a value Patchdeck never wrote. Signed means it came through the chat
 * platform, so a forged value is worth an audit record naming the clicking user.
 */
export interface RefusedChatAction {
  platform: 'slack' | 'teams';
  /** Patchdeck person id, or `slack:<user id>` for someone not in the people list. */
  actor: string;
  reason: string;
  actionId: string;
  value: string | null;
  caseId: number | null;
}

/** Audits a refused click as `<platform>.action_refused`. */
export async function recordRefusedChatAction(ctx: WorkflowContext, refusal: RefusedChatAction): Promise<void> {
  await ctx.store.transaction((trx) =>
    recordChange(trx, ctx, {
      audit: [
        {
          actor: refusal.actor,
          action: `${refusal.platform}.action_refused`,
          subjectType: refusal.caseId === null ? 'chat_endpoint' : 'case',
          subjectId: refusal.caseId ?? refusal.platform,
          after: { reason: refusal.reason, actionId: refusal.actionId, value: refusal.value },
        },
      ],
    }),
  );
}
