import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/app/logger.js';
import { createRuntime, type Runtime } from '../../src/app/runtime.js';
import { startServer, type RunningServer } from '../../src/app/server.js';
import { runCli } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { loadConfig } from '../../src/config/load.js';
import { fixedClock, type Clock } from '../../src/core/clock.js';
import { listAudit, verifyAuditChain } from '../../src/store/audit.js';
import { getCaseView } from '../../src/store/queries/cases.js';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack.js';
import { blockActionsPayload, formEncodePayload, signSlackBody, TEST_SIGNING_SECRET } from '../helpers/slack-signing.js';
import { describeEachStore } from '../helpers/stores.js';

const NOW = '2026-11-23T09:00:00.000Z';
const NOW_SECONDS = Math.floor(new Date(NOW).getTime() / 1000);
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/feeds');

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function makeCli(env: Record<string, string>, cwd: string, clock: Clock) {
  return async (...argv: string[]): Promise<CliRun> => {
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
      readStdin: async () => '',
      env: { ...env, LOG_LEVEL: 'silent' },
      cwd,
    };
    const code = await runCli(argv, io, { clock });
    return { code, stdout, stderr };
  };
}

/** Eight Ubuntu 20.04 hosts with the sudo that CVE-2021-3156 (in CISA KEV) breaks; one volunteers as pilot. */
function fleet() {
  const host = (name: string, role: string, criticality: string, usage: number, groups: string[]) => ({
    name,
    os: 'Ubuntu:20.04:LTS',
    role,
    criticality,
    usage,
    owner: 'ops@example.com',
    groups,
    packages: [{ ecosystem: 'Ubuntu:20.04:LTS', name: 'sudo', version: '1.8.31-1ubuntu1.1' }],
  });
  return [
    host('srv-db-01', 'database', 'critical', 0.95, ['servers']),
    host('srv-web-01', 'server', 'high', 0.9, ['servers']),
    host('ws-fin-001', 'workstation', 'medium', 0.8, ['finance']),
    host('ws-fin-002', 'workstation', 'medium', 0.3, ['finance']),
    host('ws-eng-003', 'workstation', 'low', 0.6, ['engineering']),
    host('ws-eng-004', 'workstation', 'low', 0.4, ['engineering']),
    host('lt-sal-005', 'laptop', 'low', 0.5, ['sales']),
    host('ws-it-006', 'workstation', 'low', 0.7, ['it', 'pilot']),
  ];
}

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

describeEachStore('end to end: the whole patch cycle', (s) => {
  it('detects, assesses, alerts in Slack, approves, pilots, signs off, deploys and reviews', async () => {
    const slack: FakeSlack = await startFakeSlack();
    cleanup.push(() => slack.close());
    const dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-e2e-'));
    const configFile = path.join(dir, 'patchdeck.yaml');
    writeFileSync(
      configFile,
      [
        'timezone: Europe/Berlin',
        'publicUrl: http://patchdeck.test',
        'people:',
        '  - { id: alice, name: Alice Approver, groups: [approvers], slack: U0ALICE }',
        '  - { id: bob, name: Bob Approver, groups: [approvers], slack: U0BOB }',
        '  - { id: mallory, name: Mallory Intern, groups: [], slack: U0MALLORY }',
        'slack:',
        '  botToken: xoxb-test-token',
        `  signingSecret: ${TEST_SIGNING_SECRET}`,
        `  apiUrl: ${slack.url}`,
        '  botUserId: U0PATCHBOT',
        'routing:',
        '  defaultChannel: "#patching"',
        '  rules:',
        '    - { channel: "#patch-critical", severity: [critical] }',
        'policy: { alertThreshold: high }',
        'rollout: { connector: simulator, pilotGroup: pilot, waveSize: 3, failureThreshold: 0.5 }',
        'connectors: { simulator: { seed: 3, failureRate: 0, rebootFailureRate: 0, delayMs: 0 } }',
        'worker: { concurrency: 2, pollMs: 20 }',
        '',
      ].join('\n'),
    );
    const hostsFile = path.join(dir, 'hosts.json');
    writeFileSync(hostsFile, JSON.stringify(fleet()));
    const clock = fixedClock(NOW);
    const cli = makeCli({ DATABASE_URL: s.url, PATCHDECK_CONFIG: configFile }, dir, clock);

    // 1. Detect.
    const kev = await cli('feeds', 'ingest', '--kind', 'kev', '--file', path.join(FIXTURES, 'kev/known_exploited_vulnerabilities.json'), '--json');
    expect(kev.code, kev.stderr).toBe(0);
    expect(JSON.parse(kev.stdout)).toMatchObject({ added: 1404 });
    const osv = await cli('feeds', 'ingest', '--kind', 'osv', '--file', path.join(FIXTURES, 'osv/ubuntu'), '--json');
    expect(osv.code, osv.stderr).toBe(0);
    const again = await cli('feeds', 'ingest', '--kind', 'osv', '--file', path.join(FIXTURES, 'osv/ubuntu'), '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ added: 0, updated: 0 });

    // 2. Inventory, 4. assess.
    const imported = await cli('inventory', 'import', hostsFile, '--format', 'json');
    expect(imported.code, imported.stderr).toBe(0);
    const assessed = await cli('assess', '--json');
    expect(assessed.code, assessed.stderr).toBe(0);
    const exposures = JSON.parse((await cli('exposures', 'list', '--json')).stdout) as { host: string; advisory: string; severity: string; reasons: string[]; due_at: string }[];
    const baronSamedit = exposures.filter((e) => e.advisory === 'USN-4705-1');
    expect(baronSamedit).toHaveLength(8);
    const dbExposure = baronSamedit.find((e) => e.host === 'srv-db-01')!;
    expect(dbExposure.severity).toBe('critical');
    expect(dbExposure.reasons.join(' ')).toMatch(/KEV/);
    expect(dbExposure.due_at).toBe('2026-11-24T09:00:00.000Z');
    const patches = JSON.parse((await cli('patches', 'list', '--json')).stdout) as { id: number; advisory: string; state: string; severity: string }[];
    const patchCase = patches.find((p) => p.advisory === 'USN-4705-1')!;
    expect(patchCase).toMatchObject({ state: 'awaiting_approval', severity: 'critical' });

    // 5. Alert in Slack, from the server's worker.
    const { config } = loadConfig({ file: configFile, env: {}, cwd: dir });
    const runtime: Runtime = await createRuntime({ config, clock, logger: createSilentLogger(), store: s.store });
    const server: RunningServer = await startServer(runtime, { port: 0, host: '127.0.0.1', scheduler: false });
    // Stopped here, before the per-database hooks dispose of the store, so the worker never meets a closed pool.
    try {
      const alert = await waitFor('the alert', async () =>
        slack.callsTo('chat.postMessage').find((c) => JSON.stringify(c.body).includes(`case:${patchCase.id}:approve`)),
      );
      expect(alert.body.channel).toBe('#patch-critical');
      expect(JSON.stringify(alert.body.blocks)).toContain('USN-4705-1');

      const click = async (userId: string, actionId: string, timestamp = NOW_SECONDS, secret = TEST_SIGNING_SECRET) => {
        const body = formEncodePayload(
          blockActionsPayload({ userId, channelId: 'C0FAKE0001', actionId, value: `case:${patchCase.id}:${actionId}`, messageTs: String(alert.body.ts ?? '1795000000.000001') }),
        );
        return fetch(`${server.url}/slack/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...signSlackBody(body, secret, timestamp) },
          body,
        });
      };

      // Forged and foreign requests are refused before anything changes.
      expect((await click('U0ALICE', 'approve', NOW_SECONDS, 'not-the-secret')).status).toBe(401);
      expect((await click('U0ALICE', 'approve', NOW_SECONDS + 600)).status).toBe(401);
      expect((await click('U0MALLORY', 'approve')).status).toBe(200);
      await waitFor('a refusal for mallory', async () => slack.callsTo('chat.postEphemeral').find((c) => c.body.user === 'U0MALLORY'));
      expect((await getCaseView(s.store.db, patchCase.id))!.state).toBe('awaiting_approval');

      // Alice approves: the alert is updated in place and the pilot ring is patched.
      expect((await click('U0ALICE', 'approve')).status).toBe(200);
      const signoffPost = await waitFor('the pilot sign-off request', async () =>
        slack.callsTo('chat.postMessage').find((c) => JSON.stringify(c.body).includes(`case:${patchCase.id}:signoff`)),
      );
      expect(JSON.stringify(signoffPost.body.blocks)).toMatch(/[Pp]ilot/);
      await waitFor('the alert updated with the vote', async () =>
        slack.callsTo('chat.update').find((c) => JSON.stringify(c.body).includes('Alice Approver')),
      );
      const piloted = (await getCaseView(s.store.db, patchCase.id))!;
      expect(piloted.rollout).toMatchObject({ state: 'awaiting_signoff', startedBy: 'alice' });

      // 6. The person who started the rollout may not sign off its pilot; Bob may.
      expect((await click('U0ALICE', 'signoff')).status).toBe(200);
      await waitFor('a refusal for alice', async () => slack.callsTo('chat.postEphemeral').find((c) => c.body.user === 'U0ALICE'));
      expect((await click('U0BOB', 'signoff')).status).toBe(200);
      const done = await waitFor('the rollout to complete', async () => {
        const view = await getCaseView(s.store.db, patchCase.id);
        return view?.state === 'completed' ? view : null;
      });
      expect(done.rollout).toMatchObject({ state: 'completed', targets: 8 });
      // The review summary follows in the alert's thread (review.post, wired in the runtime).
      const summary = await waitFor('the review summary', async () => slack.callsTo('chat.postMessage').find((c) => String(c.body.text).startsWith('Review: USN-4705-1')));
      const alertRow = await s.store.db.selectFrom('chat_messages').select('ts').where('case_id', '=', patchCase.id).where('purpose', '=', 'alert').where('platform', '=', 'slack').executeTakeFirstOrThrow();
      expect(summary.body.thread_ts).toBe(alertRow.ts);
      expect(JSON.stringify(summary.body.blocks)).toContain(`/cases/${patchCase.id}/review`);

      // Rollout status and review, as an operator and a manager read them.
      const status = await cli('rollout', 'status', String(done.rollout!.id), '--json');
      expect(status.code, status.stderr).toBe(0);
      const review = await cli('review', String(patchCase.id), '--format', 'json');
      expect(review.code, review.stderr).toBe(0);
      const reviewText = review.stdout;
      expect(reviewText).toContain('alice');
      expect(reviewText).toContain('bob');
      const markdown = await cli('review', String(patchCase.id), '--format', 'md');
      expect(markdown.stdout).toMatch(/SLA/);

      // 7. Status pages.
      const casePage = await fetch(`${server.url}/cases/${patchCase.id}`);
      expect(casePage.status).toBe(200);
      expect(await casePage.text()).toContain('USN-4705-1');
      expect((await fetch(`${server.url}/rollouts/${done.rollout!.id}`)).status).toBe(200);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

      // 9. Audit: every vote and state change, chained.
      const audit = await listAudit(s.store.db);
      const actions = audit.map((a) => a.action);
      expect(actions).toContain('vote.cast');
      expect(actions).toContain('vote.refused');
      expect(actions).toContain('slack.request_rejected');
      expect(audit.filter((a) => a.action === 'vote.cast').map((a) => a.actor)).toEqual(['alice', 'bob']);
      expect(await verifyAuditChain(s.store.db)).toBeNull();
    } finally {
      await server.stop();
    }
  }, 180_000); // a functional test, not a timed one: generous under a loaded CI machine
});
