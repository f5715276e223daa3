import type { CaseState, Channel, VoteDecision, VoteStage } from '../core/types.js';
import type { WorkflowContext } from './context.js';

export interface CastVoteInput {
  caseId: number;
  stage: VoteStage;
  /** Patchdeck person id (config `people[].id`), resolved by the face from the chat user. */
  personId: string;
  decision: VoteDecision;
  via: Channel;
  comment?: string;
}

export type CastVoteResult =
  | { status: 'recorded'; outcome: 'pending' | 'approved' | 'rejected' | 'signed_off'; caseState: CaseState }
  | { status: 'refused'; code: string; reason: string };

/** Records a vote under the server-side approval policy. Refusals are audited, never thrown. */
export async function castVote(ctx: WorkflowContext, input: CastVoteInput): Promise<CastVoteResult> {
  void ctx;
  void input;
  throw new Error('castVote: not implemented yet');
}
