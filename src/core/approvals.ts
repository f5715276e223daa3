import { findPersonById, isInGroup, type PersonRecord } from './people.js';
import type { CaseState, RolloutState, VoteDecision, VoteStage } from './types.js';

/**
 * The approval policy, as pure rules over the current state. The workflow loads the case, its rollout
 * and its votes, asks `evaluateVote`, and writes only what the answer allows.
 */
export interface ApprovalPolicy {
  /** People in this group may approve and sign off. */
  approversGroup: string;
  /** Approvals needed to approve a case. A single reject by an eligible approver rejects. */
  quorum: number;
}

/** Pilot sign-off is one decision by one approver (who did not start the rollout). */
export const SIGNOFF_QUORUM = 1;

export const VOTE_STAGES: readonly VoteStage[] = ['approval', 'pilot_signoff'];

export interface ExistingVote {
  person: string;
  decision: VoteDecision;
  comment: string | null;
}

export interface VoteSubject {
  caseState: CaseState;
  /** Who asked for the change (cases.requested_by): never an approver of their own request. */
  requestedBy: string;
  /** The case's latest rollout, if any. */
  rollout: { state: RolloutState; startedBy: string } | null;
}

export interface ProposedVote {
  stage: string;
  personId: string;
  decision: VoteDecision;
  comment?: string | null | undefined;
}

export type VoteRefusalCode =
  | 'PD_VOTE_UNKNOWN_PERSON'
  | 'PD_VOTE_NOT_APPROVER'
  | 'PD_VOTE_OWN_REQUEST'
  | 'PD_VOTE_OWN_ROLLOUT'
  | 'PD_VOTE_WRONG_STAGE'
  | 'PD_VOTE_NOT_AWAITING'
  | 'PD_VOTE_SEALED'
  | 'PD_VOTE_BAD_DECISION';

export interface VoteRefusal {
  allowed: false;
  code: VoteRefusalCode;
  reason: string;
}

export type StageOutcome = 'pending' | 'approved' | 'rejected';

export interface VoteTally {
  approvals: string[];
  rejections: string[];
  needed: number;
  outcome: StageOutcome;
}

export type VoteEvaluation =
  | VoteRefusal
  /** The same person already cast exactly this vote: record nothing, answer as before (double clicks, retries). */
  | { allowed: true; duplicate: true; tally: VoteTally }
  /** Record the vote; `tally` counts it, `sealed` says whether it decides the stage. */
  | { allowed: true; duplicate: false; replaces: ExistingVote | null; tally: VoteTally; sealed: boolean };

export interface EvaluateVoteInput {
  policy: ApprovalPolicy;
  people: readonly PersonRecord[];
  subject: VoteSubject;
  /** Votes already recorded for this case at `vote.stage`. */
  votes: readonly ExistingVote[];
  vote: ProposedVote;
}

const STAGE_LABEL: Record<VoteStage, string> = { approval: 'approval', pilot_signoff: 'pilot sign-off' };

const CASE_STATES_AFTER_APPROVAL: ReadonlySet<CaseState> = new Set([
  'approved',
  'rejected',
  'testing',
  'piloting',
  'pilot_signed_off',
  'deploying',
  'verifying',
  'completed',
  'halted',
  'rolled_back',
  'reviewed',
]);

/** Which decision a case is waiting for right now, if any. */
export function awaitedStage(subject: VoteSubject): VoteStage | null {
  if (subject.caseState === 'awaiting_approval') return 'approval';
  if (subject.caseState === 'piloting' && subject.rollout?.state === 'awaiting_signoff') return 'pilot_signoff';
  return null;
}

/** True when the decision at `stage` was already taken and can no longer change. */
export function isStageSealed(stage: VoteStage, subject: VoteSubject, votes: readonly ExistingVote[], eligible: (personId: string) => boolean, policy: ApprovalPolicy): boolean {
  if (stage === 'approval') return CASE_STATES_AFTER_APPROVAL.has(subject.caseState);
  if (subject.rollout === null) return false;
  if (subject.rollout.state === 'deploying' || subject.rollout.state === 'completed') return true;
  // A rollout halted by a sign-off reject is sealed; one halted by failures never reached sign-off.
  return subject.rollout.state === 'halted' && tallyVotes('pilot_signoff', votes, eligible, policy).outcome !== 'pending';
}

/** Counts the votes of people who are (still) eligible; the rest are ignored. */
export function tallyVotes(
  stage: VoteStage,
  votes: readonly ExistingVote[],
  eligible: (personId: string) => boolean,
  policy: ApprovalPolicy,
): VoteTally {
  const counted = votes.filter((v) => eligible(v.person));
  const approvals = counted.filter((v) => v.decision === 'approve').map((v) => v.person).sort();
  const rejections = counted.filter((v) => v.decision === 'reject').map((v) => v.person).sort();
  const needed = stage === 'approval' ? policy.quorum : SIGNOFF_QUORUM;
  const outcome: StageOutcome = rejections.length > 0 ? 'rejected' : approvals.length >= needed ? 'approved' : 'pending';
  return { approvals, rejections, needed, outcome };
}

/** Who may vote at `stage` on this subject; `null` when allowed, or the refusal. */
export function eligibilityRefusal(
  stage: VoteStage,
  personId: string,
  people: readonly PersonRecord[],
  subject: VoteSubject,
  policy: ApprovalPolicy,
): VoteRefusal | null {
  const person = findPersonById(people, personId);
  if (person === null) {
    return refuse('PD_VOTE_UNKNOWN_PERSON', `"${personId}" is not a person Patchdeck knows; add them to "people" in the config (with their chat id) first`);
  }
  if (!isInGroup(person, policy.approversGroup)) {
    return refuse('PD_VOTE_NOT_APPROVER', `${person.name} is not in the "${policy.approversGroup}" group, so cannot vote on ${STAGE_LABEL[stage]}`);
  }
  if (stage === 'approval' && person.id === subject.requestedBy) {
    return refuse('PD_VOTE_OWN_REQUEST', `${person.name} requested this change and cannot approve or reject it; another approver must decide`);
  }
  if (stage === 'pilot_signoff' && subject.rollout !== null && person.id === subject.rollout.startedBy) {
    return refuse('PD_VOTE_OWN_ROLLOUT', `${person.name} started this rollout and cannot sign off its pilot; another approver must check the pilot`);
  }
  return null;
}

export function evaluateVote(input: EvaluateVoteInput): VoteEvaluation {
  const { policy, people, subject, votes, vote } = input;
  if (!(VOTE_STAGES as readonly string[]).includes(vote.stage)) {
    return refuse('PD_VOTE_WRONG_STAGE', `"${vote.stage}" is not a decision stage (use approval or pilot_signoff)`);
  }
  if (vote.decision !== 'approve' && vote.decision !== 'reject') {
    return refuse('PD_VOTE_BAD_DECISION', `"${String(vote.decision)}" is not a decision (use approve or reject)`);
  }
  const stage = vote.stage as VoteStage;
  const ineligible = eligibilityRefusal(stage, vote.personId, people, subject, policy);
  if (ineligible) return ineligible;

  const eligible = (personId: string) => eligibilityRefusal(stage, personId, people, subject, policy) === null;
  const comment = vote.comment ?? null;
  const previous = votes.find((v) => v.person === vote.personId) ?? null;
  if (previous !== null && previous.decision === vote.decision && previous.comment === comment) {
    return { allowed: true, duplicate: true, tally: tallyVotes(stage, votes, eligible, policy) };
  }
  if (isStageSealed(stage, subject, votes, eligible, policy)) {
    return refuse('PD_VOTE_SEALED', `the ${STAGE_LABEL[stage]} decision on this case is already sealed (case is ${subject.caseState.replace(/_/g, ' ')}); votes can no longer change`);
  }
  const awaited = awaitedStage(subject);
  if (awaited === null) {
    return refuse('PD_VOTE_NOT_AWAITING', `this case (${subject.caseState.replace(/_/g, ' ')}) is not waiting for a decision${subject.rollout?.state === 'piloting' ? ': the pilot is still running' : ''}`);
  }
  if (awaited !== stage) {
    return refuse('PD_VOTE_WRONG_STAGE', `this case is waiting for ${STAGE_LABEL[awaited]}, not ${STAGE_LABEL[stage]}`);
  }
  const next: ExistingVote[] = votes.filter((v) => v.person !== vote.personId);
  next.push({ person: vote.personId, decision: vote.decision, comment });
  const tally = tallyVotes(stage, next, eligible, policy);
  return { allowed: true, duplicate: false, replaces: previous, tally, sealed: tally.outcome !== 'pending' };
}

function refuse(code: VoteRefusalCode, reason: string): VoteRefusal {
  return { allowed: false, code, reason };
}
