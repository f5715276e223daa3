import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSilentLogger } from '../../src/app/logger.js';
import { parseConfig } from '../../src/config/load.js';
import { createConnectorRegistry } from '../../src/connectors/index.js';
import { fixedClock } from '../../src/core/clock.js';
import type { CaseState, Criticality } from '../../src/core/types.js';
import type { Executor } from '../../src/store/db.js';
import { claimJob, completeJob } from '../../src/store/jobs.js';
import { toJson } from '../../src/store/json.js';
import { castVote } from '../../src/workflow/approvals.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { createRolloutJobHandlers } from '../../src/workflow/rollouts.js';
import type { StoreContext } from './stores.js';
import { runCliCaptured } from './cli.js';

/**
 * Rows written straight into the tables (advisory, hosts, exposures, case), so approval, rollout and
 * review tests do not depend on the feed, inventory and assess services.
 */
export const OPENED_AT = '2026-11-23T08:00:00.000Z';

export interface FixturePackage {
  ecosystem?: string;
  name: string;
  installed?: string;
  fixed?: string | null;
}

export interface FixtureHost {
  name: string;
  role?: string;
  criticality?: Criticality;
  usage?: number;
  groups?: string[];
  packages?: FixturePackage[];
}

export interface FixtureCase {
  advisoryId?: string;
  title?: string;
  cves?: string[];
  state?: CaseState;
  requestedBy?: string;
  createdAt?: string;
  dueAt?: string;
  hosts: FixtureHost[];
}

export const DEFAULT_PACKAGES: FixturePackage[] = [
  { ecosystem: 'Ubuntu:22.04:LTS', name: 'libssl3', installed: '3.0.2-0ubuntu1.10', fixed: '3.0.2-0ubuntu1.18' },
];

/** A fleet of `n` hosts: two servers, the rest workstations; hosts listed in `pilot` carry the pilot group. */
export function fleet(n: number, options: { pilot?: number[]; packages?: FixturePackage[]; prefix?: string } = {}): FixtureHost[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `${options.prefix ?? 'host'}-${String(i + 1).padStart(3, '0')}`,
    role: i < 2 ? 'server' : 'workstation',
    criticality: (['low', 'medium', 'high'] as const)[i % 3]!,
    usage: Math.round(((i * 37) % 100) / 10) / 10,
    groups: options.pilot?.includes(i) ? ['pilot'] : [],
    packages: options.packages ?? DEFAULT_PACKAGES,
  }));
}

export async function insertFixtureCase(db: Executor, input: FixtureCase): Promise<{ caseId: number; hostIds: number[] }> {
  const advisoryId = input.advisoryId ?? 'USN-7001-1';
  const createdAt = input.createdAt ?? OPENED_AT;
  const dueAt = input.dueAt ?? '2026-11-24T08:00:00.000Z';
  const title = input.title ?? 'OpenSSL vulnerabilities';
  await db
    .insertInto('advisories')
    .values({
      id: advisoryId,
      source: 'osv',
      trust: 'authoritative',
      title,
      summary: 'Several security issues were fixed in OpenSSL.',
      url: `https://ubuntu.com/security/notices/${advisoryId}`,
      published_at: createdAt,
      modified_at: createdAt,
      withdrawn_at: null,
      cves: toJson(input.cves ?? ['CVE-2026-1001', 'CVE-2026-1002']),
      affected: toJson([]),
      cvss_score: 9.8,
      cvss_vector: null,
      kev: null,
      vendor_severity: null,
      content_hash: 'fixture',
      ingested_at: createdAt,
      updated_at: createdAt,
    })
    .execute();
  const caseRow = await db
    .insertInto('cases')
    .values({
      advisory_id: advisoryId,
      title,
      severity: 'critical',
      state: input.state ?? 'awaiting_approval',
      reasons: toJson(['Critical CVSS 9.8']),
      requested_by: input.requestedBy ?? 'patchdeck',
      due_at: dueAt,
      created_at: createdAt,
      updated_at: createdAt,
      decided_at: null,
      plan_hash: null,
      channel: '#patching',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const caseId = Number(caseRow.id);
  const hostIds: number[] = [];
  for (const host of input.hosts) {
    let hostId: number;
    const existing = await db.selectFrom('hosts').select('id').where('name', '=', host.name).executeTakeFirst();
    if (existing) {
      hostId = Number(existing.id);
    } else {
      const row = await db
        .insertInto('hosts')
        .values({
          name: host.name,
          os: 'Ubuntu 22.04',
          role: host.role ?? 'workstation',
          criticality: host.criticality ?? 'medium',
          usage: host.usage ?? 0.5,
          owner: 'ops',
          groups: toJson(host.groups ?? []),
          source: 'fixture',
          created_at: createdAt,
          updated_at: createdAt,
          last_seen_at: createdAt,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      hostId = Number(row.id);
    }
    hostIds.push(hostId);
    for (const p of host.packages ?? DEFAULT_PACKAGES) {
      await db
        .insertInto('exposures')
        .values({
          host_id: hostId,
          advisory_id: advisoryId,
          ecosystem: p.ecosystem ?? 'Ubuntu:22.04:LTS',
          package: p.name,
          installed: p.installed ?? '1.0-1',
          fixed: p.fixed === undefined ? '1.0-2' : p.fixed,
          severity: 'critical',
          reasons: toJson([]),
          detected_at: createdAt,
          due_at: dueAt,
          status: 'open',
          resolved_at: null,
          case_id: caseId,
        })
        .execute();
    }
  }
  return { caseId, hostIds };
}

export const PEOPLE = [
  { id: 'alice', name: 'Alice Approver', groups: ['approvers'] },
  { id: 'bob', name: 'Bob Approver', groups: ['approvers'] },
  { id: 'carol', name: 'Carol Approver', groups: ['approvers', 'cab'] },
  { id: 'dave', name: 'Dave Operator', groups: ['ops'] },
  { id: 'rita', name: 'Rita Requester', groups: ['approvers'] },
];

// ---- For CLI tests: a config file, an in-process run, and a case whose pilot has run ----

export const CLI_NOW = '2026-11-23T09:00:00.000Z';

/** The people and rollout settings as YAML (JSON is valid YAML). */
export function writeCliConfig(dir: string): string {
  const file = path.join(dir, 'patchdeck.yaml');
  writeFileSync(file, `timezone: Europe/Berlin\npeople: ${JSON.stringify(PEOPLE)}\nrollout: { waveSize: 4 }\nconnectors: { simulator: { seed: 2, failureRate: 0, rebootFailureRate: 0, delayMs: 0 } }\n`);
  return file;
}

export async function runCliFor(s: StoreContext, configFile: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return runCliCaptured(argv, { env: { DATABASE_URL: s.url, PATCHDECK_CONFIG: configFile, USER: 'carol', LOG_LEVEL: 'silent' }, cwd: tmpdir(), clock: fixedClock(CLI_NOW) });
}

/** Approves a six-host case (two pilots) as alice and runs its pilot: the rollout then waits for sign-off. */
export async function pilotedCase(s: StoreContext, simulator: Record<string, unknown> = {}): Promise<{ caseId: number; ctx: WorkflowContext }> {
  const ctx: WorkflowContext = {
    store: s.store,
    clock: fixedClock(CLI_NOW),
    logger: createSilentLogger(),
    config: parseConfig({ timezone: 'Europe/Berlin', people: PEOPLE, rollout: { waveSize: 4 }, connectors: { simulator: { seed: 2, failureRate: 0, rebootFailureRate: 0, delayMs: 0, ...simulator } } }),
  };
  const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(6, { pilot: [0, 4] }) });
  await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'cli' });
  const handlers = createRolloutJobHandlers({ connectors: createConnectorRegistry(ctx.config) });
  for (;;) {
    const job = await claimJob(s.store, { owner: 'test', now: ctx.clock.now(), leaseMs: 60_000, kinds: Object.keys(handlers) });
    if (!job) break;
    await handlers[job.kind]!(ctx, job);
    await completeJob(s.store.db, job, ctx.clock.now());
  }
  return { caseId, ctx };
}
