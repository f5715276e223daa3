import type { Executor } from '../store/db.js';
import type { WorkflowContext } from './context.js';

/** Slack gives up redelivering an event after about an hour; a day of receipts is plenty. */
const RECEIPT_KEPT_MS = 24 * 60 * 60 * 1000;

/**
 * Claims a delivered chat event id: true the first time, false for a redelivery of the same event.
 * Receipts are bookkeeping, not a change of Patchdeck's state, so they are not audited; old ones are
 * pruned in the same transaction.
 */
export async function claimChatEvent(ctx: WorkflowContext, event: ChatEvent): Promise<boolean> {
  return ctx.store.transaction((trx) => claimChatEventIn(trx, ctx, event));
}

type ChatEvent = { platform: 'slack' | 'teams'; eventId: string };

/** The same inside the caller's transaction (a vote claims its click in the vote's own transaction). */
export async function claimChatEventIn(trx: Executor, ctx: WorkflowContext, event: ChatEvent): Promise<boolean> {
  const now = ctx.clock.now();
  const inserted = await trx
    .insertInto('chat_event_receipts')
    .values({ platform: event.platform, event_id: event.eventId.slice(0, 200), received_at: now.toISOString() })
    .onConflict((oc) => oc.columns(['platform', 'event_id']).doNothing())
    .executeTakeFirst();
  await trx
    .deleteFrom('chat_event_receipts')
    .where('received_at', '<', new Date(now.getTime() - RECEIPT_KEPT_MS).toISOString())
    .execute();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0;
}
