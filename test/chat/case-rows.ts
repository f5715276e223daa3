import type { CaseState, KevFacts, RolloutState, Severity, TargetState, VoteDecision, VoteStage } from '../../src/core/types.js';
import type { Executor } from '../../src/store/db.js';
import { toJson } from '../../src/store/json.js';

/**
 * Writes cases, exposures, votes and rollouts straight into the tables, so chat tests do not depend on
 * the assess and rollout services. Only what getCaseView reads is filled in meaningfully.
 */
export const CREATED_AT = '2026-11-20T09:00:00.000Z';

export interface CaseRowInput {
  advisoryId?: string;
  title?: string;
  severity?: Severity;
  state?: CaseState;
  reasons?: string[];
  dueAt?: string;
  decidedAt?: string | null;
  channel?: string | null;
  cves?: string[];
  cvssScore?: number | null;
  kev?: KevFacts | null;
  affectedHosts?: number;
}

let hostCounter = 0;

async function insertHost(db: Executor, name: string): Promise<number> {
  const row = await db
    .insertInto('hosts')
    .values({
      name,
      os: 'Ubuntu 22.04',
      role: 'server',
      criticality: 'medium',
      usage: 0.5,
      owner: 'ops',
      groups: toJson([]),
      source: 'test',
      created_at: CREATED_AT,
      updated_at: CREATED_AT,
      last_seen_at: CREATED_AT,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

export async function insertCase(db: Executor, input: CaseRowInput = {}): Promise<number> {
  const advisoryId = input.advisoryId ?? 'USN-7001-1';
  const title = input.title ?? 'OpenSSL vulnerabilities';
  const severity = input.severity ?? 'critical';
  await db
    .insertInto('advisories')
    .values({
      id: advisoryId,
      source: 'osv',
      trust: 'authoritative',
      title,
      summary: 'Several security issues were fixed in OpenSSL.',
      url: null,
      published_at: CREATED_AT,
      modified_at: CREATED_AT,
      withdrawn_at: null,
      cves: toJson(input.cves ?? ['CVE-2026-1001', 'CVE-2026-1002']),
      affected: toJson([]),
      cvss_score: input.cvssScore === undefined ? 9.8 : input.cvssScore,
      cvss_vector: null,
      kev: input.kev ? toJson(input.kev) : null,
      vendor_severity: null,
      content_hash: 'test',
      ingested_at: CREATED_AT,
      updated_at: CREATED_AT,
    })
    .execute();
  const row = await db
    .insertInto('cases')
    .values({
      advisory_id: advisoryId,
      title,
      severity,
      state: input.state ?? 'awaiting_approval',
      reasons: toJson(input.reasons ?? ['Critical CVSS 9.8 on internet-facing servers', 'Fix available in the archive']),
      requested_by: 'patchdeck',
      due_at: input.dueAt ?? '2026-11-24T11:00:00.000Z',
      created_at: CREATED_AT,
      updated_at: CREATED_AT,
      decided_at: input.decidedAt ?? null,
      plan_hash: null,
      channel: input.channel === undefined ? null : input.channel,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const caseId = Number(row.id);
  for (let i = 0; i < (input.affectedHosts ?? 3); i++) {
    const hostId = await insertHost(db, `web-${++hostCounter}`);
    await db
      .insertInto('exposures')
      .values({
        host_id: hostId,
        advisory_id: advisoryId,
        ecosystem: 'Ubuntu:22.04:LTS',
        package: 'openssl',
        installed: '3.0.2-0ubuntu1.10',
        fixed: '3.0.2-0ubuntu1.12',
        severity,
        reasons: toJson([]),
        detected_at: CREATED_AT,
        due_at: input.dueAt ?? '2026-11-24T11:00:00.000Z',
        status: 'open',
        resolved_at: null,
        case_id: caseId,
      })
      .execute();
  }
  return caseId;
}

export async function setCaseState(db: Executor, caseId: number, state: CaseState, decidedAt: string | null = null): Promise<void> {
  await db.updateTable('cases').set({ state, decided_at: decidedAt }).where('id', '=', caseId).execute();
}

export async function insertVote(
  db: Executor,
  vote: { caseId: number; stage: VoteStage; person: string; decision: VoteDecision; at: string; via?: string },
): Promise<void> {
  await db
    .insertInto('votes')
    .values({ case_id: vote.caseId, stage: vote.stage, person: vote.person, decision: vote.decision, via: vote.via ?? 'slack', comment: null, at: vote.at })
    .execute();
}

export async function insertRollout(
  db: Executor,
  input: { caseId: number; state: RolloutState; startedBy?: string; haltedReason?: string | null; currentWave?: number; targets: { state: TargetState; wave: number }[] },
): Promise<number> {
  const row = await db
    .insertInto('rollouts')
    .values({
      case_id: input.caseId,
      state: input.state,
      connector: 'simulator',
      started_by: input.startedBy ?? 'alice',
      plan: toJson({}),
      current_wave: input.currentWave ?? 0,
      halted_reason: input.haltedReason ?? null,
      created_at: CREATED_AT,
      updated_at: CREATED_AT,
      completed_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const rolloutId = Number(row.id);
  for (const target of input.targets) {
    const name = `pilot-${++hostCounter}`;
    const hostId = await insertHost(db, name);
    await db
      .insertInto('rollout_targets')
      .values({ rollout_id: rolloutId, host_id: hostId, host_name: name, wave: target.wave, ring: target.wave === 0 ? 'pilot' : 'broad', state: target.state, detail: null, attempts: 1, updated_at: CREATED_AT })
      .execute();
  }
  return rolloutId;
}

export async function setRolloutState(db: Executor, rolloutId: number, state: RolloutState): Promise<void> {
  await db.updateTable('rollouts').set({ state }).where('id', '=', rolloutId).execute();
}
