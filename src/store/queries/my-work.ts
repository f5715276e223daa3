import type { CaseState, RolloutState, Severity, TargetState, VoteDecision, VoteStage } from '../../core/types.js';
import type { Executor } from '../db.js';

/** Read-only queries behind the chat faces' "what is waiting for me" views (Slack's /patchdeck mine and App Home). */

export interface OpenDecision {
  caseId: number;
  title: string;
  severity: Severity;
  caseState: CaseState;
  dueAt: string;
  requestedBy: string;
  /** The decision the case waits for: approval, or the pilot sign-off of its latest rollout. */
  stage: VoteStage;
  rollout: { id: number; state: RolloutState; startedBy: string } | null;
  /** Counted votes only: a vote voided by a plan change leaves the decision open for that person again. */
  votes: { person: string; decision: VoteDecision }[];
  /** The plan the approval is bound to; approval buttons carry it. */
  planHash: string | null;
}

/** Cases waiting for a vote: awaiting approval, or piloting with the latest rollout awaiting sign-off. Oldest due first. */
export async function listOpenDecisions(db: Executor, options: { limit: number }): Promise<OpenDecision[]> {
  const cases = await db
    .selectFrom('cases')
    .select(['id', 'title', 'severity', 'state', 'due_at', 'requested_by', 'plan_hash'])
    .where('state', 'in', ['awaiting_approval', 'piloting'])
    .orderBy('due_at', 'asc')
    .orderBy('id', 'asc')
    .execute();
  if (cases.length === 0) return [];
  const ids = cases.map((c) => Number(c.id));
  const rollouts = await db
    .selectFrom('rollouts')
    .select(['id', 'case_id', 'state', 'started_by'])
    .where('case_id', 'in', ids)
    .orderBy('id', 'desc')
    .execute();
  const latestRollout = new Map<number, (typeof rollouts)[number]>();
  for (const r of rollouts) if (!latestRollout.has(Number(r.case_id))) latestRollout.set(Number(r.case_id), r);

  const decisions: OpenDecision[] = [];
  for (const c of cases) {
    const rollout = latestRollout.get(Number(c.id)) ?? null;
    const stage: VoteStage | null = c.state === 'awaiting_approval' ? 'approval' : rollout?.state === 'awaiting_signoff' ? 'pilot_signoff' : null;
    if (stage === null) continue;
    decisions.push({
      caseId: Number(c.id),
      title: c.title,
      severity: c.severity as Severity,
      caseState: c.state as CaseState,
      dueAt: c.due_at,
      requestedBy: c.requested_by,
      stage,
      rollout: rollout ? { id: Number(rollout.id), state: rollout.state as RolloutState, startedBy: rollout.started_by } : null,
      votes: [],
      planHash: c.plan_hash,
    });
    if (decisions.length >= options.limit) break;
  }
  if (decisions.length === 0) return decisions;
  const votes = await db
    .selectFrom('votes')
    .select(['case_id', 'stage', 'person', 'decision'])
    .where('case_id', 'in', decisions.map((d) => d.caseId))
    .where('status', '=', 'counted')
    .execute();
  for (const d of decisions) {
    d.votes = votes.filter((v) => Number(v.case_id) === d.caseId && v.stage === d.stage).map((v) => ({ person: v.person, decision: v.decision as VoteDecision }));
  }
  return decisions;
}

export interface StartedRollout {
  rolloutId: number;
  caseId: number;
  title: string;
  state: RolloutState;
  currentWave: number;
  createdAt: string;
}

/** Rollouts a person started that have not completed, newest first. */
export async function listUnfinishedRolloutsStartedBy(db: Executor, personId: string, options: { limit: number }): Promise<StartedRollout[]> {
  const rows = await db
    .selectFrom('rollouts')
    .innerJoin('cases', 'cases.id', 'rollouts.case_id')
    .select(['rollouts.id', 'rollouts.case_id', 'cases.title', 'rollouts.state', 'rollouts.current_wave', 'rollouts.created_at'])
    .where('rollouts.started_by', '=', personId)
    .where('rollouts.state', '!=', 'completed')
    .orderBy('rollouts.id', 'desc')
    .limit(options.limit)
    .execute();
  return rows.map((r) => ({
    rolloutId: Number(r.id),
    caseId: Number(r.case_id),
    title: r.title,
    state: r.state as RolloutState,
    currentWave: Number(r.current_wave),
    createdAt: r.created_at,
  }));
}

export interface HostReboot {
  rolloutId: number;
  caseId: number;
  hostName: string;
  owner: string;
  state: TargetState;
  updatedAt: string;
}

/** Rollout targets waiting for, or stuck after, a reboot on hosts whose inventory owner is one of `owners`. */
export async function listRebootsOfOwners(db: Executor, owners: readonly string[], options: { limit: number }): Promise<HostReboot[]> {
  if (owners.length === 0) return [];
  const rows = await db
    .selectFrom('rollout_targets')
    .innerJoin('hosts', 'hosts.id', 'rollout_targets.host_id')
    .innerJoin('rollouts', 'rollouts.id', 'rollout_targets.rollout_id')
    .select(['rollout_targets.rollout_id', 'rollouts.case_id', 'rollout_targets.host_name', 'hosts.owner', 'rollout_targets.state', 'rollout_targets.updated_at'])
    .where('rollout_targets.state', 'in', ['reboot_pending', 'reboot_failed'])
    .where('hosts.owner', 'in', [...owners])
    .orderBy('rollout_targets.updated_at', 'asc')
    .orderBy('rollout_targets.id', 'asc')
    .limit(options.limit)
    .execute();
  return rows.map((r) => ({
    rolloutId: Number(r.rollout_id),
    caseId: Number(r.case_id),
    hostName: r.host_name,
    owner: r.owner,
    state: r.state as TargetState,
    updatedAt: r.updated_at,
  }));
}
