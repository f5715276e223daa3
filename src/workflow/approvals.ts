import { eligibilityRefusal, evaluateVote, type ApprovalPolicy, type ExistingVote, type VoteSubject } from '../core/approvals.js';
import { findPersonById } from '../core/people.js';
import type { CaseState, Channel, RolloutState, VoteDecision, VoteStage } from '../core/types.js';
import type { Executor } from '../store/db.js';
import { lockCase, moveCase } from './case-transitions.js';
import { recordChange, type WorkflowContext } from './context.js';
import { JOB_KINDS } from './jobs.js';

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

type Refusal = Extract<CastVoteResult, { status: 'refused' }>;

const MAX_COMMENT = 2000;

function policyOf(ctx: WorkflowContext): ApprovalPolicy {
  return { approversGroup: ctx.config.approvals.approversGroup, quorum: ctx.config.approvals.quorum };
}

async function loadSubject(trx: Executor, caseRow: { id: number; state: string; requested_by: string }): Promise<{ subject: VoteSubject; rolloutId: number | null }> {
  const rollout = await trx
    .selectFrom('rollouts')
    .select(['id', 'state', 'started_by'])
    .where('case_id', '=', caseRow.id)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return {
    subject: {
      caseState: caseRow.state as CaseState,
      requestedBy: caseRow.requested_by,
      rollout: rollout ? { state: rollout.state as RolloutState, startedBy: rollout.started_by } : null,
    },
    rolloutId: rollout ? Number(rollout.id) : null,
  };
}

/** Records the refusal in its own transaction: the attempt is evidence even though nothing changed. */
async function auditRefusal(ctx: WorkflowContext, attempt: { caseId: number; personId: string; action: 'vote.refused' | 'defer.refused'; what: Record<string, unknown> }, refusal: Refusal): Promise<Refusal> {
  await ctx.store.transaction((trx) =>
    recordChange(trx, ctx, {
      audit: [
        {
          actor: attempt.personId,
          action: attempt.action,
          subjectType: 'case',
          subjectId: attempt.caseId,
          after: { ...attempt.what, code: refusal.code, reason: refusal.reason },
        },
      ],
    }),
  );
  ctx.logger.info({ caseId: attempt.caseId, person: attempt.personId, code: refusal.code }, attempt.action);
  return refusal;
}

/**
 * Records a vote under the server-side approval policy. Refusals are audited, never thrown.
 * In one transaction: policy check against the current rows, the vote (one per person and stage;
 * the same vote again records nothing), its audit event, and — when the vote seals the decision —
 * the case's state change and the jobs it causes (message updates, rollout start or resume).
 */
export async function castVote(ctx: WorkflowContext, input: CastVoteInput): Promise<CastVoteResult> {
  const comment = input.comment?.trim() ? input.comment.trim().slice(0, MAX_COMMENT) : null;
  const result = await ctx.store.transaction(async (trx): Promise<CastVoteResult> => {
    const caseRow = await lockCase(trx, ctx, input.caseId);
    if (!caseRow) return { status: 'refused', code: 'PD_VOTE_NO_CASE', reason: `there is no case ${input.caseId}` };
    const caseId = Number(caseRow.id);
    const { subject, rolloutId } = await loadSubject(trx, { id: caseId, state: caseRow.state, requested_by: caseRow.requested_by });
    const voteRows = await trx
      .selectFrom('votes')
      .select(['id', 'person', 'decision', 'comment'])
      .where('case_id', '=', caseId)
      .where('stage', '=', input.stage)
      .execute();
    const votes: ExistingVote[] = voteRows.map((v) => ({ person: v.person, decision: v.decision as VoteDecision, comment: v.comment }));
    const evaluation = evaluateVote({
      policy: policyOf(ctx),
      people: ctx.config.people,
      subject,
      votes,
      vote: { stage: input.stage, personId: input.personId, decision: input.decision, comment },
    });
    if (!evaluation.allowed) return { status: 'refused', code: evaluation.code, reason: evaluation.reason };
    const stageOutcome = evaluation.tally.outcome;
    const outcome = input.stage === 'pilot_signoff' && stageOutcome === 'approved' ? 'signed_off' : stageOutcome;
    if (evaluation.duplicate) return { status: 'recorded', outcome, caseState: caseRow.state as CaseState };

    const now = ctx.clock.now().toISOString();
    const previous = voteRows.find((v) => v.person === input.personId);
    if (previous) {
      await trx.updateTable('votes').set({ decision: input.decision, via: input.via, comment, at: now }).where('id', '=', previous.id).execute();
    } else {
      await trx
        .insertInto('votes')
        .values({ case_id: caseId, stage: input.stage, person: input.personId, decision: input.decision, via: input.via, comment, at: now })
        .execute();
    }
    const purpose = input.stage === 'approval' ? 'alert' : 'signoff';
    await recordChange(trx, ctx, {
      audit: [
        {
          actor: input.personId,
          action: 'vote.cast',
          subjectType: 'case',
          subjectId: caseId,
          before: evaluation.replaces ? { stage: input.stage, ...evaluation.replaces } : null,
          after: { stage: input.stage, person: input.personId, decision: input.decision, via: input.via, comment },
        },
      ],
      jobs: [{ kind: JOB_KINDS.chatUpdate, payload: { caseId, purpose } }],
    });

    let caseState = caseRow.state as CaseState;
    if (evaluation.sealed && input.stage === 'approval') {
      caseState = stageOutcome === 'approved' ? 'approved' : 'rejected';
      await moveCase(trx, ctx, { caseId, from: subject.caseState, to: caseState, actor: input.personId, set: { decided_at: now } });
      if (caseState === 'approved') {
        await recordChange(trx, ctx, {
          audit: [],
          jobs: [{ kind: JOB_KINDS.rolloutStart, payload: { caseId, startedBy: input.personId }, uniqueKey: `case:${caseId}:rollout.start` }],
        });
      }
    } else if (evaluation.sealed && input.stage === 'pilot_signoff' && rolloutId !== null) {
      caseState = await sealSignoff(trx, ctx, { caseId, rolloutId, caseState: subject.caseState, personId: input.personId, approved: stageOutcome === 'approved', comment });
    }
    return { status: 'recorded', outcome, caseState };
  });
  if (result.status === 'refused') {
    const what = { stage: input.stage, decision: input.decision, via: input.via };
    return auditRefusal(ctx, { caseId: input.caseId, personId: input.personId, action: 'vote.refused', what }, result);
  }
  return result;
}

async function sealSignoff(
  trx: Executor,
  ctx: WorkflowContext,
  args: { caseId: number; rolloutId: number; caseState: CaseState; personId: string; approved: boolean; comment: string | null },
): Promise<CaseState> {
  const now = ctx.clock.now().toISOString();
  const person = findPersonById(ctx.config.people, args.personId);
  const nextRollout: RolloutState = args.approved ? 'deploying' : 'halted';
  const haltedReason = args.approved ? null : `pilot sign-off rejected by ${person?.name ?? args.personId}${args.comment ? `: ${args.comment}` : ''}`;
  await trx
    .updateTable('rollouts')
    .set({ state: nextRollout, updated_at: now, ...(haltedReason ? { halted_reason: haltedReason } : {}) })
    .where('id', '=', args.rolloutId)
    .execute();
  await recordChange(trx, ctx, {
    audit: [
      {
        actor: args.personId,
        action: 'rollout.state_changed',
        subjectType: 'rollout',
        subjectId: args.rolloutId,
        before: { state: 'awaiting_signoff' },
        after: { state: nextRollout, ...(haltedReason ? { haltedReason } : {}) },
      },
    ],
    jobs: args.approved ? [{ kind: JOB_KINDS.rolloutResume, payload: { rolloutId: args.rolloutId }, uniqueKey: `rollout:${args.rolloutId}:resume` }] : [],
  });
  if (args.approved) {
    await moveCase(trx, ctx, { caseId: args.caseId, from: args.caseState, via: ['pilot_signed_off'], to: 'deploying', actor: args.personId });
    return 'deploying';
  }
  await moveCase(trx, ctx, { caseId: args.caseId, from: args.caseState, to: 'halted', actor: args.personId, reason: haltedReason ?? undefined });
  return 'halted';
}

export type DeferCaseResult = { status: 'deferred'; caseState: CaseState } | Refusal;

/**
 * Parks a case awaiting approval ("not now"): an approver's call, audited with the reason.
 * The case returns to awaiting_approval when someone re-opens it.
 */
export async function deferCase(ctx: WorkflowContext, input: { caseId: number; personId: string; reason: string; via: Channel }): Promise<DeferCaseResult> {
  const reason = input.reason.trim().slice(0, MAX_COMMENT);
  const result = await ctx.store.transaction(async (trx): Promise<DeferCaseResult> => {
    const caseRow = await lockCase(trx, ctx, input.caseId);
    if (!caseRow) return { status: 'refused', code: 'PD_VOTE_NO_CASE', reason: `there is no case ${input.caseId}` };
    const { subject } = await loadSubject(trx, { id: Number(caseRow.id), state: caseRow.state, requested_by: caseRow.requested_by });
    const refusal = eligibilityRefusal('approval', input.personId, ctx.config.people, subject, policyOf(ctx));
    if (refusal) return { status: 'refused', code: refusal.code, reason: refusal.reason };
    if (reason === '') return { status: 'refused', code: 'PD_DEFER_NO_REASON', reason: 'say why the case is deferred (a reason is required)' };
    if (subject.caseState !== 'awaiting_approval') {
      return { status: 'refused', code: 'PD_VOTE_NOT_AWAITING', reason: `only a case awaiting approval can be deferred (this one is ${subject.caseState.replace(/_/g, ' ')})` };
    }
    await moveCase(trx, ctx, { caseId: Number(caseRow.id), from: 'awaiting_approval', to: 'deferred', actor: input.personId, reason });
    await recordChange(trx, ctx, { audit: [], jobs: [{ kind: JOB_KINDS.chatUpdate, payload: { caseId: Number(caseRow.id), purpose: 'alert' } }] });
    return { status: 'deferred', caseState: 'deferred' };
  });
  if (result.status === 'refused') {
    return auditRefusal(ctx, { caseId: input.caseId, personId: input.personId, action: 'defer.refused', what: { via: input.via, reason } }, result);
  }
  return result;
}
