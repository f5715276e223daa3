import { expect, it } from 'vitest';
import { createConnectorRegistry } from '../../src/connectors/index.js';
import type { ChatMessage } from '../../src/core/messages.js';
import type { PersonRecord } from '../../src/core/people.js';
import { listAudit, verifyAuditChain } from '../../src/store/audit.js';
import type { Executor } from '../../src/store/db.js';
import { claimJob, completeJob } from '../../src/store/jobs.js';
import { castVote } from '../../src/workflow/approvals.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import type { JobHandlers } from '../../src/workflow/jobs.js';
import { createRebootJobHandlers, decideReboot, resolveOwner, type DirectNotifier } from '../../src/workflow/reboots.js';
import { createRolloutJobHandlers } from '../../src/workflow/rollouts.js';
import { createTestContext } from '../helpers/context.js';
import { fleet, insertFixtureCase, PEOPLE } from '../helpers/case-fixtures.js';
import { describeEachStore } from '../helpers/stores.js';

const HOUR = 3_600_000;
const PEOPLE_WITH_EMAIL = PEOPLE.map((p) => (p.id === 'dave' ? { ...p, email: 'Dave.Operator@example.com' } : p));

interface Sent {
  person: string;
  channel: string;
  message: ChatMessage;
}

/** A DM platform that records what it was asked to send and update. */
function recordingNotifier(): DirectNotifier & { posts: Sent[]; updates: { channel: string; ts: string; message: ChatMessage }[] } {
  const posts: Sent[] = [];
  const updates: { channel: string; ts: string; message: ChatMessage }[] = [];
  return {
    platform: 'slack',
    posts,
    updates,
    async postDirect(person: PersonRecord, message: ChatMessage) {
      posts.push({ person: person.id, channel: `D-${person.id}`, message });
      return { channel: `D-${person.id}`, ts: `ts-${posts.length}` };
    },
    async update(channel, ts, message) {
      updates.push({ channel, ts, message });
    },
  };
}

function setup(store: Parameters<typeof createTestContext>[0], maintenance: Record<string, unknown> = {}) {
  const { ctx, clock } = createTestContext(store, {
    timezone: 'Europe/Berlin',
    people: PEOPLE_WITH_EMAIL,
    rollout: { waveSize: 4 },
    connectors: { simulator: { seed: 11, failureRate: 0, rebootFailureRate: 0, delayMs: 0 } },
    maintenance,
  });
  const dm = recordingNotifier();
  const handlers: JobHandlers = { ...createRolloutJobHandlers({ connectors: createConnectorRegistry(ctx.config) }), ...createRebootJobHandlers({ notifiers: [dm] }) };
  return { ctx, clock, dm, handlers };
}

async function drain(ctx: WorkflowContext, handlers: JobHandlers, times = 1): Promise<string[]> {
  const ran: string[] = [];
  for (;;) {
    const job = await claimJob(ctx.store, { owner: 'test', now: ctx.clock.now(), leaseMs: 60_000, kinds: Object.keys(handlers) });
    if (!job) return ran;
    for (let i = 0; i < times; i++) await handlers[job.kind]!(ctx, job);
    await completeJob(ctx.store.db, job, ctx.clock.now());
    ran.push(job.kind);
  }
}

/** A two-host case, both hosts in the pilot and needing a reboot; host-001 belongs to dave (by email), host-002 to nobody known. */
async function pilotCase(ctx: WorkflowContext) {
  const { caseId, hostIds } = await insertFixtureCase(ctx.store.db, { requestedBy: 'rita', hosts: fleet(2, { pilot: [0, 1] }) });
  await ctx.store.db.updateTable('hosts').set({ owner: 'dave.operator@example.com' }).where('id', '=', hostIds[0]!).execute();
  await ctx.store.db.updateTable('hosts').set({ owner: 'facilities' }).where('id', '=', hostIds[1]!).execute();
  await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'cli' });
  return caseId;
}

async function targets(db: Executor) {
  return Object.fromEntries((await db.selectFrom('rollout_targets').select(['host_name', 'state']).execute()).map((t) => [t.host_name, t.state]));
}

async function notice(db: Executor) {
  return db.selectFrom('reboot_notices').selectAll().executeTakeFirstOrThrow();
}

describeEachStore('reboot notices', (s) => {
  it('asks the owner by DM, lets them postpone within the limit, and reboots at the time with the wave waiting', async () => {
    const { ctx, clock, dm, handlers } = setup(s.store);
    const caseId = await pilotCase(ctx);
    await drain(ctx, handlers);

    // The unowned host reboots at once; the owned one waits for its owner.
    expect(await targets(s.store.db)).toEqual({ 'host-001': 'reboot_pending', 'host-002': 'rebooted' });
    expect((await s.store.db.selectFrom('rollouts').select('state').executeTakeFirstOrThrow()).state).toBe('piloting');
    const first = await notice(s.store.db);
    expect([first.owner, first.state, first.postpones, first.reboot_at, first.deadline_at]).toEqual(['dave', 'scheduled', 0, '2026-11-23T10:00:00.000Z', '2026-11-24T09:00:00.000Z']);
    expect(dm.posts).toHaveLength(1);
    expect(dm.posts[0]!.person).toBe('dave');
    const sent = dm.posts[0]!.message;
    expect(sent.kind).toBe('reboot_notice');
    expect(sent.caseId).toBe(caseId);
    expect(sent.actions.map((a) => [a.id, a.value])).toEqual([
      ['reboot_now', `reboot:${first.id}:now`],
      ['reboot_postpone', `reboot:${first.id}:postpone:0`],
    ]);
    const stored = await s.store.db.selectFrom('chat_messages').selectAll().where('purpose', '=', `reboot_notice:${first.id}`).execute();
    expect(stored.map((r) => [r.platform, r.channel, r.ts])).toEqual([['slack', 'D-dave', 'ts-1']]);

    // Nobody but the owner decides.
    const refused = await decideReboot(ctx, { noticeId: Number(first.id), personId: 'bob', decision: 'reboot_now', via: 'slack' });
    expect(refused).toMatchObject({ status: 'refused', code: 'PD_REBOOT_NOT_OWNER' });
    expect(refused.status === 'refused' && refused.reason).toContain('Dave Operator');

    clock.advance(10 * 60_000);
    expect(await decideReboot(ctx, { noticeId: Number(first.id), personId: 'dave', decision: 'postpone', postponesSoFar: 0, via: 'slack' })).toEqual({
      status: 'recorded',
      decision: 'postpone',
      rebootAt: '2026-11-23T12:00:00.000Z',
    });
    // A double click carries the same count: nothing more happens.
    expect(await decideReboot(ctx, { noticeId: Number(first.id), personId: 'dave', decision: 'postpone', postponesSoFar: 0, via: 'slack' })).toMatchObject({ status: 'unchanged' });
    expect(await decideReboot(ctx, { noticeId: Number(first.id), personId: 'dave', decision: 'postpone', postponesSoFar: 1, via: 'web' })).toMatchObject({
      status: 'recorded',
      rebootAt: '2026-11-23T14:00:00.000Z',
    });
    expect(await decideReboot(ctx, { noticeId: Number(first.id), personId: 'dave', decision: 'postpone', postponesSoFar: 2, via: 'web' })).toMatchObject({
      status: 'refused',
      code: 'PD_REBOOT_NO_POSTPONE',
    });
    await drain(ctx, handlers);
    // The DM was rewritten in place: no more Postpone, and who postponed.
    const updated = dm.updates.at(-1)!;
    expect([updated.channel, updated.ts]).toEqual(['D-dave', 'ts-1']);
    expect(updated.message.actions.map((a) => a.id)).toEqual(['reboot_now']);
    expect(updated.message.footer).toContain('Postponed by Dave Operator (2 of 2)');

    // The first scheduled time passes: the job finds the reboot postponed and leaves it.
    clock.advance(HOUR);
    await drain(ctx, handlers);
    expect((await targets(s.store.db))['host-001']).toBe('reboot_pending');

    clock.advance(4 * HOUR);
    await drain(ctx, handlers);
    expect(await targets(s.store.db)).toEqual({ 'host-001': 'rebooted', 'host-002': 'rebooted' });
    expect((await s.store.db.selectFrom('rollouts').select('state').executeTakeFirstOrThrow()).state).toBe('awaiting_signoff');
    expect([(await notice(s.store.db)).state, (await notice(s.store.db)).last_decision]).toEqual(['rebooting', 'due']);
    expect(dm.updates.at(-1)!.message.actions).toEqual([]);
    // A click after the reboot started changes nothing.
    expect(await decideReboot(ctx, { noticeId: Number(first.id), personId: 'dave', decision: 'reboot_now', via: 'slack' })).toMatchObject({ status: 'unchanged' });

    const actions = (await listAudit(s.store.db, { subjectType: 'reboot_notice' })).map((e) => `${e.actor}:${e.action}`);
    expect(actions).toEqual([
      'patchdeck:reboot.notice_scheduled',
      'patchdeck:reboot.notice_sent',
      'bob:reboot.decision_refused',
      'dave:reboot.decided',
      'dave:reboot.decided',
      'dave:reboot.decision_refused',
      'patchdeck:reboot.started',
    ]);
    expect(await verifyAuditChain(s.store.db)).toBeNull();
  });

  it('reboots at once on "Reboot now", once however often it is clicked or its jobs run', async () => {
    const { ctx, clock, dm, handlers } = setup(s.store);
    await pilotCase(ctx);
    await drain(ctx, handlers);
    const { id } = await notice(s.store.db);
    clock.advance(60_000);
    const now = await decideReboot(ctx, { noticeId: Number(id), personId: 'dave', decision: 'reboot_now', via: 'teams' });
    expect(now).toEqual({ status: 'recorded', decision: 'reboot_now', rebootAt: '2026-11-23T09:01:00.000Z' });
    expect(await decideReboot(ctx, { noticeId: Number(id), personId: 'dave', decision: 'reboot_now', via: 'teams' })).toMatchObject({ status: 'unchanged' });
    expect(await decideReboot(ctx, { noticeId: Number(id), personId: 'dave', decision: 'postpone', postponesSoFar: 0, via: 'teams' })).toMatchObject({
      status: 'refused',
      code: 'PD_REBOOT_ALREADY_NOW',
    });
    await drain(ctx, handlers, 2);
    expect((await targets(s.store.db))['host-001']).toBe('rebooted');
    const rebootEvents = (await listAudit(s.store.db, { subjectType: 'rollout_target' })).filter((e) => (e.after as { state: string }).state === 'rebooted');
    expect(rebootEvents).toHaveLength(2);
    expect(dm.posts).toHaveLength(1);
    expect(dm.updates.at(-1)!.message.footer).toContain('Reboot now chosen by Dave Operator');
  });

  it('never postpones past the hard deadline', async () => {
    const { ctx, clock, handlers } = setup(s.store, { rebootNoticeLead: '1h', rebootPostpone: '3h', rebootDeadline: '2h', rebootPostponeLimit: 5 });
    await pilotCase(ctx);
    await drain(ctx, handlers);
    const { id } = await notice(s.store.db);
    expect(await decideReboot(ctx, { noticeId: Number(id), personId: 'dave', decision: 'postpone', postponesSoFar: 0, via: 'slack' })).toMatchObject({
      status: 'recorded',
      rebootAt: '2026-11-23T11:00:00.000Z',
    });
    expect(await decideReboot(ctx, { noticeId: Number(id), personId: 'dave', decision: 'postpone', postponesSoFar: 1, via: 'slack' })).toMatchObject({
      status: 'refused',
      code: 'PD_REBOOT_NO_POSTPONE',
    });
    clock.advance(2 * HOUR);
    await drain(ctx, handlers);
    expect((await targets(s.store.db))['host-001']).toBe('rebooted');
  });

  it('reboots at once when notices are off', async () => {
    const { ctx, dm, handlers } = setup(s.store, { rebootNotices: false });
    await pilotCase(ctx);
    await drain(ctx, handlers);
    expect(await targets(s.store.db)).toEqual({ 'host-001': 'rebooted', 'host-002': 'rebooted' });
    expect(await s.store.db.selectFrom('reboot_notices').selectAll().execute()).toEqual([]);
    expect(dm.posts).toEqual([]);
  });
});

it('finds a host owner by person id or email, case-insensitively, and nobody else', () => {
  expect(resolveOwner(PEOPLE_WITH_EMAIL, 'dave')?.id).toBe('dave');
  expect(resolveOwner(PEOPLE_WITH_EMAIL, ' DAVE.operator@example.com ')?.id).toBe('dave');
  expect(resolveOwner(PEOPLE_WITH_EMAIL, 'ops')).toBeNull();
  expect(resolveOwner(PEOPLE_WITH_EMAIL, '')).toBeNull();
});

describeEachStore('reboot notices of a stopped rollout', (s) => {
  it('refuses a decision once the rollout has halted, saying why', async () => {
    const { ctx, handlers } = setup(s.store);
    await pilotCase(ctx);
    await drain(ctx, handlers);
    const { id, rollout_id } = await notice(s.store.db);
    await s.store.db.updateTable('rollouts').set({ state: 'halted' }).where('id', '=', rollout_id).execute();
    const answer = await decideReboot(ctx, { noticeId: Number(id), personId: 'dave', decision: 'reboot_now', via: 'slack' });
    expect(answer).toMatchObject({ status: 'refused', code: 'PD_REBOOT_ROLLOUT_STOPPED' });
    expect(answer.status === 'refused' && answer.reason).toContain('has stopped (halted)');
  });
});
