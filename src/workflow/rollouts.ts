import { z } from 'zod';
import { PatchdeckError } from '../core/errors.js';
import { planHash, planRollout, type PlanTarget, type RolloutPlan } from '../core/rollout-plan.js';
import type { CaseState, Criticality, RolloutState, TargetState } from '../core/types.js';
import type { ConnectorLookup } from '../connectors/index.js';
import type { ConnectorPackage, ConnectorTarget, InstallResult } from '../connectors/types.js';
import type { Executor } from '../store/db.js';
import { fromJson, toJson } from '../store/json.js';
import { listCaseDeployArtifacts, type DeployArtifact } from '../store/queries/artifacts.js';
import { checkDeployArtifacts, toConnectorArtifacts, type DeployArtifactProblem } from './artifacts.js';
import { lockCase, moveCase } from './case-transitions.js';
import { recordChange, type ChangeRecord, type WorkflowContext } from './context.js';
import { JOB_KINDS, type JobHandlers } from './jobs.js';
import { claimRebootIfDue, planRebootNotice } from './reboots.js';

/**
 * Rollouts: plan the waves, patch each host through a connector, judge each wave, and stop when too
 * many hosts fail. Every step is a job; every state change commits with its audit event and the jobs
 * it causes, and every handler looks at the current state first, so running a job twice is harmless.
 */
export interface RolloutDeps {
  connectors: ConnectorLookup;
}

/** A target in one of these states is finished for this wave. */
export const TERMINAL_TARGET_STATES: readonly TargetState[] = ['installed', 'failed', 'rebooted', 'reboot_failed', 'verified'];
const PATCHED_TARGET_STATES: readonly TargetState[] = ['installed', 'rebooted', 'verified'];
const ACTIVE_ROLLOUT_STATES: readonly RolloutState[] = ['piloting', 'deploying'];
const SYSTEM_ACTOR = 'patchdeck';
const MAX_DETAIL = 1000;
const INSERT_CHUNK = 500;

const StartPayload = z.object({ caseId: z.number().int().positive(), startedBy: z.string().min(1) }).passthrough();
const TargetPayload = z.object({ targetId: z.number().int().positive() }).passthrough();
const WavePayload = z.object({ rolloutId: z.number().int().positive(), wave: z.number().int().min(0) }).passthrough();
const ResumePayload = z.object({ rolloutId: z.number().int().positive() }).passthrough();

function readPayload<T>(schema: z.ZodType<T>, kind: string, payload: unknown): T {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PatchdeckError('PD_JOB_PAYLOAD', `${kind} job payload field "${issue.path.join('.')}": ${issue.message}`);
  }
  return parsed.data;
}

export function createRolloutJobHandlers(deps: RolloutDeps): JobHandlers {
  return {
    [JOB_KINDS.rolloutStart]: async (ctx, job) => startRollout(ctx, readPayload(StartPayload, job.kind, job.payload)),
    [JOB_KINDS.rolloutTarget]: async (ctx, job) => runTarget(ctx, deps, readPayload(TargetPayload, job.kind, job.payload).targetId),
    [JOB_KINDS.rolloutWaveDone]: async (ctx, job) => {
      const { rolloutId, wave } = readPayload(WavePayload, job.kind, job.payload);
      // The pilot's end waits for sign-off: no artifact goes out, so none is checked yet.
      return finishWave(ctx, rolloutId, wave, wave === 0 ? [] : await checkRolloutArtifacts(ctx, rolloutId));
    },
    [JOB_KINDS.rolloutResume]: async (ctx, job) => {
      const { rolloutId } = readPayload(ResumePayload, job.kind, job.payload);
      return resumeRollout(ctx, rolloutId, await checkRolloutArtifacts(ctx, rolloutId));
    },
  };
}

/** The plan as stored in rollouts.plan. */
export interface StoredPlan extends RolloutPlan {
  planHash: string;
  /** The case's cached artifacts when the rollout started; each wave re-checks their files before it starts. */
  artifacts?: DeployArtifact[];
  settings: { pilotGroup: string; pilotPercent: number; waveSize: number; order: string; failureThreshold: number };
}

async function lockRollout(trx: Executor, ctx: WorkflowContext, rolloutId: number) {
  let query = trx.selectFrom('rollouts').selectAll().where('id', '=', rolloutId);
  if (ctx.store.dialect === 'postgres') query = query.forUpdate();
  return query.executeTakeFirst();
}

/** Case first, then rollout — the order castVote uses too, so the two never wait on each other in a circle. */
async function lockCaseThenRollout(trx: Executor, ctx: WorkflowContext, rolloutId: number) {
  const ref = await trx.selectFrom('rollouts').select('case_id').where('id', '=', rolloutId).executeTakeFirst();
  if (!ref) return null;
  const caseRow = await lockCase(trx, ctx, Number(ref.case_id));
  const rollout = await lockRollout(trx, ctx, rolloutId);
  return caseRow && rollout ? { caseRow, rollout } : null;
}

function targetJob(targetId: number): NonNullable<ChangeRecord['jobs']>[number] {
  return { kind: JOB_KINDS.rolloutTarget, payload: { targetId }, uniqueKey: `target:${targetId}:attempt:1` };
}

function clip(text: string): string {
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL - 1)}…` : text;
}

/** The artifacts in a rollout's plan whose files are missing or changed; hashed outside any transaction. */
async function checkRolloutArtifacts(ctx: WorkflowContext, rolloutId: number): Promise<DeployArtifactProblem[]> {
  const row = await ctx.store.db.selectFrom('rollouts').select('plan').where('id', '=', rolloutId).executeTakeFirst();
  const artifacts = row ? (fromJson<Partial<StoredPlan>>(row.plan, {}).artifacts ?? []) : [];
  return checkDeployArtifacts(ctx, artifacts);
}

/** rollout.start: plan over the hosts with open exposures in the case, store the rollout, start the pilot. */
export async function startRollout(ctx: WorkflowContext, input: { caseId: number; startedBy: string }): Promise<void> {
  // Files are hashed before the transaction, so a large artifact never holds the database's write lock.
  const artifacts = await listCaseDeployArtifacts(ctx.store.db, input.caseId);
  const problems = await checkDeployArtifacts(ctx, artifacts);
  await ctx.store.transaction(async (trx) => {
    const caseRow = await lockCase(trx, ctx, input.caseId);
    if (!caseRow) {
      ctx.logger.warn({ caseId: input.caseId }, 'rollout.start for a case that does not exist');
      return;
    }
    const existing = await trx.selectFrom('rollouts').select('id').where('case_id', '=', input.caseId).executeTakeFirst();
    if (existing) return;
    if (caseRow.state !== 'approved') {
      ctx.logger.warn({ caseId: input.caseId, state: caseRow.state }, 'rollout.start for a case that is not approved; nothing done');
      return;
    }
    const hosts = await trx
      .selectFrom('exposures')
      .innerJoin('hosts', 'hosts.id', 'exposures.host_id')
      .select(['hosts.id', 'hosts.name', 'hosts.role', 'hosts.criticality', 'hosts.usage', 'hosts.groups'])
      .where('exposures.case_id', '=', input.caseId)
      .where('exposures.status', '=', 'open')
      .distinct()
      .execute();
    if (hosts.length === 0) {
      await moveCase(trx, ctx, { caseId: input.caseId, from: 'approved', to: 'completed', actor: SYSTEM_ACTOR, reason: 'no open exposures were left to patch' });
      return;
    }
    const targets: PlanTarget[] = hosts.map((h) => ({
      hostId: Number(h.id),
      name: h.name,
      role: h.role,
      criticality: h.criticality as Criticality,
      usage: Number(h.usage),
      groups: fromJson<string[]>(h.groups, []),
    }));
    const settings = ctx.config.rollout;
    const plan = planRollout(targets, settings);
    const connector = settings.connector;
    const hash = planHash(input.caseId, connector, plan, artifacts);
    const stored: StoredPlan = {
      ...plan,
      planHash: hash,
      ...(artifacts.length > 0 ? { artifacts } : {}),
      settings: { pilotGroup: settings.pilotGroup, pilotPercent: settings.pilotPercent, waveSize: settings.waveSize, order: settings.order, failureThreshold: settings.failureThreshold },
    };
    const now = ctx.clock.now().toISOString();
    const inserted = await trx
      .insertInto('rollouts')
      .values({
        case_id: input.caseId,
        state: 'piloting',
        connector,
        started_by: input.startedBy,
        plan: toJson(stored),
        current_wave: 0,
        halted_reason: null,
        created_at: now,
        updated_at: now,
        completed_at: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const rolloutId = Number(inserted.id);
    const rows = plan.waves.flatMap((wave) =>
      wave.hosts.map((h) => ({
        rollout_id: rolloutId,
        host_id: h.hostId,
        host_name: h.name,
        wave: wave.index,
        ring: wave.ring,
        state: 'queued',
        detail: null,
        attempts: 0,
        updated_at: now,
      })),
    );
    for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
      await trx.insertInto('rollout_targets').values(rows.slice(start, start + INSERT_CHUNK)).execute();
    }
    await moveCase(trx, ctx, { caseId: input.caseId, from: 'approved', to: 'piloting', actor: input.startedBy, set: { plan_hash: hash } });
    if (problems.length > 0) {
      await recordChange(trx, ctx, { audit: [rolloutStartedAudit(input.startedBy, rolloutId, input.caseId, connector, hash, plan)] });
      await haltForArtifacts(trx, ctx, { rolloutId, rolloutState: 'piloting', caseId: input.caseId, caseState: 'piloting', wave: 0, problems });
      await recordChange(trx, ctx, { audit: [], jobs: [{ kind: JOB_KINDS.chatPost, payload: { caseId: input.caseId, purpose: 'progress' }, uniqueKey: `case:${input.caseId}:progress` }] });
      return;
    }
    const pilot = await trx.selectFrom('rollout_targets').select('id').where('rollout_id', '=', rolloutId).where('wave', '=', 0).orderBy('id', 'asc').execute();
    await recordChange(trx, ctx, {
      audit: [rolloutStartedAudit(input.startedBy, rolloutId, input.caseId, connector, hash, plan, artifacts)],
      // One progress message per case, posted now and rewritten in place as the rollout moves.
      jobs: [...pilot.map((t) => targetJob(Number(t.id))), { kind: JOB_KINDS.chatPost, payload: { caseId: input.caseId, purpose: 'progress' }, uniqueKey: `case:${input.caseId}:progress` }],
    });
  });
}

function rolloutStartedAudit(actor: string, rolloutId: number, caseId: number, connector: string, hash: string, plan: RolloutPlan, artifacts: readonly DeployArtifact[] = []) {
  return {
    actor,
    action: 'rollout.started',
    subjectType: 'rollout',
    subjectId: rolloutId,
    after: {
      caseId,
      state: 'piloting',
      connector,
      planHash: hash,
      pilotBasis: plan.pilotBasis,
      waves: plan.waves.map((w) => ({ index: w.index, ring: w.ring, hosts: w.hosts.length })),
      ...(artifacts.length > 0 ? { artifacts: artifacts.map((a) => ({ fileName: a.fileName, sha256: a.sha256, package: a.package })) } : {}),
    },
  };
}

/**
 * A wave whose cached artifacts are missing or changed on disk does not start: the rollout and the case
 * halt with the reason, and a security audit event names each file (a changed file may be tampering).
 */
async function haltForArtifacts(
  trx: Executor,
  ctx: WorkflowContext,
  input: { rolloutId: number; rolloutState: RolloutState; caseId: number; caseState: CaseState; wave: number; problems: DeployArtifactProblem[] },
): Promise<void> {
  const { rolloutId, caseId, wave, problems } = input;
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  const reason = `${wave === 0 ? 'pilot (wave 0)' : `wave ${wave}`} not started: cached artifact ${first.fileName} (sha256 ${first.sha256.slice(0, 12)}) ${first.code === 'PD_ARTIFACT_MISSING' ? 'is missing' : 'no longer matches its hash'}${more} [${first.code}]; run "patchdeck artifacts verify" and "patchdeck patches fetch ${caseId}"`;
  await setRolloutState(trx, ctx, rolloutId, input.rolloutState, 'halted', { halted_reason: reason }, { reason, code: first.code });
  await moveCase(trx, ctx, { caseId, from: input.caseState, to: 'halted', actor: SYSTEM_ACTOR, reason });
  await recordChange(trx, ctx, {
    audit: [
      {
        actor: SYSTEM_ACTOR,
        action: 'artifact.verify_failed',
        subjectType: 'rollout',
        subjectId: rolloutId,
        after: { security: true, caseId, wave, problems: problems.map((p) => ({ code: p.code, fileName: p.fileName, sha256: p.sha256, url: p.url, detail: p.detail })) },
      },
    ],
    jobs: [{ kind: JOB_KINDS.chatPost, payload: { caseId, purpose: 'halt' }, uniqueKey: `rollout:${rolloutId}:halt` }],
  });
}

type TargetStep = { phase: 'install' | 'reboot'; rolloutId: number; caseId: number; connector: string; hostId: number; hostName: string } | { phase: 'skip' };

/** rollout.target: one host, queued → dispatched → installed | failed, then the reboot when one is needed. */
export async function runTarget(ctx: WorkflowContext, deps: RolloutDeps, targetId: number): Promise<void> {
  const step = await ctx.store.transaction(async (trx): Promise<TargetStep> => {
    const target = await trx.selectFrom('rollout_targets').selectAll().where('id', '=', targetId).executeTakeFirst();
    if (!target) return { phase: 'skip' };
    const rollout = await lockRollout(trx, ctx, Number(target.rollout_id));
    if (!rollout || !ACTIVE_ROLLOUT_STATES.includes(rollout.state as RolloutState)) return { phase: 'skip' };
    const state = target.state as TargetState;
    const base = { rolloutId: Number(rollout.id), caseId: Number(rollout.case_id), connector: rollout.connector, hostId: Number(target.host_id), hostName: target.host_name };
    if (state === 'reboot_pending') {
      // With a reboot notice out, the reboot waits for the owner's "Reboot now" or the notice's time.
      return (await claimRebootIfDue(trx, ctx, targetId)) ? { phase: 'reboot', ...base } : { phase: 'skip' };
    }
    if (state !== 'queued' && state !== 'dispatched') return { phase: 'skip' };
    const now = ctx.clock.now().toISOString();
    await trx
      .updateTable('rollout_targets')
      .set({ state: 'dispatched', attempts: Number(target.attempts) + 1, updated_at: now })
      .where('id', '=', targetId)
      .execute();
    // A job run again after a lost lease finds the target already dispatched: install again (package managers are idempotent).
    if (state === 'queued') await recordChange(trx, ctx, { audit: [targetAudit(targetId, base.rolloutId, base.hostName, 'queued', 'dispatched')] });
    return { phase: 'install', ...base };
  });
  if (step.phase === 'skip') return;

  const connectorTarget = await loadConnectorTarget(ctx, step.caseId, step.rolloutId, step.hostId, step.hostName);
  if (step.phase === 'install') {
    let result: InstallResult;
    try {
      result = await deps.connectors.get(step.connector).install(connectorTarget);
    } catch (error) {
      result = { ok: false, detail: describeError(error), rebootRequired: false };
    }
    const next: TargetState = !result.ok ? 'failed' : result.rebootRequired ? 'reboot_pending' : 'installed';
    const moved = await settleTarget(ctx, targetId, 'dispatched', next, result.detail, result.artifacts);
    if (moved !== 'moved' || next !== 'reboot_pending') return;
  }

  let reboot: { ok: boolean; detail: string };
  try {
    reboot = await deps.connectors.get(step.connector).reboot(connectorTarget);
  } catch (error) {
    reboot = { ok: false, detail: describeError(error) };
  }
  await settleTarget(ctx, targetId, 'reboot_pending', reboot.ok ? 'rebooted' : 'reboot_failed', reboot.detail);
}

function describeError(error: unknown): string {
  if (error instanceof PatchdeckError) return `${error.message} [${error.code}]`;
  return error instanceof Error ? error.message : String(error);
}

function targetAudit(targetId: number, rolloutId: number, hostName: string, from: TargetState, to: TargetState, detail?: string, artifacts?: InstallResult['artifacts']) {
  return {
    actor: SYSTEM_ACTOR,
    action: 'target.state_changed',
    subjectType: 'rollout_target',
    subjectId: targetId,
    before: { state: from },
    after: { state: to, rolloutId, host: hostName, ...(detail === undefined ? {} : { detail }), ...(artifacts && artifacts.length > 0 ? { artifacts } : {}) },
  };
}

/** The packages the case still has open on this host, as the connector needs them. */
async function loadConnectorTarget(ctx: WorkflowContext, caseId: number, rolloutId: number, hostId: number, hostName: string): Promise<ConnectorTarget> {
  const rows = await ctx.store.db
    .selectFrom('exposures')
    .select(['ecosystem', 'package', 'installed', 'fixed'])
    .where('case_id', '=', caseId)
    .where('host_id', '=', hostId)
    .where('status', '=', 'open')
    .orderBy('package', 'asc')
    .execute();
  const packages: ConnectorPackage[] = rows.map((r) => ({ ecosystem: r.ecosystem, name: r.package, installed: r.installed, fixed: r.fixed }));
  const rollout = await ctx.store.db.selectFrom('rollouts').select('plan').where('id', '=', rolloutId).executeTakeFirst();
  const planned = rollout ? (fromJson<Partial<StoredPlan>>(rollout.plan, {}).artifacts ?? []) : [];
  return { rolloutId, hostName, packages, artifacts: toConnectorArtifacts(ctx, planned, packages) };
}

/**
 * Commits one target's move from `from` to `to` with its audit event(s); when that finishes the
 * wave, enqueues rollout.wave_done in the same transaction. A move to `reboot_pending` whose host
 * owner is asked first (a reboot notice) answers `awaiting_owner`: the reboot runs later. Answers
 * `stale` when the target was no longer in `from` (another run got there first).
 */
async function settleTarget(
  ctx: WorkflowContext,
  targetId: number,
  from: TargetState,
  to: TargetState,
  detail: string,
  artifacts?: InstallResult['artifacts'],
): Promise<'moved' | 'awaiting_owner' | 'stale'> {
  return ctx.store.transaction(async (trx) => {
    const target = await trx.selectFrom('rollout_targets').selectAll().where('id', '=', targetId).executeTakeFirst();
    if (!target) return 'stale';
    // The rollout row is the lock that orders concurrent targets, so exactly one of them sees the wave finish.
    const rollout = await lockRollout(trx, ctx, Number(target.rollout_id));
    if (!rollout) return 'stale';
    const current = await trx.selectFrom('rollout_targets').select('state').where('id', '=', targetId).executeTakeFirstOrThrow();
    if (current.state !== from) return 'stale';
    const rolloutId = Number(rollout.id);
    const now = ctx.clock.now().toISOString();
    const text = clip(detail);
    await trx.updateTable('rollout_targets').set({ state: to, detail: text, updated_at: now }).where('id', '=', targetId).execute();
    const audit =
      to === 'reboot_pending'
        ? [targetAudit(targetId, rolloutId, target.host_name, from, 'installed', text, artifacts), targetAudit(targetId, rolloutId, target.host_name, 'installed', 'reboot_pending')]
        : [targetAudit(targetId, rolloutId, target.host_name, from, to, text, artifacts)];
    const wave = Number(target.wave);
    const open = await trx
      .selectFrom('rollout_targets')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('rollout_id', '=', rolloutId)
      .where('wave', '=', wave)
      .where('state', 'not in', TERMINAL_TARGET_STATES)
      .executeTakeFirstOrThrow();
    const jobs = Number(open.n) === 0 ? [{ kind: JOB_KINDS.rolloutWaveDone, payload: { rolloutId, wave }, uniqueKey: `rollout:${rolloutId}:wave:${wave}:done` }] : [];
    await recordChange(trx, ctx, { audit, jobs });
    if (to === 'reboot_pending') {
      const notice = { targetId, rolloutId, caseId: Number(rollout.case_id), hostId: Number(target.host_id), hostName: target.host_name };
      if (await planRebootNotice(trx, ctx, notice)) return 'awaiting_owner';
    }
    return 'moved';
  });
}

export interface WaveFigures {
  wave: number;
  targets: number;
  failedInstalls: number;
  failedReboots: number;
  failureRate: number;
}

async function countWave(trx: Executor, rolloutId: number, wave: number): Promise<{ figures: WaveFigures; open: number }> {
  const rows = await trx
    .selectFrom('rollout_targets')
    .select(['state', (eb) => eb.fn.countAll().as('n')])
    .where('rollout_id', '=', rolloutId)
    .where('wave', '=', wave)
    .groupBy('state')
    .execute();
  const count = (state: TargetState) => Number(rows.find((r) => r.state === state)?.n ?? 0);
  const targets = rows.reduce((sum, r) => sum + Number(r.n), 0);
  const open = rows.filter((r) => !TERMINAL_TARGET_STATES.includes(r.state as TargetState)).reduce((sum, r) => sum + Number(r.n), 0);
  const failedInstalls = count('failed');
  const failedReboots = count('reboot_failed');
  return { figures: { wave, targets, failedInstalls, failedReboots, failureRate: targets === 0 ? 0 : (failedInstalls + failedReboots) / targets }, open };
}

function percent(rate: number): string {
  return `${Math.round(rate * 1000) / 10}%`;
}

export function describeHalt(figures: WaveFigures, threshold: number): string {
  const failed = figures.failedInstalls + figures.failedReboots;
  const parts = [figures.failedInstalls > 0 ? `${figures.failedInstalls} install${figures.failedInstalls === 1 ? '' : 's'}` : null, figures.failedReboots > 0 ? `${figures.failedReboots} reboot${figures.failedReboots === 1 ? '' : 's'}` : null].filter(Boolean);
  return `${figures.wave === 0 ? 'pilot (wave 0)' : `wave ${figures.wave}`}: ${failed} of ${figures.targets} hosts failed (${percent(figures.failureRate)}: ${parts.join(', ')}), above the ${percent(threshold)} limit`;
}

/** rollout.wave_done: judge the wave — halt, ask for pilot sign-off, start the next wave, or finish. */
export async function finishWave(ctx: WorkflowContext, rolloutId: number, wave: number, artifactProblems: DeployArtifactProblem[] = []): Promise<void> {
  await ctx.store.transaction(async (trx) => {
    const locked = await lockCaseThenRollout(trx, ctx, rolloutId);
    if (!locked) return;
    const { caseRow, rollout } = locked;
    if (!ACTIVE_ROLLOUT_STATES.includes(rollout.state as RolloutState) || Number(rollout.current_wave) !== wave) return;
    const { figures, open } = await countWave(trx, rolloutId, wave);
    if (open > 0) {
      ctx.logger.warn({ rolloutId, wave, open }, 'rollout.wave_done while targets are still running; waiting for them');
      return;
    }
    const caseId = Number(rollout.case_id);
    const threshold = ctx.config.rollout.failureThreshold;
    if (figures.failureRate > threshold) {
      const reason = describeHalt(figures, threshold);
      await setRolloutState(trx, ctx, rolloutId, rollout.state as RolloutState, 'halted', { halted_reason: reason }, { figures, reason });
      await moveCase(trx, ctx, { caseId, from: caseRow.state as CaseState, to: 'halted', actor: SYSTEM_ACTOR, reason });
      await recordChange(trx, ctx, { audit: [], jobs: [{ kind: JOB_KINDS.chatPost, payload: { caseId, purpose: 'halt' }, uniqueKey: `rollout:${rolloutId}:halt` }] });
      return;
    }
    if (wave === 0) {
      await setRolloutState(trx, ctx, rolloutId, 'piloting', 'awaiting_signoff', {}, { figures });
      await recordChange(trx, ctx, { audit: [], jobs: [{ kind: JOB_KINDS.chatPost, payload: { caseId, purpose: 'signoff' }, uniqueKey: `case:${caseId}:signoff` }] });
      return;
    }
    await advanceToWave(trx, ctx, rollout.state as RolloutState, rolloutId, caseId, caseRow.state as CaseState, wave + 1, { figures }, artifactProblems);
  });
}

/** rollout.resume: after the pilot sign-off, go on with wave 1 (or finish when the pilot was everything). */
export async function resumeRollout(ctx: WorkflowContext, rolloutId: number, artifactProblems: DeployArtifactProblem[] = []): Promise<void> {
  await ctx.store.transaction(async (trx) => {
    const locked = await lockCaseThenRollout(trx, ctx, rolloutId);
    if (!locked) return;
    const { caseRow, rollout } = locked;
    if (rollout.state !== 'deploying' || Number(rollout.current_wave) !== 0) return;
    await advanceToWave(trx, ctx, 'deploying', rolloutId, Number(caseRow.id), caseRow.state as CaseState, 1, {}, artifactProblems);
  });
}

async function setRolloutState(
  trx: Executor,
  ctx: WorkflowContext,
  rolloutId: number,
  from: RolloutState,
  to: RolloutState,
  set: { halted_reason?: string; current_wave?: number; completed_at?: string },
  details: Record<string, unknown>,
): Promise<void> {
  const now = ctx.clock.now().toISOString();
  await trx.updateTable('rollouts').set({ state: to, updated_at: now, ...set }).where('id', '=', rolloutId).execute();
  const { case_id: caseId, current_wave: wave } = await trx.selectFrom('rollouts').select(['case_id', 'current_wave']).where('id', '=', rolloutId).executeTakeFirstOrThrow();
  await recordChange(trx, ctx, {
    jobs: [{ kind: JOB_KINDS.chatUpdate, payload: { caseId: Number(caseId), purpose: 'progress' }, uniqueKey: `rollout:${rolloutId}:progress:${to}:${Number(wave)}` }],
    audit: [
      {
        actor: SYSTEM_ACTOR,
        action: from === to ? 'rollout.wave_started' : 'rollout.state_changed',
        subjectType: 'rollout',
        subjectId: rolloutId,
        before: { state: from },
        after: { state: to, ...set, ...details },
      },
    ],
  });
}

async function advanceToWave(
  trx: Executor,
  ctx: WorkflowContext,
  rolloutState: RolloutState,
  rolloutId: number,
  caseId: number,
  caseState: CaseState,
  wave: number,
  details: Record<string, unknown>,
  artifactProblems: DeployArtifactProblem[] = [],
): Promise<void> {
  const targets = await trx.selectFrom('rollout_targets').select('id').where('rollout_id', '=', rolloutId).where('wave', '=', wave).orderBy('id', 'asc').execute();
  if (targets.length > 0 && artifactProblems.length > 0) {
    await haltForArtifacts(trx, ctx, { rolloutId, rolloutState, caseId, caseState, wave, problems: artifactProblems });
    return;
  }
  if (targets.length > 0) {
    await setRolloutState(trx, ctx, rolloutId, rolloutState, rolloutState, { current_wave: wave }, details);
    await recordChange(trx, ctx, { audit: [], jobs: targets.map((t) => targetJob(Number(t.id))) });
    return;
  }
  const now = ctx.clock.now().toISOString();
  const patchedHosts = trx
    .selectFrom('rollout_targets')
    .select('host_id')
    .where('rollout_id', '=', rolloutId)
    .where('state', 'in', PATCHED_TARGET_STATES);
  const resolved = await trx
    .updateTable('exposures')
    .set({ status: 'resolved', resolved_at: now })
    .where('case_id', '=', caseId)
    .where('status', '=', 'open')
    .where('host_id', 'in', patchedHosts)
    .executeTakeFirst();
  await setRolloutState(trx, ctx, rolloutId, rolloutState, 'completed', { completed_at: now }, { ...details, resolvedExposures: Number(resolved.numUpdatedRows) });
  await moveCase(trx, ctx, { caseId, from: caseState, via: ['deploying'], to: 'completed', actor: SYSTEM_ACTOR });
  // Managers get the post-implementation review in chat (reviews.ts), once per rollout.
  await recordChange(trx, ctx, { audit: [], jobs: [{ kind: JOB_KINDS.reviewPost, payload: { caseId, rolloutId }, uniqueKey: `rollout:${rolloutId}:review_summary` }] });
}

// ---- Reading rollouts (for the CLI and other faces) ----

export interface RolloutListItem {
  id: number;
  caseId: number;
  caseTitle: string;
  state: RolloutState;
  connector: string;
  startedBy: string;
  currentWave: number;
  waves: number;
  targets: number;
  failed: number;
  createdAt: string;
  completedAt: string | null;
}

export async function listRollouts(db: Executor): Promise<RolloutListItem[]> {
  const rows = await db
    .selectFrom('rollouts')
    .innerJoin('cases', 'cases.id', 'rollouts.case_id')
    .leftJoin('rollout_targets', 'rollout_targets.rollout_id', 'rollouts.id')
    .select((eb) => [
      'rollouts.id',
      'rollouts.case_id',
      'cases.title',
      'rollouts.state',
      'rollouts.connector',
      'rollouts.started_by',
      'rollouts.current_wave',
      'rollouts.created_at',
      'rollouts.completed_at',
      eb.fn.count('rollout_targets.id').as('targets'),
      eb.fn.max('rollout_targets.wave').as('last_wave'),
      eb.fn.sum(eb.case().when('rollout_targets.state', 'in', ['failed', 'reboot_failed']).then(1).else(0).end()).as('failed'),
    ])
    .groupBy(['rollouts.id', 'rollouts.case_id', 'cases.title', 'rollouts.state', 'rollouts.connector', 'rollouts.started_by', 'rollouts.current_wave', 'rollouts.created_at', 'rollouts.completed_at'])
    .orderBy('rollouts.id', 'desc')
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    caseId: Number(r.case_id),
    caseTitle: r.title,
    state: r.state as RolloutState,
    connector: r.connector,
    startedBy: r.started_by,
    currentWave: Number(r.current_wave),
    waves: r.last_wave === null || r.last_wave === undefined ? 0 : Number(r.last_wave) + 1,
    targets: Number(r.targets),
    failed: Number(r.failed ?? 0),
    createdAt: r.created_at,
    completedAt: r.completed_at,
  }));
}

