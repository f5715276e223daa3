import { describe, expect, it } from 'vitest';
import { awaitedStage, evaluateVote, type EvaluateVoteInput, type ExistingVote, type VoteSubject } from '../../src/core/approvals.js';

const people = [
  { id: 'alice', name: 'Alice', groups: ['approvers'] },
  { id: 'bob', name: 'Bob', groups: ['approvers'] },
  { id: 'carol', name: 'Carol', groups: ['approvers'] },
  { id: 'dave', name: 'Dave', groups: ['ops'] },
  { id: 'rita', name: 'Rita', groups: ['approvers'] },
];
const awaiting: VoteSubject = { caseState: 'awaiting_approval', requestedBy: 'rita', rollout: null };
const atSignoff: VoteSubject = { caseState: 'piloting', requestedBy: 'rita', rollout: { state: 'awaiting_signoff', startedBy: 'alice' } };

function evaluate(overrides: Partial<EvaluateVoteInput> & { vote: EvaluateVoteInput['vote'] }) {
  return evaluateVote({ policy: { approversGroup: 'approvers', quorum: 1 }, people, subject: awaiting, votes: [], ...overrides });
}

describe('approval policy', () => {
  it('approves with one approver by default and seals the decision', () => {
    const result = evaluate({ vote: { stage: 'approval', personId: 'alice', decision: 'approve' } });
    expect(result).toMatchObject({ allowed: true, duplicate: false, sealed: true, tally: { outcome: 'approved', approvals: ['alice'], needed: 1 } });
  });

  it('waits for the quorum, and one reject by an approver rejects', () => {
    const policy = { approversGroup: 'approvers', quorum: 2 };
    const first = evaluate({ policy, vote: { stage: 'approval', personId: 'alice', decision: 'approve' } });
    expect(first).toMatchObject({ allowed: true, sealed: false, tally: { outcome: 'pending', approvals: ['alice'], needed: 2 } });
    const votes: ExistingVote[] = [{ person: 'alice', decision: 'approve', comment: null }];
    expect(evaluate({ policy, votes, vote: { stage: 'approval', personId: 'bob', decision: 'approve' } })).toMatchObject({ sealed: true, tally: { outcome: 'approved', approvals: ['alice', 'bob'] } });
    expect(evaluate({ policy, votes, vote: { stage: 'approval', personId: 'bob', decision: 'reject' } })).toMatchObject({ sealed: true, tally: { outcome: 'rejected', rejections: ['bob'] } });
  });

  it('lets a person change their vote until sealed, replacing the old one', () => {
    const policy = { approversGroup: 'approvers', quorum: 2 };
    const votes: ExistingVote[] = [{ person: 'alice', decision: 'approve', comment: null }];
    const changed = evaluate({ policy, votes, vote: { stage: 'approval', personId: 'alice', decision: 'reject', comment: 'wait for the vendor fix' } });
    expect(changed).toMatchObject({ allowed: true, duplicate: false, replaces: votes[0], sealed: true, tally: { outcome: 'rejected', approvals: [] } });
  });

  it('treats the same vote again as a duplicate, even after it sealed the decision', () => {
    const votes: ExistingVote[] = [{ person: 'alice', decision: 'approve', comment: null }];
    const again = evaluate({ votes, subject: { ...awaiting, caseState: 'approved' }, vote: { stage: 'approval', personId: 'alice', decision: 'approve' } });
    expect(again).toMatchObject({ allowed: true, duplicate: true, tally: { outcome: 'approved' } });
  });

  it.each([
    ['an unknown chat user', { personId: 'slack:U999' }, awaiting, 'PD_VOTE_UNKNOWN_PERSON', /slack:U999/],
    ['someone outside the approvers group', { personId: 'dave' }, awaiting, 'PD_VOTE_NOT_APPROVER', /Dave is not in the "approvers" group/],
    ['the requester', { personId: 'rita' }, awaiting, 'PD_VOTE_OWN_REQUEST', /requested this change/],
    ['a vote on a sealed decision', { personId: 'bob' }, { ...awaiting, caseState: 'approved' }, 'PD_VOTE_SEALED', /already sealed/],
    ['a vote on a deferred case', { personId: 'bob' }, { ...awaiting, caseState: 'deferred' }, 'PD_VOTE_NOT_AWAITING', /not waiting for a decision/],
    ['a sign-off vote while approval is awaited', { personId: 'bob', stage: 'pilot_signoff' }, awaiting, 'PD_VOTE_WRONG_STAGE', /waiting for approval, not pilot sign-off/],
    ['an unknown stage', { personId: 'bob', stage: 'deploy' }, awaiting, 'PD_VOTE_WRONG_STAGE', /not a decision stage/],
  ] as const)('refuses %s', (_label, vote, subject, code, reason) => {
    const result = evaluate({ subject, vote: { stage: 'approval', decision: 'approve', ...vote } });
    expect(result).toMatchObject({ allowed: false, code });
    expect(result.allowed === false && result.reason).toMatch(reason);
  });

  it('refuses a pilot sign-off by the person who started the rollout, and while the pilot runs', () => {
    expect(evaluate({ subject: atSignoff, vote: { stage: 'pilot_signoff', personId: 'alice', decision: 'approve' } })).toMatchObject({ allowed: false, code: 'PD_VOTE_OWN_ROLLOUT' });
    const running: VoteSubject = { ...atSignoff, rollout: { state: 'piloting', startedBy: 'alice' } };
    const early = evaluate({ subject: running, vote: { stage: 'pilot_signoff', personId: 'bob', decision: 'approve' } });
    expect(early).toMatchObject({ allowed: false, code: 'PD_VOTE_NOT_AWAITING' });
    expect(early.allowed === false && early.reason).toMatch(/pilot is still running/);
  });

  it('signs off with one other approver, even the requester, and seals it', () => {
    expect(evaluate({ subject: atSignoff, vote: { stage: 'pilot_signoff', personId: 'bob', decision: 'approve' } })).toMatchObject({ allowed: true, sealed: true, tally: { outcome: 'approved', needed: 1 } });
    expect(evaluate({ subject: atSignoff, vote: { stage: 'pilot_signoff', personId: 'rita', decision: 'reject' } })).toMatchObject({ allowed: true, sealed: true, tally: { outcome: 'rejected' } });
    const after: VoteSubject = { caseState: 'deploying', requestedBy: 'rita', rollout: { state: 'deploying', startedBy: 'alice' } };
    expect(evaluate({ subject: after, votes: [{ person: 'bob', decision: 'approve', comment: null }], vote: { stage: 'pilot_signoff', personId: 'carol', decision: 'reject' } })).toMatchObject({ allowed: false, code: 'PD_VOTE_SEALED' });
    // A rollout halted by failures never reached sign-off: nothing to seal, nothing awaited.
    const haltedByFailures: VoteSubject = { caseState: 'halted', requestedBy: 'rita', rollout: { state: 'halted', startedBy: 'alice' } };
    expect(evaluate({ subject: haltedByFailures, vote: { stage: 'pilot_signoff', personId: 'bob', decision: 'approve' } })).toMatchObject({ allowed: false, code: 'PD_VOTE_NOT_AWAITING' });
  });

  it('ignores votes of people who have since left the approvers group', () => {
    const policy = { approversGroup: 'approvers', quorum: 2 };
    const votes: ExistingVote[] = [{ person: 'dave', decision: 'approve', comment: null }, { person: 'ghost', decision: 'reject', comment: null }];
    expect(evaluate({ policy, votes, vote: { stage: 'approval', personId: 'alice', decision: 'approve' } })).toMatchObject({ sealed: false, tally: { outcome: 'pending', approvals: ['alice'], rejections: [] } });
  });

  it('says which decision a case awaits', () => {
    expect(awaitedStage(awaiting)).toBe('approval');
    expect(awaitedStage(atSignoff)).toBe('pilot_signoff');
    expect(awaitedStage({ ...atSignoff, rollout: { state: 'piloting', startedBy: 'alice' } })).toBeNull();
  });
});
