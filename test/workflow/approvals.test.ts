import { expect, it } from 'vitest';
import { listAudit, verifyAuditChain } from '../../src/store/audit.js';
import type { Executor } from '../../src/store/db.js';
import { fromJson } from '../../src/store/json.js';
import { castVote, deferCase } from '../../src/workflow/approvals.js';
import { createTestContext } from '../helpers/context.js';
import { fleet, insertFixtureCase, PEOPLE } from '../helpers/case-fixtures.js';
import { describeEachStore } from '../helpers/stores.js';

async function jobsOf(db: Executor, kind?: string) {
  let query = db.selectFrom('jobs').selectAll().orderBy('id', 'asc');
  if (kind) query = query.where('kind', '=', kind);
  return (await query.execute()).map((j) => ({ kind: j.kind, payload: fromJson<Record<string, unknown>>(j.payload, {}), uniqueKey: j.unique_key }));
}

async function caseRow(db: Executor, id: number) {
  return db.selectFrom('cases').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** A case whose pilot finished: rollout started by alice, awaiting sign-off. */
async function caseAtSignoff(db: Executor): Promise<{ caseId: number; rolloutId: number }> {
  const { caseId } = await insertFixtureCase(db, { state: 'piloting', requestedBy: 'rita', hosts: fleet(2) });
  const rollout = await db
    .insertInto('rollouts')
    .values({ case_id: caseId, state: 'awaiting_signoff', connector: 'simulator', started_by: 'alice', plan: '{}', current_wave: 0, halted_reason: null, created_at: '2026-11-23T08:30:00.000Z', updated_at: '2026-11-23T08:30:00.000Z', completed_at: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { caseId, rolloutId: Number(rollout.id) };
}

describeEachStore('castVote', (s) => {
  const setup = (config: Record<string, unknown> = {}) => createTestContext(s.store, { people: PEOPLE, ...config }).ctx;

  it('approves with one approver: case approved, vote and state change audited, message update and rollout start queued', async () => {
    const ctx = setup();
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(3) });
    const result = await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack', comment: 'go' });
    expect(result).toEqual({ status: 'recorded', outcome: 'approved', caseState: 'approved' });
    const row = await caseRow(s.store.db, caseId);
    expect(row.state).toBe('approved');
    expect(row.decided_at).toBe('2026-11-23T09:00:00.000Z');
    const votes = await s.store.db.selectFrom('votes').selectAll().execute();
    expect(votes.map((v) => [v.case_id, v.stage, v.person, v.decision, v.via, v.comment].map(String))).toEqual([[String(caseId), 'approval', 'alice', 'approve', 'slack', 'go']]);
    const audit = await listAudit(s.store.db, { subjectType: 'case', subjectId: caseId });
    expect(audit.map((a) => [a.actor, a.action, a.before, a.after])).toEqual([
      ['alice', 'vote.cast', null, { stage: 'approval', person: 'alice', decision: 'approve', via: 'slack', comment: 'go' }],
      ['alice', 'case.state_changed', { state: 'awaiting_approval' }, { state: 'approved', decided_at: '2026-11-23T09:00:00.000Z', reason: 'approved: 1 of 1 approval (alice) under default rule' }],
    ]);
    expect(await jobsOf(s.store.db)).toEqual([
      { kind: 'chat.update', payload: { caseId, purpose: 'alert' }, uniqueKey: null },
      { kind: 'rollout.start', payload: { caseId, startedBy: 'alice' }, uniqueKey: `case:${caseId}:rollout.start` },
    ]);
    expect(await verifyAuditChain(s.store.db)).toBeNull();
  });

  it('records a double click once: one vote, one audit event, one set of jobs', async () => {
    const ctx = setup({ approvals: { quorum: 2 } });
    const { caseId } = await insertFixtureCase(s.store.db, { hosts: fleet(1) });
    const vote = { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack' } as const;
    const results = [await castVote(ctx, vote), await castVote(ctx, vote), await castVote(ctx, { ...vote, via: 'web' })];
    expect(results.every((r) => r.status === 'recorded' && r.outcome === 'pending' && r.caseState === 'awaiting_approval')).toBe(true);
    expect(await s.store.db.selectFrom('votes').selectAll().execute()).toHaveLength(1);
    expect((await listAudit(s.store.db)).map((a) => a.action)).toEqual(['vote.cast']);
    expect(await jobsOf(s.store.db)).toHaveLength(1);
    // After the decision seals, the same click again still answers "approved" and changes nothing.
    await castVote(ctx, { ...vote, personId: 'bob' });
    expect(await castVote(ctx, { ...vote, personId: 'bob' })).toEqual({ status: 'recorded', outcome: 'approved', caseState: 'approved' });
    expect(await jobsOf(s.store.db, 'rollout.start')).toHaveLength(1);
  });

  it('needs the quorum, lets a person change their vote, and a reject decides', async () => {
    const ctx = setup({ approvals: { quorum: 2 } });
    const { caseId } = await insertFixtureCase(s.store.db, { hosts: fleet(1) });
    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'web' })).toMatchObject({ outcome: 'pending' });
    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'reject', via: 'web', comment: 'vendor says wait' })).toEqual({ status: 'recorded', outcome: 'rejected', caseState: 'rejected' });
    const votes = await s.store.db.selectFrom('votes').selectAll().execute();
    expect(votes.map((v) => [v.person, v.decision, v.comment])).toEqual([['alice', 'reject', 'vendor says wait']]);
    const changed = (await listAudit(s.store.db)).filter((a) => a.action === 'vote.cast')[1]!;
    expect(changed.before).toEqual({ stage: 'approval', person: 'alice', decision: 'approve', comment: null });
    expect(await jobsOf(s.store.db, 'rollout.start')).toEqual([]);
    const late = await castVote(ctx, { caseId, stage: 'approval', personId: 'bob', decision: 'approve', via: 'web' });
    expect(late).toMatchObject({ status: 'refused', code: 'PD_VOTE_SEALED' });
  });

  it('refuses the requester, strangers and non-approvers, auditing each refusal', async () => {
    const ctx = setup();
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(1) });
    const refusals = [];
    for (const personId of ['rita', 'slack:U999', 'dave']) {
      refusals.push(await castVote(ctx, { caseId, stage: 'approval', personId, decision: 'approve', via: 'slack' }));
    }
    expect(refusals.map((r) => (r.status === 'refused' ? r.code : r.status))).toEqual(['PD_VOTE_OWN_REQUEST', 'PD_VOTE_UNKNOWN_PERSON', 'PD_VOTE_NOT_APPROVER']);
    expect(refusals.every((r) => r.status === 'refused' && r.reason.length > 20)).toBe(true);
    expect((await caseRow(s.store.db, caseId)).state).toBe('awaiting_approval');
    expect(await s.store.db.selectFrom('votes').selectAll().execute()).toEqual([]);
    expect(await jobsOf(s.store.db)).toEqual([]);
    const audit = await listAudit(s.store.db, { subjectType: 'case', subjectId: caseId });
    expect(audit.map((a) => [a.actor, a.action, (a.after as { code: string }).code])).toEqual([
      ['rita', 'vote.refused', 'PD_VOTE_OWN_REQUEST'],
      ['slack:U999', 'vote.refused', 'PD_VOTE_UNKNOWN_PERSON'],
      ['dave', 'vote.refused', 'PD_VOTE_NOT_APPROVER'],
    ]);
    expect(await castVote(ctx, { caseId: 9999, stage: 'approval', personId: 'alice', decision: 'approve', via: 'cli' })).toMatchObject({ status: 'refused', code: 'PD_VOTE_NO_CASE' });
  });

  it('counts simultaneous votes of two approvers once each and starts one rollout', async () => {
    const ctx = setup({ approvals: { quorum: 2 } });
    const { caseId } = await insertFixtureCase(s.store.db, { hosts: fleet(1) });
    const results = await Promise.all(
      ['alice', 'bob', 'carol'].map((personId) => castVote(ctx, { caseId, stage: 'approval', personId, decision: 'approve', via: 'slack' })),
    );
    // Whatever the order: one vote waits for the quorum, the next seals it, the third comes too late.
    const outcomes = results.map((r) => (r.status === 'recorded' ? r.outcome : r.code)).sort();
    expect(outcomes).toEqual(['PD_VOTE_SEALED', 'approved', 'pending']);
    expect(await s.store.db.selectFrom('votes').selectAll().execute()).toHaveLength(2);
    expect((await listAudit(s.store.db)).filter((a) => a.action === 'case.state_changed')).toHaveLength(1);
    expect(await jobsOf(s.store.db, 'rollout.start')).toHaveLength(1);
  });

  it('signs off a pilot: not by the rollout starter; then case and rollout deploy and the rollout resumes', async () => {
    const ctx = setup();
    const { caseId, rolloutId } = await caseAtSignoff(s.store.db);
    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'bob', decision: 'approve', via: 'slack' })).toMatchObject({ status: 'refused', code: 'PD_VOTE_SEALED' });
    expect(await castVote(ctx, { caseId, stage: 'pilot_signoff', personId: 'alice', decision: 'approve', via: 'slack' })).toMatchObject({ status: 'refused', code: 'PD_VOTE_OWN_ROLLOUT' });
    expect(await castVote(ctx, { caseId, stage: 'pilot_signoff', personId: 'bob', decision: 'approve', via: 'slack' })).toEqual({ status: 'recorded', outcome: 'signed_off', caseState: 'deploying' });
    expect((await s.store.db.selectFrom('rollouts').select('state').where('id', '=', rolloutId).executeTakeFirstOrThrow()).state).toBe('deploying');
    const changes = (await listAudit(s.store.db, { subjectType: 'case', subjectId: caseId })).filter((a) => a.action === 'case.state_changed');
    expect(changes.map((a) => [a.before, a.after])).toEqual([
      [{ state: 'piloting' }, { state: 'pilot_signed_off' }],
      [{ state: 'pilot_signed_off' }, { state: 'deploying' }],
    ]);
    expect(await jobsOf(s.store.db)).toEqual([
      { kind: 'chat.update', payload: { caseId, purpose: 'signoff' }, uniqueKey: null },
      { kind: 'rollout.resume', payload: { rolloutId }, uniqueKey: `rollout:${rolloutId}:resume` },
    ]);
    expect(await castVote(ctx, { caseId, stage: 'pilot_signoff', personId: 'carol', decision: 'reject', via: 'slack' })).toMatchObject({ status: 'refused', code: 'PD_VOTE_SEALED' });
  });

  it('halts the rollout and the case when the pilot sign-off is rejected', async () => {
    const ctx = setup();
    const { caseId, rolloutId } = await caseAtSignoff(s.store.db);
    const result = await castVote(ctx, { caseId, stage: 'pilot_signoff', personId: 'carol', decision: 'reject', via: 'web', comment: 'pilot hosts lost VPN' });
    expect(result).toEqual({ status: 'recorded', outcome: 'rejected', caseState: 'halted' });
    const rollout = await s.store.db.selectFrom('rollouts').selectAll().where('id', '=', rolloutId).executeTakeFirstOrThrow();
    expect([rollout.state, rollout.halted_reason]).toEqual(['halted', 'pilot sign-off rejected by Carol Approver: pilot hosts lost VPN']);
    expect((await caseRow(s.store.db, caseId)).state).toBe('halted');
    expect((await jobsOf(s.store.db)).map((j) => j.kind)).toEqual(['chat.update']);
  });

  it('refuses a sign-off while the pilot still runs, and an approval vote on a case at sign-off', async () => {
    const ctx = setup();
    const { caseId, rolloutId } = await caseAtSignoff(s.store.db);
    await s.store.db.updateTable('rollouts').set({ state: 'piloting' }).where('id', '=', rolloutId).execute();
    const early = await castVote(ctx, { caseId, stage: 'pilot_signoff', personId: 'bob', decision: 'approve', via: 'slack' });
    expect(early).toMatchObject({ status: 'refused', code: 'PD_VOTE_NOT_AWAITING' });
    const { caseId: fresh } = await insertFixtureCase(s.store.db, { advisoryId: 'USN-2', hosts: fleet(1, { prefix: 'x' }) });
    expect(await castVote(ctx, { caseId: fresh, stage: 'pilot_signoff', personId: 'bob', decision: 'approve', via: 'slack' })).toMatchObject({ status: 'refused', code: 'PD_VOTE_WRONG_STAGE' });
  });

  it('defers a case awaiting approval when an approver gives a reason', async () => {
    const ctx = setup();
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(1) });
    expect(await deferCase(ctx, { caseId, personId: 'dave', reason: 'later', via: 'cli' })).toMatchObject({ status: 'refused', code: 'PD_VOTE_NOT_APPROVER' });
    expect(await deferCase(ctx, { caseId, personId: 'bob', reason: '  ', via: 'cli' })).toMatchObject({ status: 'refused', code: 'PD_DEFER_NO_REASON' });
    expect(await deferCase(ctx, { caseId, personId: 'bob', reason: 'change freeze until Monday', via: 'cli' })).toEqual({ status: 'deferred', caseState: 'deferred', until: null });
    expect((await caseRow(s.store.db, caseId)).state).toBe('deferred');
    const audit = await listAudit(s.store.db, { subjectType: 'case', subjectId: caseId });
    expect(audit.map((a) => a.action)).toEqual(['defer.refused', 'defer.refused', 'case.state_changed']);
    expect(audit[2]!.after).toEqual({ state: 'deferred', reason: 'change freeze until Monday' });
    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'bob', decision: 'approve', via: 'web' })).toMatchObject({ status: 'refused', code: 'PD_VOTE_NOT_AWAITING' });
  });
});
