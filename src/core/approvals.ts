import { createHash } from 'node:crypto';
import { findPersonById, isInGroup, type PersonRecord } from './people.js';
import type { CaseState, RolloutState, Severity, VoteDecision, VoteStage } from './types.js';

/**
 * The approval policy, as pure rules over the current state. The workflow loads the case, its rollout
 * and its (non-void) votes, picks the rule with `selectApprovalRule`, asks `evaluateVote`, and writes
 * only what the answer allows. Votes are per person, so a person voting from Slack, Teams and the web
 * counts once, and a quorum can be reached across all of them.
 */
export interface ApprovalPolicy {
  /** People in this group may approve and sign off. */
  approversGroup: string;
  /** Approvals needed to approve a case. */
  quorum: number;
  /** A reject from a member of this group rejects whatever the approvals (a veto). Members outside approversGroup may only reject. */
  vetoGroup?: string | undefined;
  /** Rejects from ordinary approvers that reject the case (default 1: one reject decides). */
  rejectsNeeded?: number | undefined;
  /** A reject must say why. */
  requireRejectReason?: boolean | undefined;
  /** Person ids who run rollouts: separation of duties keeps them from approving. */
  deployers?: readonly string[] | undefined;
}

/** One `approvals.rules` entry: what it matches and what it changes; fields left out come from the defaults. */
export interface ApprovalRuleSpec {
  name?: string | undefined;
  severity?: readonly Severity[] | undefined;
  group?: string | undefined;
  quorum?: number | undefined;
  approversGroup?: string | undefined;
  vetoGroup?: string | undefined;
  rejectsNeeded?: number | undefined;
  requireRejectReason?: boolean | undefined;
  ttl?: string | undefined;
  escalateTo?: string | undefined;
  requireReauth?: boolean | undefined;
}

/** The `approvals` settings: defaults, separation of duties and the rules. */
export interface ApprovalSettings extends ApprovalPolicy {
  ttl?: string | undefined;
  escalateTo?: string | undefined;
  rules?: readonly ApprovalRuleSpec[] | undefined;
}

/** The rule that governs one case's approval, with every field resolved. */
export interface AppliedApprovalRule {
  /** Index in `approvals.rules`, or null for the defaults. */
  index: number | null;
  label: string;
  policy: ApprovalPolicy & { rejectsNeeded: number; requireRejectReason: boolean; deployers: readonly string[] };
  ttl: string | null;
  escalateTo: string | null;
  requireReauth: boolean;
}

/** What a rule is matched against: the case's severity and the groups of its affected hosts. */
export interface RuleSubject {
  severity: Severity;
  hostGroups: readonly string[];
}

/** First rule whose severity list and host group both match wins; no match means the defaults. */
export function selectApprovalRule(settings: ApprovalSettings, subject: RuleSubject): AppliedApprovalRule {
  const rules = settings.rules ?? [];
  const index = rules.findIndex(
    (r) => (r.severity === undefined || r.severity.includes(subject.severity)) && (r.group === undefined || subject.hostGroups.includes(r.group)),
  );
  const rule: ApprovalRuleSpec = index >= 0 ? rules[index]! : {};
  return {
    index: index >= 0 ? index : null,
    label: index >= 0 ? `rule ${index + 1}${rule.name ? ` (${rule.name})` : ''}` : 'default rule',
    policy: {
      approversGroup: rule.approversGroup ?? settings.approversGroup,
      quorum: rule.quorum ?? settings.quorum,
      vetoGroup: rule.vetoGroup ?? settings.vetoGroup,
      rejectsNeeded: rule.rejectsNeeded ?? settings.rejectsNeeded ?? 1,
      requireRejectReason: rule.requireRejectReason ?? settings.requireRejectReason ?? false,
      deployers: settings.deployers ?? [],
    },
    ttl: rule.ttl ?? settings.ttl ?? null,
    escalateTo: rule.escalateTo ?? settings.escalateTo ?? null,
    requireReauth: rule.requireReauth ?? false,
  };
}

/** One line a person can read: who decides, how many, and what happens when nobody does. */
export function describeApprovalRule(rule: AppliedApprovalRule): string {
  const p = rule.policy;
  const parts = [`${p.quorum} approval${p.quorum === 1 ? '' : 's'} from "${p.approversGroup}"`];
  parts.push(p.rejectsNeeded === 1 ? 'one reject rejects' : `${p.rejectsNeeded} rejects reject`);
  if (p.vetoGroup) parts.push(`"${p.vetoGroup}" can veto`);
  if (p.requireRejectReason) parts.push('a reject needs a reason');
  if (rule.ttl) parts.push(`expires after ${rule.ttl}${rule.escalateTo ? ` and escalates to ${rule.escalateTo}` : ' and escalates'}`);
  if (rule.requireReauth) parts.push('chat votes must be confirmed on the web');
  return `${rule.label}: ${parts.join('; ')}`;
}

/** One change the approval is about: a host, a package on it and the version that fixes it. */
export interface ApprovalPlanTarget {
  host: string;
  ecosystem: string;
  package: string;
  fixed: string | null;
}

/**
 * The fingerprint an approval is bound to: which case and advisory, which hosts, which packages and
 * fixed versions. Order-independent, so only a real change of the plan changes it.
 */
export function approvalPlanHash(input: { caseId: number; advisoryId: string; targets: readonly ApprovalPlanTarget[] }): string {
  const targets = [...new Set(input.targets.map((t) => JSON.stringify([t.host, t.ecosystem, t.package, t.fixed])))].sort();
  return createHash('sha256').update(JSON.stringify({ caseId: input.caseId, advisoryId: input.advisoryId, targets })).digest('hex');
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
  /** The plan the decision is bound to; a vote naming another plan is refused. */
  planHash?: string | null | undefined;
}

export interface ProposedVote {
  stage: string;
  personId: string;
  decision: VoteDecision;
  comment?: string | null | undefined;
  /** The plan hash the voter saw (embedded in a button); checked when given. */
  planHash?: string | undefined;
}

export type VoteRefusalCode =
  | 'PD_VOTE_UNKNOWN_PERSON'
  | 'PD_VOTE_NOT_APPROVER'
  | 'PD_VOTE_OWN_REQUEST'
  | 'PD_VOTE_OWN_ROLLOUT'
  | 'PD_VOTE_WRONG_STAGE'
  | 'PD_VOTE_NOT_AWAITING'
  | 'PD_VOTE_SEALED'
  | 'PD_VOTE_BAD_DECISION'
  | 'PD_VOTE_DEPLOYER'
  | 'PD_VOTE_VETO_ONLY'
  | 'PD_VOTE_STALE_PLAN'
  | 'PD_VOTE_REASON_REQUIRED';

export interface VoteRefusal {
  allowed: false;
  code: VoteRefusalCode;
  reason: string;
}

export type StageOutcome = 'pending' | 'approved' | 'rejected';

export interface VoteTally {
  approvals: string[];
  rejections: string[];
  /** Rejections from the veto group: any one rejects. */
  vetoes: string[];
  needed: number;
  rejectsNeeded: number;
  outcome: StageOutcome;
}

/** What a person may do at a stage: approve (and reject), or only reject as a veto. */
export interface VoterRole {
  approver: boolean;
  veto: boolean;
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
export function isStageSealed(stage: VoteStage, subject: VoteSubject, votes: readonly ExistingVote[], roleOf: (personId: string) => VoterRole | null, policy: ApprovalPolicy): boolean {
  if (stage === 'approval') return CASE_STATES_AFTER_APPROVAL.has(subject.caseState);
  if (subject.rollout === null) return false;
  if (subject.rollout.state === 'deploying' || subject.rollout.state === 'completed') return true;
  // A rollout halted by a sign-off reject is sealed; one halted by failures never reached sign-off.
  return subject.rollout.state === 'halted' && tallyVotes('pilot_signoff', votes, roleOf, policy).outcome !== 'pending';
}

/**
 * Counts the votes of people who are (still) eligible; the rest are ignored. The rule: a veto rejects
 * at once; otherwise `rejectsNeeded` rejects (default one) reject; otherwise the quorum of approvals
 * approves. Rejects are checked first, so a decision never approves over enough rejects.
 */
export function tallyVotes(
  stage: VoteStage,
  votes: readonly ExistingVote[],
  roleOf: (personId: string) => VoterRole | null,
  policy: ApprovalPolicy,
): VoteTally {
  const approvals = votes.filter((v) => v.decision === 'approve' && roleOf(v.person)?.approver === true).map((v) => v.person).sort();
  const rejections = votes.filter((v) => v.decision === 'reject' && roleOf(v.person) !== null).map((v) => v.person).sort();
  const vetoes = stage === 'approval' ? rejections.filter((person) => roleOf(person)?.veto === true) : [];
  const needed = stage === 'approval' ? policy.quorum : SIGNOFF_QUORUM;
  const rejectsNeeded = stage === 'approval' ? (policy.rejectsNeeded ?? 1) : 1;
  const outcome: StageOutcome =
    vetoes.length > 0 || rejections.length >= rejectsNeeded ? 'rejected' : approvals.length >= needed ? 'approved' : 'pending';
  return { approvals, rejections, vetoes, needed, rejectsNeeded, outcome };
}

/** The tally in words, for the outcome a person sees and the audit trail. */
export function explainTally(tally: VoteTally): string {
  const approvals = `${tally.approvals.length} of ${tally.needed} approval${tally.needed === 1 ? '' : 's'}${tally.approvals.length > 0 ? ` (${tally.approvals.join(', ')})` : ''}`;
  const rejects = `${tally.rejections.length} of ${tally.rejectsNeeded} reject${tally.rejectsNeeded === 1 ? '' : 's'} needed to reject${tally.rejections.length > 0 ? ` (${tally.rejections.join(', ')})` : ''}`;
  if (tally.vetoes.length > 0) return `rejected: vetoed by ${tally.vetoes.join(', ')} (a veto rejects whatever the approvals)`;
  if (tally.outcome === 'rejected') return `rejected: ${rejects}`;
  if (tally.outcome === 'approved') return `approved: ${approvals}`;
  return `pending: ${approvals}${tally.rejections.length > 0 ? `; ${rejects}` : ''}`;
}

/** The role a person has at `stage` on this subject, or null when they may not vote there. */
export function voterRole(stage: VoteStage, personId: string, people: readonly PersonRecord[], subject: VoteSubject, policy: ApprovalPolicy): VoterRole | null {
  return eligibilityRefusal(stage, personId, people, subject, policy) === null ? roleIn(stage, findPersonById(people, personId)!, policy) : null;
}

function roleIn(stage: VoteStage, person: PersonRecord, policy: ApprovalPolicy): VoterRole {
  const veto = stage === 'approval' && policy.vetoGroup !== undefined && isInGroup(person, policy.vetoGroup);
  return { approver: isInGroup(person, policy.approversGroup), veto };
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
  const role = roleIn(stage, person, policy);
  if (!role.approver && !role.veto) {
    const groups = stage === 'approval' && policy.vetoGroup ? `the "${policy.approversGroup}" or "${policy.vetoGroup}" group` : `the "${policy.approversGroup}" group`;
    return refuse('PD_VOTE_NOT_APPROVER', `${person.name} is not in ${groups}, so cannot vote on ${STAGE_LABEL[stage]}`);
  }
  if (stage === 'approval' && person.id === subject.requestedBy) {
    return refuse('PD_VOTE_OWN_REQUEST', `${person.name} requested this change and cannot approve or reject it; another approver must decide`);
  }
  if (stage === 'approval' && (policy.deployers ?? []).includes(person.id)) {
    return refuse('PD_VOTE_DEPLOYER', `${person.name} deploys patches (approvals.deployers) and cannot approve or reject them; separation of duties needs another approver`);
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
  const person = findPersonById(people, vote.personId)!;
  if (vote.decision === 'approve' && !roleIn(stage, person, policy).approver) {
    return refuse('PD_VOTE_VETO_ONLY', `${person.name} is in the "${policy.vetoGroup}" veto group but not in "${policy.approversGroup}": they can reject (veto) this case but not approve it`);
  }
  // Only a decision still awaited is bound to the current plan; after it, the duplicate and sealed answers below apply.
  if (vote.planHash !== undefined && subject.planHash && vote.planHash !== subject.planHash && awaitedStage(subject) === stage) {
    return refuse('PD_VOTE_STALE_PLAN', 'this button belongs to an older plan for this case (hosts or fixed versions changed since it was posted); vote on the current request instead');
  }

  const roleOf = (personId: string) => voterRole(stage, personId, people, subject, policy);
  const comment = vote.comment ?? null;
  const previous = votes.find((v) => v.person === vote.personId) ?? null;
  if (previous !== null && previous.decision === vote.decision && previous.comment === comment) {
    return { allowed: true, duplicate: true, tally: tallyVotes(stage, votes, roleOf, policy) };
  }
  if (isStageSealed(stage, subject, votes, roleOf, policy)) {
    return refuse('PD_VOTE_SEALED', `the ${STAGE_LABEL[stage]} decision on this case is already sealed (case is ${subject.caseState.replace(/_/g, ' ')}); votes can no longer change`);
  }
  const awaited = awaitedStage(subject);
  if (awaited === null) {
    return refuse('PD_VOTE_NOT_AWAITING', `this case (${subject.caseState.replace(/_/g, ' ')}) is not waiting for a decision${subject.rollout?.state === 'piloting' ? ': the pilot is still running' : ''}`);
  }
  if (awaited !== stage) {
    return refuse('PD_VOTE_WRONG_STAGE', `this case is waiting for ${STAGE_LABEL[awaited]}, not ${STAGE_LABEL[stage]}`);
  }
  if (vote.decision === 'reject' && policy.requireRejectReason && (comment === null || comment.trim() === '')) {
    return refuse('PD_VOTE_REASON_REQUIRED', `the approval rule for this case needs a reason with every reject; reject again with a comment saying why`);
  }
  const next: ExistingVote[] = votes.filter((v) => v.person !== vote.personId);
  next.push({ person: vote.personId, decision: vote.decision, comment });
  const tally = tallyVotes(stage, next, roleOf, policy);
  return { allowed: true, duplicate: false, replaces: previous, tally, sealed: tally.outcome !== 'pending' };
}

function refuse(code: VoteRefusalCode, reason: string): VoteRefusal {
  return { allowed: false, code, reason };
}
