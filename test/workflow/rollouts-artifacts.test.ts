import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createConnectorRegistry, type ConnectorLookup } from '../../src/connectors/index.js';
import type { Connector, ConnectorTarget } from '../../src/connectors/types.js';
import { planHash } from '../../src/core/rollout-plan.js';
import { listAudit, verifyAuditChain } from '../../src/store/audit.js';
import type { Executor } from '../../src/store/db.js';
import { claimJob, completeJob } from '../../src/store/jobs.js';
import { fromJson } from '../../src/store/json.js';
import { createWebApp } from '../../src/web/app.js';
import { castVote } from '../../src/workflow/approvals.js';
import { artifactPath, fetchCaseArtifacts } from '../../src/workflow/artifacts.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import type { JobHandlers } from '../../src/workflow/jobs.js';
import { createRolloutJobHandlers, type StoredPlan } from '../../src/workflow/rollouts.js';
import { fleet, insertFixtureCase, PEOPLE } from '../helpers/case-fixtures.js';
import { createTestContext } from '../helpers/context.js';
import { startFeedServer, type FeedServer } from '../helpers/feed-server.js';
import { describeEachStore } from '../helpers/stores.js';
import { listen } from '../web/seed.js';

const sha256 = (body: Buffer | string) => createHash('sha256').update(body).digest('hex');
const DEB = Buffer.from('!<arch>\ndebian-binary   libssl3 3.0.2-0ubuntu1.18 payload for the rollout\n');
const DEB_FILE = 'libssl3_3.0.2-0ubuntu1.18_amd64.deb';
const CURL = [{ ecosystem: 'Ubuntu:22.04:LTS', name: 'curl', installed: '7.81.0-1ubuntu1.13', fixed: '7.81.0-1ubuntu1.16' }];

let server: FeedServer;
beforeAll(async () => {
  server = await startFeedServer();
});
afterAll(async () => {
  await server.close();
});

/** Wraps the real simulator and keeps every target it was handed, so tests see what the connector got. */
function recordingConnectors(ctx: WorkflowContext, afterInstall?: (count: number) => void): { lookup: ConnectorLookup; installs: ConnectorTarget[] } {
  const registry = createConnectorRegistry(ctx.config);
  const installs: ConnectorTarget[] = [];
  return {
    installs,
    lookup: {
      get(kind) {
        const inner = registry.get(kind);
        const wrapped: Connector = {
          kind: inner.kind,
          install: async (target, signal) => {
            installs.push(structuredClone(target));
            const result = await inner.install(target, signal);
            afterInstall?.(installs.length);
            return result;
          },
          reboot: (target, signal) => inner.reboot(target, signal),
          getState: (target) => inner.getState(target),
        };
        return wrapped;
      },
    },
  };
}

async function drain(ctx: WorkflowContext, handlers: JobHandlers): Promise<string[]> {
  const ran: string[] = [];
  for (;;) {
    const job = await claimJob(ctx.store, { owner: 'test', now: ctx.clock.now(), leaseMs: 60_000, kinds: Object.keys(handlers) });
    if (!job) return ran;
    await handlers[job.kind]!(ctx, job);
    expect(await completeJob(ctx.store.db, job, ctx.clock.now())).toBe(true);
    ran.push(job.kind);
  }
}

async function targetsOf(db: Executor) {
  return db.selectFrom('rollout_targets').selectAll().orderBy('wave', 'asc').orderBy('id', 'asc').execute();
}

describeEachStore('rollouts with cached artifacts', (s) => {
  let dir: string;
  let prefix: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-rollout-artifacts-'));
    prefix = `r${Math.random().toString(36).slice(2, 10)}`;
    server.serve(`${prefix}/pool/${DEB_FILE}`, DEB);
    return () => rmSync(dir, { recursive: true, force: true });
  });

  const setup = (extra: Record<string, unknown> = {}, afterInstall?: (count: number) => void) => {
    const { ctx, clock } = createTestContext(s.store, {
      people: PEOPLE,
      rollout: { waveSize: 4, failureThreshold: 0.2 },
      connectors: { simulator: { seed: 11, failureRate: 0, rebootFailureRate: 0, delayMs: 0 } },
      maintenance: { rebootNotices: false },
      fetch: { maxBytes: 1024 * 1024, timeoutMs: 2000, maxRedirects: 2, allowHosts: ['127.0.0.1'] },
      artifacts: { dir, sources: [{ ecosystem: 'Ubuntu:*', packages: ['libssl3'], url: `${server.url}/file/${prefix}/pool/{name}_{version}_amd64.deb` }] },
      ...extra,
    });
    const { lookup, installs } = recordingConnectors(ctx, afterInstall);
    return { ctx, clock, installs, handlers: createRolloutJobHandlers({ connectors: lookup }) };
  };

  /** Six hosts, two pilots (host-001 and host-005); host-002 and host-004 have curl, for which nothing is cached. */
  const fleetWithCurl = () => fleet(6, { pilot: [0, 4] }).map((h, i) => (i === 1 || i === 3 ? { ...h, packages: CURL } : h));

  it('hands each host the verified artifact of its package, records it per host and shows it on the rollout and review pages', async () => {
    const { ctx, clock, installs, handlers } = setup();
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleetWithCurl() });
    const fetched = await fetchCaseArtifacts(ctx, { caseId, actor: 'cli:alice' });
    expect(fetched.artifacts.map((a) => a.status)).toEqual(['fetched']);
    const file = artifactPath(dir, sha256(DEB));

    await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'cli' });
    clock.advance(60_000);
    await drain(ctx, handlers);
    const rollout = await s.store.db.selectFrom('rollouts').selectAll().executeTakeFirstOrThrow();
    expect(rollout.state).toBe('awaiting_signoff');
    const plan = fromJson<StoredPlan>(rollout.plan, { pilotBasis: 'none', waves: [], planHash: '', settings: {} as StoredPlan['settings'] });
    const expected = { url: `${server.url}/file/${prefix}/pool/${DEB_FILE}`, sha256: sha256(DEB), size: DEB.length, fileName: DEB_FILE, package: 'libssl3', ecosystem: 'Ubuntu:22.04:LTS' };
    expect(plan.artifacts).toEqual([expected]);
    // The plan hash binds the file's hash too.
    expect(plan.planHash).toBe(planHash(caseId, 'simulator', plan, [expected]));
    expect(plan.planHash).not.toBe(planHash(caseId, 'simulator', plan));

    const pilot = installs.map((t) => [t.hostName, t.artifacts]).sort();
    expect(pilot).toEqual([
      ['host-001', [{ package: 'libssl3', path: file, sha256: sha256(DEB), size: DEB.length, fileName: DEB_FILE, url: expected.url }]],
      ['host-005', [{ package: 'libssl3', path: file, sha256: sha256(DEB), size: DEB.length, fileName: DEB_FILE, url: expected.url }]],
    ]);
    // libssl3 needs a reboot, so the install's line is in its audit event (the target's detail is the reboot's).
    const installedEvents = (await listAudit(s.store.db, { subjectType: 'rollout_target' })).filter((e) => (e.after as { state: string }).state === 'installed');
    for (const e of installedEvents) expect((e.after as { detail: string }).detail).toContain(`from ${DEB_FILE} (sha256 ${sha256(DEB).slice(0, 12)})`);
    expect(installedEvents.map((e) => (e.after as { artifacts?: unknown }).artifacts)).toEqual([
      [{ package: 'libssl3', fileName: DEB_FILE, sha256: sha256(DEB) }],
      [{ package: 'libssl3', fileName: DEB_FILE, sha256: sha256(DEB) }],
    ]);

    await castVote(ctx, { caseId, stage: 'pilot_signoff', personId: 'bob', decision: 'approve', via: 'cli' });
    clock.advance(60_000);
    await drain(ctx, handlers);
    expect((await s.store.db.selectFrom('rollouts').select('state').executeTakeFirstOrThrow()).state).toBe('completed');
    // curl hosts got no artifact (none cached, policy off) and installed anyway.
    expect(installs.filter((t) => t.packages[0]!.name === 'curl').map((t) => [t.hostName, t.artifacts])).toEqual([
      ['host-002', []],
      ['host-004', []],
    ]);
    expect(installs.filter((t) => t.packages[0]!.name === 'libssl3')).toHaveLength(4);
    expect(await verifyAuditChain(s.store.db)).toBeNull();

    const web = await listen(createWebApp({ ctx, slackEnabled: false }));
    try {
      const page = await (await fetch(`${web.url}/rollouts/${Number(rollout.id)}`)).text();
      expect(page).toContain('<th scope="col">Artifact</th>');
      expect(page).toContain(`<code>${DEB_FILE}</code> <span class="muted" title="sha256 ${sha256(DEB)}">${sha256(DEB).slice(0, 12)}</span>`);
      // Two curl hosts have no artifact.
      expect(page.match(/<span class="muted">none<\/span>/g)).toHaveLength(2);
      const review = await (await fetch(`${web.url}/cases/${caseId}/review`)).text();
      expect(review).toContain('Artifacts per host (4)');
      expect(review).toContain(`<code title="${sha256(DEB)}">${sha256(DEB).slice(0, 12)}</code>`);
    } finally {
      await web.close();
    }
  });

  it('halts before the next wave when a cached file was changed on disk, with a security audit event, and deploys nothing from it', async () => {
    const { ctx, clock, installs, handlers } = setup();
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleetWithCurl() });
    await fetchCaseArtifacts(ctx, { caseId, actor: 'cli:alice' });
    await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'cli' });
    await drain(ctx, handlers);
    expect(installs).toHaveLength(2);

    appendFileSync(artifactPath(dir, sha256(DEB)), 'evil');
    await castVote(ctx, { caseId, stage: 'pilot_signoff', personId: 'bob', decision: 'approve', via: 'cli' });
    clock.advance(60_000);
    await drain(ctx, handlers);

    const rollout = await s.store.db.selectFrom('rollouts').selectAll().executeTakeFirstOrThrow();
    expect(rollout.state).toBe('halted');
    expect(rollout.halted_reason).toContain(`wave 1 not started: cached artifact ${DEB_FILE} (sha256 ${sha256(DEB).slice(0, 12)}) no longer matches its hash [PD_ARTIFACT_TAMPERED]`);
    expect(rollout.halted_reason).toContain(`patchdeck patches fetch ${caseId}`);
    expect((await s.store.db.selectFrom('cases').select('state').where('id', '=', caseId).executeTakeFirstOrThrow()).state).toBe('halted');
    // Nothing of wave 1 ran: the connector saw only the pilot.
    expect(installs).toHaveLength(2);
    expect((await targetsOf(s.store.db)).filter((t) => Number(t.wave) > 0).every((t) => t.state === 'queued')).toBe(true);
    const events = (await listAudit(s.store.db, { subjectType: 'rollout', subjectId: Number(rollout.id) })).filter((e) => e.action === 'artifact.verify_failed');
    expect(events).toHaveLength(1);
    expect(events[0]!.after).toMatchObject({
      security: true,
      caseId,
      wave: 1,
      problems: [{ code: 'PD_ARTIFACT_TAMPERED', fileName: DEB_FILE, sha256: sha256(DEB), detail: expect.stringContaining(`${DEB.length + 4} bytes`) }],
    });
    const halts = await s.store.db.selectFrom('jobs').select('unique_key').where('kind', '=', 'chat.post').execute();
    expect(halts.map((j) => j.unique_key)).toContain(`rollout:${Number(rollout.id)}:halt`);
    expect(await verifyAuditChain(s.store.db)).toBeNull();
  });

  it('checks again before every later wave: a file changed during wave 1 stops wave 2', async () => {
    // 10 hosts: pilot 2, wave 1 four hosts, wave 2 four hosts; the file changes right after the 6th install (end of wave 1).
    const { ctx, clock, installs, handlers } = setup({}, (count) => {
      if (count === 6) appendFileSync(artifactPath(dir, sha256(DEB)), 'x');
    });
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(10, { pilot: [0, 4] }) });
    await fetchCaseArtifacts(ctx, { caseId, actor: 'cli:alice' });
    await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'cli' });
    await drain(ctx, handlers);
    await castVote(ctx, { caseId, stage: 'pilot_signoff', personId: 'bob', decision: 'approve', via: 'cli' });
    clock.advance(60_000);
    await drain(ctx, handlers);

    const rollout = await s.store.db.selectFrom('rollouts').selectAll().executeTakeFirstOrThrow();
    expect([rollout.state, Number(rollout.current_wave)]).toEqual(['halted', 1]);
    expect(rollout.halted_reason).toContain('wave 2 not started');
    expect(installs).toHaveLength(6);
    const waves = await targetsOf(s.store.db);
    expect(waves.filter((t) => Number(t.wave) === 1).every((t) => t.state === 'rebooted')).toBe(true);
    expect(waves.filter((t) => Number(t.wave) === 2).every((t) => t.state === 'queued')).toBe(true);
  });

  it('does not start the pilot when a cached file is missing at the start', async () => {
    const { ctx, installs, handlers } = setup();
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleetWithCurl() });
    await fetchCaseArtifacts(ctx, { caseId, actor: 'cli:alice' });
    unlinkSync(artifactPath(dir, sha256(DEB)));
    await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'cli' });
    await drain(ctx, handlers);

    expect(installs).toEqual([]);
    const rollout = await s.store.db.selectFrom('rollouts').selectAll().executeTakeFirstOrThrow();
    expect(rollout.state).toBe('halted');
    expect(rollout.halted_reason).toContain('pilot (wave 0) not started');
    expect(rollout.halted_reason).toContain('is missing [PD_ARTIFACT_MISSING]');
    expect((await targetsOf(s.store.db)).every((t) => t.state === 'queued')).toBe(true);
    const caseMoves = (await listAudit(s.store.db, { subjectType: 'case', subjectId: caseId })).filter((e) => e.action === 'case.state_changed').map((e) => (e.after as { state: string }).state);
    expect(caseMoves).toEqual(['approved', 'piloting', 'halted']);
    const event = (await listAudit(s.store.db, { subjectType: 'rollout' })).find((e) => e.action === 'artifact.verify_failed');
    expect(event?.after).toMatchObject({ security: true, wave: 0, problems: [{ code: 'PD_ARTIFACT_MISSING' }] });
  });

  it('with deploy.requireOfflineArtifacts, fails the hosts whose package has no cached artifact', async () => {
    const { ctx, installs, handlers } = setup({ deploy: { requireOfflineArtifacts: true }, rollout: { waveSize: 4, failureThreshold: 0.6 } });
    // host-002 (curl) is a pilot here beside host-001 (libssl3, cached).
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(6, { pilot: [0, 1] }).map((h, i) => (i === 1 ? { ...h, packages: CURL } : h)) });
    await fetchCaseArtifacts(ctx, { caseId, actor: 'cli:alice' });
    await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'cli' });
    await drain(ctx, handlers);

    expect(installs.map((t) => t.hostName).sort()).toEqual(['host-001', 'host-002']);
    const pilot = Object.fromEntries((await targetsOf(s.store.db)).filter((t) => Number(t.wave) === 0).map((t) => [t.host_name, [t.state, t.detail]]));
    expect(pilot['host-001']![0]).toBe('rebooted');
    expect(pilot['host-002']).toEqual(['failed', expect.stringContaining('no verified offline artifact for curl and deploy.requireOfflineArtifacts is on')]);
    expect(pilot['host-002']![1]).toContain('[PD_ARTIFACT_MISSING]');
  });
});
