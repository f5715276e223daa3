import { expect, it } from 'vitest';
import { listAudit, verifyAuditChain } from '../../src/store/audit.js';
import type { Executor } from '../../src/store/db.js';
import type { ClaimedJob } from '../../src/store/jobs.js';
import { fromJson } from '../../src/store/json.js';
import { castVote, createApprovalJobHandlers, deferCase, describeApproval, refreshApprovalPlan } from '../../src/workflow/approvals.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { createTestContext } from '../helpers/context.js';
import { fleet, insertFixtureCase, OPENED_AT } from '../helpers/case-fixtures.js';
import { describeEachStore } from '../helpers/stores.js';

const PEOPLE = [
  { id: 'alice', name: 'Alice', groups: ['cab'], slack: 'UALICE', teams: 'aad-alice' },
  { id: 'bob', name: 'Bob', groups: ['cab'] },
  { id: 'carol', name: 'Carol', groups: ['cab'] },
  { id: 'sam', name: 'Sam Security', groups: ['security'] },
  { id: 'dora', name: 'Dora Deployer', groups: ['cab'] },
  { id: 'rita', name: 'Rita', groups: ['cab'] },
];

/** Critical cases (the fixture's severity) need two of `cab`, security may veto, and the request lives 48h. */
const RULES = {
  approvals: {
    deployers: ['dora'],
    rules: [
      { name: 'critical', severity: ['critical'], quorum: 2, approversGroup: 'cab', vetoGroup: 'security', ttl: '48h', escalateTo: '#cab-escalations' },
      { name: 'lab', group: 'lab', quorum: 1, approversGroup: 'cab' },
    ],
  },
};

async function jobsOf(db: Executor, kind?: string) {
  let query = db.selectFrom('jobs').selectAll().orderBy('id', 'asc');
  if (kind) query = query.where('kind', '=', kind);
  return (await query.execute()).map((j) => ({ kind: j.kind, payload: fromJson<Record<string, unknown>>(j.payload, {}), runAt: j.run_at, uniqueKey: j.unique_key }));
}

async function caseRow(db: Executor, id: number) {
  return db.selectFrom('cases').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

async function runJob(ctx: WorkflowContext, kind: string, payload: Record<string, unknown>) {
  const job: ClaimedJob = { id: 0, kind, payload, attempts: 1, maxAttempts: 1, fence: 1 };
  await createApprovalJobHandlers()[kind]!(ctx, job);
}

describeEachStore('approval policy in the workflow', (s) => {
  const setup = (config: Record<string, unknown> = RULES) => createTestContext(s.store, { people: PEOPLE, ...config });

  it('reaches the quorum across Slack, Teams and the web, counting a person once, and says which rule decided', async () => {
    const { ctx } = setup();
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(2) });
    const slack = await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack' });
    const teams = await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'teams' });
    expect([slack, teams]).toEqual([
      { status: 'recorded', outcome: 'pending', caseState: 'awaiting_approval' },
      { status: 'recorded', outcome: 'pending', caseState: 'awaiting_approval' },
    ]);
    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'bob', decision: 'approve', via: 'web' })).toEqual({ status: 'recorded', outcome: 'approved', caseState: 'approved' });
    const votes = await s.store.db.selectFrom('votes').select(['person', 'via', 'status']).orderBy('id').execute();
    expect(votes).toEqual([{ person: 'alice', via: 'slack', status: 'counted' }, { person: 'bob', via: 'web', status: 'counted' }]);
    const moved = (await listAudit(s.store.db, { subjectType: 'case', subjectId: caseId })).find((a) => a.action === 'case.state_changed')!;
    expect(moved.after).toMatchObject({ state: 'approved', reason: 'approved: 2 of 2 approvals (alice, bob) under rule 1 (critical)' });
  });

  it('refuses the requester and a deployer, and lets a security veto reject over approvals', async () => {
    const { ctx } = setup();
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(1) });
    const refused = [];
    for (const personId of ['rita', 'dora']) refused.push(await castVote(ctx, { caseId, stage: 'approval', personId, decision: 'approve', via: 'slack' }));
    expect(refused.map((r) => (r.status === 'refused' ? r.code : r.status))).toEqual(['PD_VOTE_OWN_REQUEST', 'PD_VOTE_DEPLOYER']);
    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'sam', decision: 'approve', via: 'web' })).toMatchObject({ status: 'refused', code: 'PD_VOTE_VETO_ONLY' });
    await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'web' });
    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'sam', decision: 'reject', via: 'teams', comment: 'patch is backdoored upstream' })).toEqual({
      status: 'recorded',
      outcome: 'rejected',
      caseState: 'rejected',
    });
    const audit = await listAudit(s.store.db, { subjectType: 'case', subjectId: caseId });
    expect(audit.map((a) => a.action)).toEqual(['vote.refused', 'vote.refused', 'vote.refused', 'vote.cast', 'vote.cast', 'case.state_changed']);
    expect(audit.at(-1)!.after).toMatchObject({ state: 'rejected', reason: 'rejected: vetoed by sam (a veto rejects whatever the approvals) under rule 1 (critical)' });
    expect(await jobsOf(s.store.db, 'rollout.start')).toEqual([]);
  });

  it('binds the request to its plan, refuses stale buttons, voids votes when the hosts change and posts the request again', async () => {
    const { ctx } = setup();
    const { caseId, hostIds } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(3) });
    const bound = await s.store.transaction((trx) => refreshApprovalPlan(trx, ctx, caseId));
    expect(bound).toMatchObject({ status: 'bound', voided: [] });
    const firstHash = bound.planHash!;
    expect((await caseRow(s.store.db, caseId)).plan_hash).toBe(firstHash);
    expect(await s.store.transaction((trx) => refreshApprovalPlan(trx, ctx, caseId))).toMatchObject({ status: 'unchanged', planHash: firstHash });

    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack', planHash: 'f'.repeat(64) })).toMatchObject({ status: 'refused', code: 'PD_VOTE_STALE_PLAN' });
    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack', planHash: firstHash })).toMatchObject({ status: 'recorded', outcome: 'pending' });

    // A host is patched out of band: the plan shrinks, alice's approval was for the old plan.
    await s.store.db.updateTable('exposures').set({ status: 'resolved', resolved_at: OPENED_AT }).where('host_id', '=', hostIds[0]!).execute();
    const changed = await s.store.transaction((trx) => refreshApprovalPlan(trx, ctx, caseId));
    expect(changed).toMatchObject({ status: 'changed', voided: ['alice'] });
    const newHash = changed.planHash!;
    expect(newHash).not.toBe(firstHash);
    const vote = await s.store.db.selectFrom('votes').selectAll().executeTakeFirstOrThrow();
    expect([vote.status, vote.plan_hash, vote.voided_at, vote.void_reason]).toEqual(['void', firstHash, '2026-11-23T09:00:00.000Z', expect.stringMatching(/plan changed/)]);
    const planAudit = (await listAudit(s.store.db, { subjectType: 'case', subjectId: caseId })).find((a) => a.action === 'approval.plan_changed')!;
    expect([planAudit.before, planAudit.after]).toEqual([{ planHash: firstHash }, expect.objectContaining({ planHash: newHash, voidedVotes: [{ person: 'alice', decision: 'approve' }] })]);
    expect(await jobsOf(s.store.db, 'chat.post')).toEqual([{ kind: 'chat.post', payload: { caseId, purpose: 'alert', planHash: newHash }, runAt: expect.any(String), uniqueKey: `case:${caseId}:alert:${newHash}` }]);

    // The old button is refused; a void vote does not count towards the quorum, a fresh one does.
    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack', planHash: firstHash })).toMatchObject({ status: 'refused', code: 'PD_VOTE_STALE_PLAN' });
    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'bob', decision: 'approve', via: 'slack', planHash: newHash })).toMatchObject({ outcome: 'pending' });
    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'teams', planHash: newHash })).toMatchObject({ outcome: 'approved', caseState: 'approved' });
    const votes = await s.store.db.selectFrom('votes').select(['person', 'status', 'plan_hash']).orderBy('person').execute();
    expect(votes).toEqual([{ person: 'alice', status: 'counted', plan_hash: newHash }, { person: 'bob', status: 'counted', plan_hash: newHash }]);
    const recast = (await listAudit(s.store.db, { subjectType: 'case', subjectId: caseId })).filter((a) => a.action === 'vote.cast').at(-1)!;
    expect(recast.before).toMatchObject({ person: 'alice', status: 'void' });
    expect(await verifyAuditChain(s.store.db)).toBeNull();
  });

  it('checks a button hash against the current plan when the case was never bound', async () => {
    const { ctx } = setup({ approvals: { approversGroup: 'cab' } });
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(1) });
    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack', planHash: 'stale' })).toMatchObject({ code: 'PD_VOTE_STALE_PLAN' });
    const current = await s.store.transaction((trx) => refreshApprovalPlan(trx, ctx, caseId));
    await s.store.db.updateTable('cases').set({ plan_hash: null }).where('id', '=', caseId).execute();
    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack', planHash: current.planHash! })).toMatchObject({ outcome: 'approved' });
  });

  it('expires an unanswered request after its TTL, escalates once, and still takes votes', async () => {
    const { ctx, clock } = setup();
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(1) });
    await s.store.transaction((trx) => refreshApprovalPlan(trx, ctx, caseId));
    expect(await jobsOf(s.store.db, 'approvals.expire')).toEqual([
      { kind: 'approvals.expire', payload: { caseId }, runAt: '2026-11-25T08:00:00.000Z', uniqueKey: `case:${caseId}:approvals.expire:${OPENED_AT}` },
    ]);
    await runJob(ctx, 'approvals.expire', { caseId });
    expect((await caseRow(s.store.db, caseId)).approval_expired_at).toBeNull();

    clock.set('2026-11-25T08:00:00.000Z');
    await runJob(ctx, 'approvals.expire', { caseId });
    await runJob(ctx, 'approvals.expire', { caseId });
    const row = await caseRow(s.store.db, caseId);
    expect([row.state, row.approval_expired_at]).toEqual(['awaiting_approval', '2026-11-25T08:00:00.000Z']);
    const expired = (await listAudit(s.store.db, { subjectType: 'case', subjectId: caseId })).filter((a) => a.action === 'approval.expired');
    expect(expired.map((a) => a.after)).toEqual([
      { requestedAt: OPENED_AT, expiresAt: '2026-11-25T08:00:00.000Z', ttl: '48h', rule: 'rule 1 (critical)', escalateTo: '#cab-escalations', votes: [] },
    ]);
    expect((await jobsOf(s.store.db, 'chat.post')).map((j) => [j.payload, j.uniqueKey])).toEqual([[{ caseId, purpose: 'escalation', escalateTo: '#cab-escalations' }, `case:${caseId}:escalation:${OPENED_AT}`]]);
    const view = await describeApproval(ctx, caseId);
    expect(view).toMatchObject({ expiresAt: '2026-11-25T08:00:00.000Z', expiredAt: '2026-11-25T08:00:00.000Z', rule: { label: 'rule 1 (critical)', ttl: '48h' } });
    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'reject', via: 'web' })).toMatchObject({ outcome: 'rejected' });
  });

  it('sweeps: expires every overdue request (no job needed) and ends due deferrals; rules without TTL never expire', async () => {
    const { ctx, clock } = setup();
    const { caseId: critical } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(1) });
    const { caseId: lab } = await insertFixtureCase(s.store.db, { advisoryId: 'USN-9', requestedBy: 'rita', hosts: fleet(1, { prefix: 'lab' }).map((h) => ({ ...h, groups: ['lab'] })) });
    // As a high case on lab hosts it falls to rule 2, which has no TTL (critical would match rule 1 first).
    await s.store.db.updateTable('cases').set({ severity: 'high' }).where('id', '=', lab).execute();
    expect(await deferCase(ctx, { caseId: lab, personId: 'bob', reason: 'change freeze', via: 'cli', until: '2026-11-24T07:00:00Z' })).toEqual({
      status: 'deferred',
      caseState: 'deferred',
      until: '2026-11-24T07:00:00.000Z',
    });
    clock.set('2026-11-26T00:00:00.000Z');
    await runJob(ctx, 'approvals.sweep', {});
    expect((await caseRow(s.store.db, critical)).approval_expired_at).toBe('2026-11-26T00:00:00.000Z');
    const labRow = await caseRow(s.store.db, lab);
    expect([labRow.state, labRow.deferred_until, labRow.approval_requested_at, labRow.approval_expired_at]).toEqual(['awaiting_approval', null, '2026-11-26T00:00:00.000Z', null]);
    await runJob(ctx, 'approvals.sweep', {});
    expect((await listAudit(s.store.db)).filter((a) => a.action === 'approval.expired').map((a) => a.subjectId)).toEqual([String(critical)]);
  });

  it('defers until a date: refuses a bad or past date, comes back at that time as a new request', async () => {
    const { ctx, clock } = setup();
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(1) });
    expect(await deferCase(ctx, { caseId, personId: 'bob', reason: 'freeze', via: 'cli', until: 'next week' })).toMatchObject({ status: 'refused', code: 'PD_DEFER_BAD_UNTIL' });
    expect(await deferCase(ctx, { caseId, personId: 'bob', reason: 'freeze', via: 'cli', until: '2026-11-23T08:59:00Z' })).toMatchObject({ status: 'refused', code: 'PD_DEFER_BAD_UNTIL' });
    expect(await deferCase(ctx, { caseId, personId: 'rita', reason: 'freeze', via: 'cli', until: '2026-11-30T09:00:00Z' })).toMatchObject({ status: 'refused', code: 'PD_VOTE_OWN_REQUEST' });
    expect(await deferCase(ctx, { caseId, personId: 'bob', reason: 'change freeze', via: 'web', until: '2026-11-30T09:00:00Z' })).toMatchObject({ status: 'deferred' });
    const row = await caseRow(s.store.db, caseId);
    expect([row.state, row.deferred_until]).toEqual(['deferred', '2026-11-30T09:00:00.000Z']);
    expect(await jobsOf(s.store.db, 'approvals.undefer')).toEqual([
      { kind: 'approvals.undefer', payload: { caseId }, runAt: '2026-11-30T09:00:00.000Z', uniqueKey: `case:${caseId}:approvals.undefer:2026-11-30T09:00:00.000Z` },
    ]);
    await runJob(ctx, 'approvals.undefer', { caseId });
    expect((await caseRow(s.store.db, caseId)).state).toBe('deferred');

    clock.set('2026-11-30T09:00:00.000Z');
    await runJob(ctx, 'approvals.undefer', { caseId });
    await runJob(ctx, 'approvals.undefer', { caseId });
    const back = await caseRow(s.store.db, caseId);
    expect([back.state, back.deferred_until, back.approval_requested_at]).toEqual(['awaiting_approval', null, '2026-11-30T09:00:00.000Z']);
    const moves = (await listAudit(s.store.db, { subjectType: 'case', subjectId: caseId })).filter((a) => a.action === 'case.state_changed').map((a) => [a.actor, a.after]);
    expect(moves).toEqual([
      ['bob', { state: 'deferred', deferred_until: '2026-11-30T09:00:00.000Z', reason: 'change freeze' }],
      ['patchdeck', { state: 'awaiting_approval', deferred_until: null, approval_requested_at: '2026-11-30T09:00:00.000Z', approval_expired_at: null, reason: 'the deferral ended (2026-11-30T09:00:00.000Z)' }],
    ]);
    // The request restarted: its TTL counts from the return, and it can be decided again.
    expect((await jobsOf(s.store.db, 'approvals.expire')).map((j) => j.runAt)).toContain('2026-12-02T09:00:00.000Z');
    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'reject', via: 'web', comment: 'no' })).toMatchObject({ outcome: 'rejected' });
  });

  it('sends chat votes under a re-auth rule to the web console, and takes the web vote', async () => {
    const { ctx } = setup({ publicUrl: 'https://patchdeck.example.org/', approvals: { rules: [{ severity: ['critical'], approversGroup: 'cab', requireReauth: true, requireRejectReason: true }] } });
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(1) });
    const chat = await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack' });
    expect(chat).toEqual({ status: 'refused', code: 'PD_VOTE_REAUTH_REQUIRED', reason: `rule 1 needs approvers to sign in again for this decision: vote on the web console at https://patchdeck.example.org/cases/${caseId}` });
    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'reject', via: 'web' })).toMatchObject({ status: 'refused', code: 'PD_VOTE_REASON_REQUIRED' });
    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'web' })).toMatchObject({ outcome: 'approved' });
    expect(await s.store.db.selectFrom('votes').select(['person', 'via']).execute()).toEqual([{ person: 'alice', via: 'web' }]);
    expect((await listAudit(s.store.db)).map((a) => [a.action, (a.after as { code?: string }).code ?? null])).toEqual([
      ['vote.refused', 'PD_VOTE_REAUTH_REQUIRED'],
      ['vote.refused', 'PD_VOTE_REASON_REQUIRED'],
      ['vote.cast', null],
      ['case.state_changed', null],
    ]);
  });
});
