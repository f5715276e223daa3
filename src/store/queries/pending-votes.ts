import type { VoteDecision, VoteStage } from '../../core/types.js';
import type { Executor } from '../db.js';

/** A chat vote of a case still waiting for its voter to sign in again on the web. */
export interface WaitingVoteView {
  stage: VoteStage;
  person: string;
  decision: VoteDecision;
  via: string;
  comment: string | null;
  createdAt: string;
  expiresAt: string;
}

/**
 * The case's `pending_reauth` votes whose confirmation link still works at `now`, oldest first.
 * Confirmed, voided and expired ones are history (the audit log has them), so they are left out.
 */
export async function listWaitingVotes(db: Executor, caseId: number, now: Date): Promise<WaitingVoteView[]> {
  const rows = await db
    .selectFrom('pending_votes')
    .select(['stage', 'person', 'decision', 'via', 'comment', 'created_at', 'expires_at'])
    .where('case_id', '=', caseId)
    .where('status', '=', 'pending_reauth')
    // Both sides are toISOString() text, so text order is time order.
    .where('expires_at', '>', now.toISOString())
    .orderBy('id', 'asc')
    .execute();
  return rows.map((r) => ({
    stage: r.stage as VoteStage,
    person: r.person,
    decision: r.decision as VoteDecision,
    via: r.via,
    comment: r.comment,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
  }));
}
