import { expect, it } from 'vitest';
import { createConnectorRegistry, type ConnectorLookup } from '../../src/connectors/index.js';
import type { Connector } from '../../src/connectors/types.js';
import { planHash, type RolloutPlan } from '../../src/core/rollout-plan.js';
import { listAudit, verifyAuditChain } from '../../src/store/audit.js';
import type { Executor, Store } from '../../src/store/db.js';
import { claimJob, completeJob } from '../../src/store/jobs.js';
import { fromJson } from '../../src/store/json.js';
import { castVote } from '../../src/workflow/approvals.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import type { JobHandlers } from '../../src/workflow/jobs.js';
import { createRolloutJobHandlers, runTarget, startRollout } from '../../src/workflow/rollouts.js';
import { createTestContext } from '../helpers/context.js';
import { fleet, insertFixtureCase, PEOPLE, type FixtureHost } from '../helpers/case-fixtures.js';
import { createTestStore, describeEachStore } from '../helpers/stores.js';

const CURL = [{ ecosystem: 'Ubuntu:22.04:LTS', name: 'curl', installed: '7.81.0-1ubuntu1.13', fixed: '7.81.0-1ubuntu1.16' }];

function config(overrides: { simulator?: Record<string, unknown>; rollout?: Record<string, unknown> } = {}) {
  return {
    people: PEOPLE,
    rollout: { waveSize: 4, failureThreshold: 0.2, ...overrides.rollout },
    connectors: { simulator: { seed: 11, failureRate: 0, rebootFailureRate: 0, delayMs: 0, ...overrides.simulator } },
  };
}

function contextFor(store: Store, overrides: Parameters<typeof config>[0] = {}) {
  const { ctx, clock } = createTestContext(store, config(overrides));
  return { ctx, clock, handlers: createRolloutJobHandlers({ connectors: createConnectorRegistry(ctx.config) }) };
}

/** Claims and runs rollout jobs until none is due, like the worker does; `times` runs each handler more than once. */
async function drain(ctx: WorkflowContext, handlers: JobHandlers, times = 1): Promise<string[]> {
  const ran: string[] = [];
  for (;;) {
    const job = await claimJob(ctx.store, { owner: 'test', now: ctx.clock.now(), leaseMs: 60_000, kinds: Object.keys(handlers) });
    if (!job) return ran;
    for (let i = 0; i < times; i++) await handlers[job.kind]!(ctx, job);
    expect(await completeJob(ctx.store.db, job, ctx.clock.now())).toBe(true);
    ran.push(job.kind);
  }
}

async function targetsOf(db: Executor) {
  return db.selectFrom('rollout_targets').selectAll().orderBy('wave', 'asc').orderBy('id', 'asc').execute();
}

async function rolloutOf(db: Executor) {
  return db.selectFrom('rollouts').selectAll().executeTakeFirstOrThrow();
}

async function caseState(db: Executor, caseId: number) {
  return (await db.selectFrom('cases').select('state').where('id', '=', caseId).executeTakeFirstOrThrow()).state;
}

async function queuedJobs(db: Executor, kind: string) {
  const rows = await db.selectFrom('jobs').selectAll().where('kind', '=', kind).orderBy('id', 'asc').execute();
  return rows.map((r) => ({ payload: fromJson<Record<string, unknown>>(r.payload, {}), uniqueKey: r.unique_key }));
}

/** 12 hosts; 2 in the pilot group; half need a reboot (libssl3), half not (curl). */
function mixedFleet(): FixtureHost[] {
  return fleet(12, { pilot: [3, 8] }).map((h, i) => (i % 2 === 0 ? h : { ...h, packages: CURL }));
}

describeEachStore('rollout workflow', (s) => {
  it('pilots, waits for sign-off, deploys in waves, completes and resolves the exposures', async () => {
    const { ctx, clock, handlers } = contextFor(s.store);
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: mixedFleet() });
    await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack' });
    clock.advance(60_000);
    const pilotRun = await drain(ctx, handlers);
    expect(pilotRun.filter((k) => k === 'rollout.target')).toHaveLength(2);

    const rollout = await rolloutOf(s.store.db);
    expect([rollout.state, rollout.connector, rollout.started_by, Number(rollout.current_wave)]).toEqual(['awaiting_signoff', 'simulator', 'alice', 0]);
    expect(await caseState(s.store.db, caseId)).toBe('piloting');
    const plan = fromJson<RolloutPlan & { planHash: string }>(rollout.plan, { pilotBasis: 'none', waves: [], planHash: '' });
    expect(plan.waves.map((w) => w.hosts.length)).toEqual([2, 4, 4, 2]);
    expect(plan.waves[0]!.hosts.map((h) => h.name).sort()).toEqual(['host-004', 'host-009']);
    const storedHash = (await s.store.db.selectFrom('cases').select('plan_hash').where('id', '=', caseId).executeTakeFirstOrThrow()).plan_hash;
    expect(storedHash).toBe(planHash(caseId, 'simulator', plan));
    expect(plan.planHash).toBe(storedHash);
    const pilotTargets = (await targetsOf(s.store.db)).filter((t) => Number(t.wave) === 0);
    // host-009 (busier) goes first and has libssl3 (reboot); host-004 has curl (no reboot).
    expect(pilotTargets.map((t) => [t.host_name, t.ring, t.state, Number(t.attempts)])).toEqual([
      ['host-009', 'pilot', 'rebooted', 1],
      ['host-004', 'pilot', 'installed', 1],
    ]);
    expect((await targetsOf(s.store.db)).filter((t) => Number(t.wave) > 0).every((t) => t.state === 'queued')).toBe(true);
    expect(await queuedJobs(s.store.db, 'chat.post')).toEqual([
      { payload: { caseId, purpose: 'progress' }, uniqueKey: `case:${caseId}:progress` },
      { payload: { caseId, purpose: 'signoff' }, uniqueKey: `case:${caseId}:signoff` },
    ]);

    expect(await castVote(ctx, { caseId, stage: 'pilot_signoff', personId: 'bob', decision: 'approve', via: 'slack' })).toMatchObject({ outcome: 'signed_off' });
    clock.advance(60_000);
    await drain(ctx, handlers);

    const done = await rolloutOf(s.store.db);
    expect([done.state, Number(done.current_wave), done.completed_at]).toEqual(['completed', 3, '2026-11-23T09:02:00.000Z']);
    expect(await caseState(s.store.db, caseId)).toBe('completed');
    const targets = await targetsOf(s.store.db);
    expect(targets).toHaveLength(12);
    expect(new Set(targets.map((t) => t.host_name)).size).toBe(12);
    expect(targets.map((t) => t.state).sort()).toEqual([...Array(6).fill('installed'), ...Array(6).fill('rebooted')]);
    // Broad waves: the two servers first, the busier one (host-002, usage 0.4) before host-001 (usage 0).
    expect(targets.filter((t) => Number(t.wave) === 1).slice(0, 2).map((t) => t.host_name)).toEqual(['host-002', 'host-001']);
    const exposures = await s.store.db.selectFrom('exposures').select(['status', 'resolved_at']).execute();
    expect(exposures.every((e) => e.status === 'resolved' && e.resolved_at === '2026-11-23T09:02:00.000Z')).toBe(true);

    const targetEvents = (await listAudit(s.store.db, { subjectType: 'rollout_target' })).map((e) => `${(e.before as { state: string }).state}>${(e.after as { state: string }).state}`);
    // Each host: queued>dispatched>installed; reboot hosts also installed>reboot_pending>rebooted.
    expect(targetEvents.filter((e) => e === 'queued>dispatched')).toHaveLength(12);
    expect(targetEvents.filter((e) => e === 'dispatched>installed')).toHaveLength(12);
    expect(targetEvents.filter((e) => e === 'installed>reboot_pending')).toHaveLength(6);
    expect(targetEvents.filter((e) => e === 'reboot_pending>rebooted')).toHaveLength(6);
    const caseMoves = (await listAudit(s.store.db, { subjectType: 'case', subjectId: caseId })).filter((e) => e.action === 'case.state_changed').map((e) => (e.after as { state: string }).state);
    expect(caseMoves).toEqual(['approved', 'piloting', 'pilot_signed_off', 'deploying', 'completed']);
    expect(await verifyAuditChain(s.store.db)).toBeNull();
    // Progress is one message per case, rewritten at every rollout step rather than posted again.
    const progress = (await queuedJobs(s.store.db, 'chat.update')).filter((j) => j.payload.purpose === 'progress');
    expect(progress.map((j) => j.uniqueKey)).toEqual([
      `rollout:${rollout.id}:progress:awaiting_signoff:0`,
      `rollout:${rollout.id}:progress:deploying:1`,
      `rollout:${rollout.id}:progress:deploying:2`,
      `rollout:${rollout.id}:progress:deploying:3`,
      `rollout:${rollout.id}:progress:completed:3`,
    ]);
    expect((await queuedJobs(s.store.db, 'chat.post')).filter((j) => j.payload.purpose === 'progress')).toHaveLength(1);
  });

  it('halts after a pilot with too many failures and posts a halt notice', async () => {
    const { ctx, handlers } = contextFor(s.store, { simulator: { failureRate: 1 } });
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: mixedFleet() });
    await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack' });
    await drain(ctx, handlers);
    const rollout = await rolloutOf(s.store.db);
    expect(rollout.state).toBe('halted');
    expect(rollout.halted_reason).toBe('pilot (wave 0): 2 of 2 hosts failed (100%: 2 installs), above the 20% limit');
    expect(await caseState(s.store.db, caseId)).toBe('halted');
    expect(await queuedJobs(s.store.db, 'chat.post')).toEqual([
      { payload: { caseId, purpose: 'progress' }, uniqueKey: `case:${caseId}:progress` },
      { payload: { caseId, purpose: 'halt' }, uniqueKey: `rollout:${Number(rollout.id)}:halt` },
    ]);
    const targets = await targetsOf(s.store.db);
    expect(targets.filter((t) => t.state === 'failed').map((t) => t.detail?.length)).toHaveLength(2);
    expect(targets.filter((t) => t.state === 'queued')).toHaveLength(10);
    expect(await castVote(ctx, { caseId, stage: 'pilot_signoff', personId: 'bob', decision: 'approve', via: 'slack' })).toMatchObject({ status: 'refused', code: 'PD_VOTE_NOT_AWAITING' });
  });

  it('halts in a later wave when reboots fail there, with the figures in the reason', async () => {
    const { ctx } = contextFor(s.store);
    const simulator = createConnectorRegistry(ctx.config).get('simulator');
    // Pilot hosts reboot fine; every broad host with a reboot fails it.
    const picky: Connector = { ...simulator, kind: 'simulator', reboot: async (t) => (t.hostName === 'host-009' ? simulator.reboot(t) : { ok: false, detail: 'host did not come back' }) };
    const connectors: ConnectorLookup = { get: () => picky };
    const handlers = createRolloutJobHandlers({ connectors });
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: mixedFleet() });
    await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack' });
    await drain(ctx, handlers);
    await castVote(ctx, { caseId, stage: 'pilot_signoff', personId: 'carol', decision: 'approve', via: 'web' });
    await drain(ctx, handlers);
    const rollout = await rolloutOf(s.store.db);
    expect([rollout.state, Number(rollout.current_wave)]).toEqual(['halted', 1]);
    expect(rollout.halted_reason).toMatch(/^wave 1: 2 of 4 hosts failed \(50%: 2 reboots\), above the 20% limit$/);
    expect(await caseState(s.store.db, caseId)).toBe('halted');
    const waves = await targetsOf(s.store.db);
    expect(waves.filter((t) => Number(t.wave) >= 2).every((t) => t.state === 'queued')).toBe(true);
    // Nothing was resolved: the rollout did not complete.
    expect((await s.store.db.selectFrom('exposures').select('status').execute()).every((e) => e.status === 'open')).toBe(true);
  });

  it('gives the same outcomes for the same seed on a fresh database, and others for another seed', async () => {
    const run = async (store: Store, seed: number) => {
      const { ctx, handlers } = contextFor(store, { simulator: { seed, failureRate: 0.3, rebootFailureRate: 0.3 }, rollout: { failureThreshold: 1 } });
      const { caseId } = await insertFixtureCase(store.db, { requestedBy: 'rita', hosts: fleet(30, { pilot: [1, 2, 3] }) });
      await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack' });
      await drain(ctx, handlers);
      await castVote(ctx, { caseId, stage: 'pilot_signoff', personId: 'bob', decision: 'approve', via: 'slack' });
      await drain(ctx, handlers);
      expect((await rolloutOf(store.db)).state).toBe('completed');
      return (await targetsOf(store.db)).map((t) => `${t.host_name}:${t.wave}:${t.state}:${t.detail}`);
    };
    const first = await run(s.store, 5);
    expect(first.some((t) => t.includes(':failed:'))).toBe(true);
    const other = await createTestStore(s.dialect);
    try {
      expect(await run(other.store, 5)).toEqual(first);
    } finally {
      await other.dispose();
    }
    const third = await createTestStore(s.dialect);
    try {
      expect(await run(third.store, 6)).not.toEqual(first);
    } finally {
      await third.dispose();
    }
  });

  it('does everything once when every handler runs twice', async () => {
    const { ctx } = contextFor(s.store);
    const simulator = createConnectorRegistry(ctx.config).get('simulator');
    const installs: string[] = [];
    const counting: Connector = {
      ...simulator,
      install: async (t, signal) => {
        installs.push(t.hostName);
        return simulator.install(t, signal);
      },
    };
    const handlers = createRolloutJobHandlers({ connectors: { get: () => counting } });
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: mixedFleet() });
    await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack' });
    await drain(ctx, handlers, 2);
    await startRollout(ctx, { caseId, startedBy: 'carol' });
    await castVote(ctx, { caseId, stage: 'pilot_signoff', personId: 'bob', decision: 'approve', via: 'slack' });
    await drain(ctx, handlers, 2);
    expect(await s.store.db.selectFrom('rollouts').selectAll().execute()).toHaveLength(1);
    expect((await rolloutOf(s.store.db)).state).toBe('completed');
    expect(installs.sort()).toEqual(mixedFleet().map((h) => h.name).sort());
    const targets = await targetsOf(s.store.db);
    expect(targets.every((t) => Number(t.attempts) === 1)).toBe(true);
    expect((await listAudit(s.store.db, { subjectType: 'rollout_target' })).filter((e) => (e.after as { state: string }).state === 'dispatched')).toHaveLength(12);
    expect((await listAudit(s.store.db, { subjectType: 'rollout' })).filter((e) => e.action === 'rollout.wave_started')).toHaveLength(3);
    expect(await caseState(s.store.db, caseId)).toBe('completed');
  });

  it('installs again on a target a crashed worker left dispatched', async () => {
    const { ctx, handlers } = contextFor(s.store);
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(3, { pilot: [0], packages: CURL }) });
    await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack' });
    const start = await claimJob(s.store, { owner: 't', now: ctx.clock.now(), leaseMs: 1000, kinds: ['rollout.start'] });
    await handlers['rollout.start']!(ctx, start!);
    const [pilot] = await targetsOf(s.store.db);
    await s.store.db.updateTable('rollout_targets').set({ state: 'dispatched', attempts: 1 }).where('id', '=', pilot!.id).execute();
    await runTarget(ctx, { connectors: createConnectorRegistry(ctx.config) }, Number(pilot!.id));
    const after = (await targetsOf(s.store.db))[0]!;
    expect([after.state, Number(after.attempts)]).toEqual(['installed', 2]);
    expect(await queuedJobs(s.store.db, 'rollout.wave_done')).toHaveLength(1);
  });

  it('records a connector that cannot run as failed hosts, and halts', async () => {
    const { ctx, handlers } = contextFor(s.store, { rollout: { connector: 'shell' } });
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(4, { pilot: [0] }) });
    await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack' });
    await drain(ctx, handlers);
    const [pilot] = await targetsOf(s.store.db);
    expect(pilot!.state).toBe('failed');
    expect(pilot!.detail).toMatch(/connectors\.shell\.install is not set.*\[PD_CONNECTOR_NOT_CONFIGURED\]/);
    expect((await rolloutOf(s.store.db)).state).toBe('halted');
  });

  it('completes an approved case with nothing left to patch without a rollout', async () => {
    const { ctx, handlers } = contextFor(s.store);
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(2) });
    await s.store.db.updateTable('exposures').set({ status: 'resolved' }).execute();
    await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack' });
    await drain(ctx, handlers);
    expect(await s.store.db.selectFrom('rollouts').selectAll().execute()).toEqual([]);
    expect(await caseState(s.store.db, caseId)).toBe('completed');
  });

  it('finishes after sign-off when the pilot was the whole fleet', async () => {
    const { ctx, handlers } = contextFor(s.store);
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(3, { pilot: [0, 1, 2], packages: CURL }) });
    await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack' });
    await drain(ctx, handlers);
    expect((await rolloutOf(s.store.db)).state).toBe('awaiting_signoff');
    await castVote(ctx, { caseId, stage: 'pilot_signoff', personId: 'bob', decision: 'approve', via: 'slack' });
    expect(await drain(ctx, handlers)).toEqual(['rollout.resume']);
    expect((await rolloutOf(s.store.db)).state).toBe('completed');
    expect(await caseState(s.store.db, caseId)).toBe('completed');
  });

  it('rejects a malformed job payload with the field named', async () => {
    const { ctx, handlers } = contextFor(s.store);
    const job = { id: 1, kind: 'rollout.target', payload: { targetId: 'x' }, attempts: 1, maxAttempts: 5, fence: 1 };
    await expect(handlers['rollout.target']!(ctx, job)).rejects.toMatchObject({ code: 'PD_JOB_PAYLOAD', message: expect.stringContaining('"targetId"') });
  });
});
