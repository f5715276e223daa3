import { describe, expect, it } from 'vitest';
import {
  approvalPlanHash,
  describeApprovalRule,
  evaluateVote,
  explainTally,
  selectApprovalRule,
  type ApprovalPolicy,
  type ApprovalSettings,
  type EvaluateVoteInput,
  type ExistingVote,
  type VoteSubject,
} from '../../src/core/approvals.js';

const people = [
  { id: 'alice', name: 'Alice', groups: ['cab'], slack: 'UALICE', teams: 'aad-alice' },
  { id: 'bob', name: 'Bob', groups: ['cab'] },
  { id: 'carol', name: 'Carol', groups: ['cab', 'security'] },
  { id: 'sam', name: 'Sam', groups: ['security'] },
  { id: 'dora', name: 'Dora', groups: ['cab', 'ops'] },
  { id: 'rita', name: 'Rita', groups: ['cab'] },
];
const cab: ApprovalPolicy = { approversGroup: 'cab', quorum: 2, vetoGroup: 'security', deployers: ['dora'] };
const awaiting: VoteSubject = { caseState: 'awaiting_approval', requestedBy: 'rita', rollout: null, planHash: 'plan-1' };

function evaluate(overrides: Partial<EvaluateVoteInput> & { vote: EvaluateVoteInput['vote'] }) {
  return evaluateVote({ policy: cab, people, subject: awaiting, votes: [], ...overrides });
}

/** Casts the votes one after another the way the workflow does: each evaluated against the ones before. */
function castAll(policy: ApprovalPolicy, subject: VoteSubject, sequence: Omit<ExistingVote, 'comment'>[]) {
  let votes: ExistingVote[] = [];
  let last: ReturnType<typeof evaluateVote> | null = null;
  for (const v of sequence) {
    last = evaluateVote({ policy, people, subject, votes, vote: { stage: 'approval', personId: v.person, decision: v.decision } });
    if (last.allowed && !last.duplicate) votes = [...votes.filter((x) => x.person !== v.person), { ...v, comment: null }];
  }
  return { votes, last: last! };
}

describe('approval rules: which one applies', () => {
  const settings: ApprovalSettings = {
    approversGroup: 'approvers',
    quorum: 1,
    ttl: '72h',
    rules: [
      { name: 'critical-cab', severity: ['critical'], quorum: 2, approversGroup: 'cab', vetoGroup: 'security', ttl: '48h', escalateTo: '#cab', requireReauth: true },
      { name: 'pci', group: 'pci', quorum: 3 },
      { severity: ['high'], group: 'dmz', quorum: 2 },
    ],
  };

  it('takes the first rule matching severity and host groups, filling gaps from the defaults', () => {
    const critical = selectApprovalRule(settings, { severity: 'critical', hostGroups: ['pci'] });
    expect(critical).toMatchObject({ index: 0, label: 'rule 1 (critical-cab)', ttl: '48h', escalateTo: '#cab', requireReauth: true, policy: { quorum: 2, approversGroup: 'cab', vetoGroup: 'security', rejectsNeeded: 1 } });
    const pci = selectApprovalRule(settings, { severity: 'high', hostGroups: ['web', 'pci'] });
    expect(pci).toMatchObject({ index: 1, ttl: '72h', requireReauth: false, policy: { quorum: 3, approversGroup: 'approvers' } });
    // Both conditions of a rule must hold.
    expect(selectApprovalRule(settings, { severity: 'medium', hostGroups: ['dmz'] }).index).toBeNull();
    expect(selectApprovalRule(settings, { severity: 'high', hostGroups: ['dmz'] }).index).toBe(2);
    const fallback = selectApprovalRule(settings, { severity: 'low', hostGroups: [] });
    expect(fallback).toMatchObject({ index: null, label: 'default rule', policy: { quorum: 1, approversGroup: 'approvers' }, ttl: '72h' });
  });

  it('describes a rule in one line', () => {
    expect(describeApprovalRule(selectApprovalRule(settings, { severity: 'critical', hostGroups: [] }))).toBe(
      'rule 1 (critical-cab): 2 approvals from "cab"; one reject rejects; "security" can veto; expires after 48h and escalates to #cab; chat votes must be confirmed on the web',
    );
  });
});

describe('approval policy: quorum, separation of duties, veto', () => {
  it('counts a person once however many platforms they click on, so the quorum needs two people', () => {
    // Faces resolve Slack, Teams and web users to the same person id; their votes are one vote.
    const { votes, last } = castAll(cab, awaiting, [
      { person: 'alice', decision: 'approve' },
      { person: 'alice', decision: 'approve' },
      { person: 'alice', decision: 'approve' },
    ]);
    expect(votes).toHaveLength(1);
    expect(last).toMatchObject({ allowed: true, duplicate: true, tally: { outcome: 'pending', approvals: ['alice'], needed: 2 } });
    const second = evaluate({ votes, vote: { stage: 'approval', personId: 'bob', decision: 'approve' } });
    expect(second).toMatchObject({ allowed: true, sealed: true, tally: { outcome: 'approved', approvals: ['alice', 'bob'] } });
  });

  it('refuses the requester and a deployer, with a reason naming the rule they break', () => {
    const own = evaluate({ vote: { stage: 'approval', personId: 'rita', decision: 'approve' } });
    expect(own).toMatchObject({ allowed: false, code: 'PD_VOTE_OWN_REQUEST' });
    const deployer = evaluate({ vote: { stage: 'approval', personId: 'dora', decision: 'reject' } });
    expect(deployer).toMatchObject({ allowed: false, code: 'PD_VOTE_DEPLOYER' });
    expect(deployer.allowed === false && deployer.reason).toMatch(/Dora deploys patches .*separation of duties/);
    // A deployer's old vote (say, from before they became one) does not count either.
    const votes: ExistingVote[] = [{ person: 'dora', decision: 'approve', comment: null }];
    expect(evaluate({ votes, vote: { stage: 'approval', personId: 'alice', decision: 'approve' } })).toMatchObject({ sealed: false, tally: { approvals: ['alice'] } });
  });

  it('lets the veto group reject whatever the approvals, but not approve', () => {
    const policy: ApprovalPolicy = { ...cab, quorum: 3, rejectsNeeded: 3 };
    const votes: ExistingVote[] = [
      { person: 'alice', decision: 'approve', comment: null },
      { person: 'bob', decision: 'approve', comment: null },
    ];
    const veto = evaluate({ policy, votes, vote: { stage: 'approval', personId: 'sam', decision: 'reject', comment: 'exploit in the patch itself' } });
    expect(veto).toMatchObject({ allowed: true, sealed: true, tally: { outcome: 'rejected', vetoes: ['sam'], approvals: ['alice', 'bob'] } });
    expect(veto.allowed && explainTally(veto.tally)).toBe('rejected: vetoed by sam (a veto rejects whatever the approvals)');
    const approve = evaluate({ policy, votes, vote: { stage: 'approval', personId: 'sam', decision: 'approve' } });
    expect(approve).toMatchObject({ allowed: false, code: 'PD_VOTE_VETO_ONLY' });
    expect(approve.allowed === false && approve.reason).toMatch(/can reject \(veto\) this case but not approve/);
    // Carol is in both groups: her approve counts, her reject is a veto.
    expect(evaluate({ policy, votes, vote: { stage: 'approval', personId: 'carol', decision: 'approve' } })).toMatchObject({ sealed: true, tally: { outcome: 'approved' } });
    expect(evaluate({ policy, votes, vote: { stage: 'approval', personId: 'carol', decision: 'reject' } })).toMatchObject({ sealed: true, tally: { outcome: 'rejected', vetoes: ['carol'] } });
    // Without a veto group Sam is a stranger to the decision.
    expect(evaluate({ policy: { approversGroup: 'cab', quorum: 2 }, vote: { stage: 'approval', personId: 'sam', decision: 'reject' } })).toMatchObject({ allowed: false, code: 'PD_VOTE_NOT_APPROVER' });
  });

  it('counts an ordinary reject as one "no": with rejectsNeeded 2 one reject waits, the second rejects', () => {
    const policy: ApprovalPolicy = { approversGroup: 'cab', quorum: 3, rejectsNeeded: 2 };
    const one = castAll(policy, awaiting, [{ person: 'alice', decision: 'reject' }, { person: 'bob', decision: 'approve' }]);
    expect(one.last).toMatchObject({ sealed: false, tally: { outcome: 'pending', rejections: ['alice'], approvals: ['bob'] } });
    expect(one.last.allowed && explainTally(one.last.tally)).toBe('pending: 1 of 3 approvals (bob); 1 of 2 rejects needed to reject (alice)');
    const two = evaluate({ policy, votes: one.votes, vote: { stage: 'approval', personId: 'carol', decision: 'reject' } });
    expect(two).toMatchObject({ sealed: true, tally: { outcome: 'rejected', rejections: ['alice', 'carol'] } });
    expect(two.allowed && explainTally(two.tally)).toBe('rejected: 2 of 2 rejects needed to reject (alice, carol)');
    // Default: one reject decides.
    expect(evaluate({ vote: { stage: 'approval', personId: 'alice', decision: 'reject' } })).toMatchObject({ sealed: true, tally: { outcome: 'rejected' } });
  });

  it('requires a reason with a reject when the rule says so', () => {
    const policy: ApprovalPolicy = { ...cab, requireRejectReason: true };
    const bare = evaluate({ policy, vote: { stage: 'approval', personId: 'alice', decision: 'reject', comment: '  ' } });
    expect(bare).toMatchObject({ allowed: false, code: 'PD_VOTE_REASON_REQUIRED' });
    expect(evaluate({ policy, vote: { stage: 'approval', personId: 'alice', decision: 'reject', comment: 'breaks SSO' } })).toMatchObject({ allowed: true, sealed: true });
    expect(evaluate({ policy, vote: { stage: 'approval', personId: 'alice', decision: 'approve' } })).toMatchObject({ allowed: true });
  });
});

describe('approval policy: plan binding, changes and seals', () => {
  it('refuses a vote for another plan (stale button, another case) and accepts the current one or none', () => {
    const stale = evaluate({ vote: { stage: 'approval', personId: 'alice', decision: 'approve', planHash: 'plan-0' } });
    expect(stale).toMatchObject({ allowed: false, code: 'PD_VOTE_STALE_PLAN' });
    expect(stale.allowed === false && stale.reason).toMatch(/older plan/);
    expect(evaluate({ vote: { stage: 'approval', personId: 'alice', decision: 'approve', planHash: 'plan-1' } })).toMatchObject({ allowed: true });
    expect(evaluate({ vote: { stage: 'approval', personId: 'alice', decision: 'approve' } })).toMatchObject({ allowed: true });
    // Once decided, the case's hash moves on (the rollout plan): a late click gets the duplicate or sealed answer, not "stale".
    const decided: VoteSubject = { ...awaiting, caseState: 'approved', planHash: 'rollout-plan' };
    const votes: ExistingVote[] = [{ person: 'alice', decision: 'approve', comment: null }];
    expect(evaluate({ subject: decided, votes, vote: { stage: 'approval', personId: 'alice', decision: 'approve', planHash: 'plan-1' } })).toMatchObject({ allowed: true, duplicate: true });
    expect(evaluate({ subject: decided, votes, vote: { stage: 'approval', personId: 'bob', decision: 'reject', planHash: 'plan-1' } })).toMatchObject({ allowed: false, code: 'PD_VOTE_SEALED' });
    // Identity comes first: a forged click by a stranger is refused as a stranger, whatever hash it carries.
    expect(evaluate({ vote: { stage: 'approval', personId: 'slack:U0', decision: 'approve', planHash: 'plan-0' } })).toMatchObject({ code: 'PD_VOTE_UNKNOWN_PERSON' });
  });

  it('lets a vote change before the seal and refuses any change after it, while a repeat stays a duplicate', () => {
    const pending = castAll(cab, awaiting, [{ person: 'alice', decision: 'approve' }, { person: 'alice', decision: 'reject' }]);
    expect(pending.last).toMatchObject({ allowed: true, replaces: { person: 'alice', decision: 'approve' }, sealed: true, tally: { outcome: 'rejected' } });
    const sealed: VoteSubject = { ...awaiting, caseState: 'rejected' };
    expect(evaluate({ subject: sealed, votes: pending.votes, vote: { stage: 'approval', personId: 'alice', decision: 'approve' } })).toMatchObject({ allowed: false, code: 'PD_VOTE_SEALED' });
    expect(evaluate({ subject: sealed, votes: pending.votes, vote: { stage: 'approval', personId: 'alice', decision: 'reject' } })).toMatchObject({ allowed: true, duplicate: true });
  });

  it('hashes the plan independent of order, and changes with a host, a fixed version, the case or the advisory', () => {
    const targets = [
      { host: 'web-1', ecosystem: 'Ubuntu:22.04:LTS', package: 'libssl3', fixed: '3.0.2-0ubuntu1.18' },
      { host: 'web-2', ecosystem: 'Ubuntu:22.04:LTS', package: 'libssl3', fixed: '3.0.2-0ubuntu1.18' },
    ];
    const base = approvalPlanHash({ caseId: 1, advisoryId: 'USN-1', targets });
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(approvalPlanHash({ caseId: 1, advisoryId: 'USN-1', targets: [...targets].reverse() })).toBe(base);
    expect(approvalPlanHash({ caseId: 1, advisoryId: 'USN-1', targets: targets.slice(0, 1) })).not.toBe(base);
    expect(approvalPlanHash({ caseId: 1, advisoryId: 'USN-1', targets: [targets[0]!, { ...targets[1]!, fixed: '3.0.2-0ubuntu1.19' }] })).not.toBe(base);
    expect(approvalPlanHash({ caseId: 2, advisoryId: 'USN-1', targets })).not.toBe(base);
    expect(approvalPlanHash({ caseId: 1, advisoryId: 'USN-2', targets })).not.toBe(base);
  });
});
