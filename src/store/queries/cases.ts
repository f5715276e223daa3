import { sql } from 'kysely';
import type { CaseState, KevFacts, RolloutState, Severity, TargetState, VoteDecision, VoteStage } from '../../core/types.js';
import type { Executor } from '../db.js';
import { fromJson } from '../json.js';

export interface VoteView {
  stage: VoteStage;
  person: string;
  decision: VoteDecision;
  via: string;
  comment: string | null;
  at: string;
}

/** A `votes` row as people see it (stage and decision are checked on the way in, so the casts hold). */
export function toVoteView(row: { stage: string; person: string; decision: string; via: string; comment: string | null; at: string }): VoteView {
  return { stage: row.stage as VoteStage, person: row.person, decision: row.decision as VoteDecision, via: row.via, comment: row.comment, at: row.at };
}

export interface RolloutSummary {
  id: number;
  state: RolloutState;
  connector: string;
  startedBy: string;
  currentWave: number;
  waves: number;
  haltedReason: string | null;
  createdAt: string;
  completedAt: string | null;
  targets: number;
  byState: Partial<Record<TargetState, number>>;
}

export interface CaseView {
  id: number;
  advisoryId: string;
  title: string;
  severity: Severity;
  state: CaseState;
  reasons: string[];
  requestedBy: string;
  dueAt: string;
  createdAt: string;
  updatedAt: string;
  decidedAt: string | null;
  planHash: string | null;
  channel: string | null;
  advisory: {
    id: string;
    source: string;
    title: string;
    summary: string;
    url: string | null;
    cves: string[];
    cvssScore: number | null;
    kev: KevFacts | null;
  };
  affectedHosts: number;
  openExposures: number;
  votes: VoteView[];
  rollout: RolloutSummary | null;
}

export interface CaseListItem {
  id: number;
  advisoryId: string;
  title: string;
  severity: Severity;
  state: CaseState;
  dueAt: string;
  createdAt: string;
  affectedHosts: number;
  openExposures: number;
}

export async function listCases(db: Executor, filter: { states?: CaseState[] } = {}): Promise<CaseListItem[]> {
  let query = db
    .selectFrom('cases')
    .leftJoin('exposures', 'exposures.case_id', 'cases.id')
    .select([
      'cases.id',
      'cases.advisory_id',
      'cases.title',
      'cases.severity',
      'cases.state',
      'cases.due_at',
      'cases.created_at',
      sql<number>`count(distinct exposures.host_id)`.as('hosts'),
      sql<number>`sum(case when exposures.status = 'open' then 1 else 0 end)`.as('open_exposures'),
    ])
    .groupBy(['cases.id', 'cases.advisory_id', 'cases.title', 'cases.severity', 'cases.state', 'cases.due_at', 'cases.created_at'])
    .orderBy('cases.id', 'asc');
  if (filter.states && filter.states.length > 0) query = query.where('cases.state', 'in', filter.states);
  const rows = await query.execute();
  return rows.map((r) => ({
    id: Number(r.id),
    advisoryId: r.advisory_id,
    title: r.title,
    severity: r.severity as Severity,
    state: r.state as CaseState,
    dueAt: r.due_at,
    createdAt: r.created_at,
    affectedHosts: Number(r.hosts ?? 0),
    openExposures: Number(r.open_exposures ?? 0),
  }));
}

export async function getRolloutSummary(db: Executor, rolloutId: number): Promise<RolloutSummary | null> {
  const rollout = await db.selectFrom('rollouts').selectAll().where('id', '=', rolloutId).executeTakeFirst();
  if (!rollout) return null;
  const counts = await db
    .selectFrom('rollout_targets')
    .select(['state', sql<number>`count(*)`.as('n')])
    .where('rollout_id', '=', rolloutId)
    .groupBy('state')
    .execute();
  const waves = await db
    .selectFrom('rollout_targets')
    .select(sql<number>`max(wave)`.as('w'))
    .where('rollout_id', '=', rolloutId)
    .executeTakeFirst();
  const byState: Partial<Record<TargetState, number>> = {};
  let targets = 0;
  for (const c of counts) {
    byState[c.state as TargetState] = Number(c.n);
    targets += Number(c.n);
  }
  return {
    id: Number(rollout.id),
    state: rollout.state as RolloutState,
    connector: rollout.connector,
    startedBy: rollout.started_by,
    currentWave: Number(rollout.current_wave),
    waves: waves?.w === null || waves?.w === undefined ? 0 : Number(waves.w) + 1,
    haltedReason: rollout.halted_reason,
    createdAt: rollout.created_at,
    completedAt: rollout.completed_at,
    targets,
    byState,
  };
}

export async function getCaseView(db: Executor, caseId: number): Promise<CaseView | null> {
  const row = await db.selectFrom('cases').selectAll().where('id', '=', caseId).executeTakeFirst();
  if (!row) return null;
  const advisory = await db.selectFrom('advisories').selectAll().where('id', '=', row.advisory_id).executeTakeFirstOrThrow();
  const exposure = await db
    .selectFrom('exposures')
    .select([
      sql<number>`count(distinct host_id)`.as('hosts'),
      sql<number>`sum(case when status = 'open' then 1 else 0 end)`.as('open'),
    ])
    .where('case_id', '=', caseId)
    .executeTakeFirst();
  const cves = fromJson<string[]>(advisory.cves, []);
  // KEV facts come from the advisory itself or from a KEV entry about one of its CVEs.
  let kev = fromJson<KevFacts | null>(advisory.kev, null);
  if (kev === null && cves.length > 0) {
    const kevRow = await db
      .selectFrom('advisory_cves')
      .innerJoin('advisories', 'advisories.id', 'advisory_cves.advisory_id')
      .select('advisories.kev')
      .where('advisory_cves.cve', 'in', cves)
      .where('advisories.kev', 'is not', null)
      .limit(1)
      .executeTakeFirst();
    kev = fromJson<KevFacts | null>(kevRow?.kev, null);
  }
  const votes = await db.selectFrom('votes').selectAll().where('case_id', '=', caseId).orderBy('id', 'asc').execute();
  const latestRollout = await db
    .selectFrom('rollouts')
    .select('id')
    .where('case_id', '=', caseId)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return {
    id: Number(row.id),
    advisoryId: row.advisory_id,
    title: row.title,
    severity: row.severity as Severity,
    state: row.state as CaseState,
    reasons: fromJson<string[]>(row.reasons, []),
    requestedBy: row.requested_by,
    dueAt: row.due_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    decidedAt: row.decided_at,
    planHash: row.plan_hash,
    channel: row.channel,
    advisory: {
      id: advisory.id,
      source: advisory.source,
      title: advisory.title,
      summary: advisory.summary,
      url: advisory.url,
      cves,
      cvssScore: advisory.cvss_score === null ? null : Number(advisory.cvss_score),
      kev,
    },
    affectedHosts: Number(exposure?.hosts ?? 0),
    openExposures: Number(exposure?.open ?? 0),
    votes: votes.map(toVoteView),
    rollout: latestRollout ? await getRolloutSummary(db, Number(latestRollout.id)) : null,
  };
}

export interface RolloutTargetRow {
  id: number;
  hostId: number;
  hostName: string;
  wave: number;
  ring: string;
  state: TargetState;
  detail: string | null;
  attempts: number;
  updatedAt: string;
}

/**
 * A rollout's targets, wave by wave: by host name within a wave and ring for people reading a page,
 * or in dispatch order (`by: 'dispatch'`) for the operator's status listing.
 */
export async function listRolloutTargets(db: Executor, rolloutId: number, options: { by?: 'host' | 'dispatch' } = {}): Promise<RolloutTargetRow[]> {
  let query = db.selectFrom('rollout_targets').selectAll().where('rollout_id', '=', rolloutId).orderBy('wave', 'asc');
  query = options.by === 'dispatch' ? query.orderBy('id', 'asc') : query.orderBy('ring', 'asc').orderBy('host_name', 'asc');
  const rows = await query.execute();
  return rows.map((r) => ({
    id: Number(r.id),
    hostId: Number(r.host_id),
    hostName: r.host_name,
    wave: Number(r.wave),
    ring: r.ring,
    state: r.state as TargetState,
    detail: r.detail,
    attempts: Number(r.attempts),
    updatedAt: r.updated_at,
  }));
}
