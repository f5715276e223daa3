import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { App, ExpressReceiver, LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import express from 'express';
import { createSilentLogger } from '../src/app/logger.js';
import { systemClock } from '../src/app/system-clock.js';
import { createSlackFace } from '../src/chat/slack/face.js';
import { parseConfig } from '../src/config/load.js';
import { migrateToLatest, openStore, type Store } from '../src/store/db.js';
import { toJson } from '../src/store/json.js';
import type { WorkflowContext } from '../src/workflow/context.js';
import { buildCurrentCaseMessage } from '../src/workflow/notifications.js';
import type { Benchmark, BenchFigure } from './index.js';

/**
 * Ack latency of signed Slack button clicks at 200 requests per second: the real Slack face (our
 * signature check, Bolt, the vote and its audit running after the ack, on a temporary SQLite store)
 * beside a bare Bolt app that only acks, both on loopback in this process. The load comes from a
 * worker thread with its own event loop, open-loop: each request is timed from when it was due, so
 * a server falling behind shows up as latency instead of as a slower send rate.
 */

const RATE_PER_SECOND = 200;
const DURATION_MS = 10_000;
const WARMUP_MS = 1_000;
const TARGET_P99_MS = 300;
/** Requests still unanswered beyond this count are not sent (and counted): the loop stays bounded. */
const MAX_IN_FLIGHT = 1_000;
const SIGNING_SECRET = randomBytes(16).toString('hex');
const CASES = 20;
const PEOPLE = [
  { id: 'alice', name: 'Alice', groups: ['approvers'], slack: 'UALICE', teams: 'aad-alice' },
  { id: 'bob', name: 'Bob', groups: ['approvers'], slack: 'UBOB', teams: 'aad-bob' },
  { id: 'dave', name: 'Dave', groups: ['ops'], slack: 'UDAVE', teams: 'aad-dave' },
];
const TEAMS_TARGET_P99_MS = 500;
const TEAMS_CONVERSATION = '19:patching@thread.tacv2';
const TEAMS_CLICKERS = ['aad-alice', 'aad-bob', 'aad-dave', 'aad-mallory'];
/** Approvers, a non-approver and a stranger: recorded votes, duplicates and audited refusals. */
const CLICKERS = ['UALICE', 'UBOB', 'UDAVE', 'UMALLORY'];

interface LoadResult {
  latenciesMs: number[];
  errors: number;
  skipped: number;
  elapsedMs: number;
}

/** Runs in the worker thread, as plain CommonJS: node:http with keep-alive, nothing to transpile. */
const LOAD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { url, requests, rate, maxInFlight } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
const target = new URL(url);
const latencies = [];
let errors = 0, skipped = 0, inFlight = 0, done = 0, sent = 0;
const start = performance.now();
function finish() { parentPort.postMessage({ latenciesMs: latencies, errors, skipped, elapsedMs: performance.now() - start }); agent.destroy(); }
function send(i, due) {
  const { body, headers } = requests[i % requests.length];
  inFlight++;
  const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) }, timeout: 10000 }, (res) => {
    if (res.statusCode === 200) latencies.push(performance.now() - due); else errors++;
    res.resume();
    res.on('end', settle);
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => { errors++; settle(); });
  req.end(body);
}
function settle() { inFlight--; done++; if (sent === total && done === sent) finish(); }
const total = workerData.total;
(function tick() {
  const now = performance.now();
  while (sent < total && start + (sent * 1000) / rate <= now) {
    const due = start + (sent * 1000) / rate;
    if (inFlight >= maxInFlight) { skipped++; sent++; done++; continue; }
    send(sent, due);
    sent++;
  }
  if (sent < total) setTimeout(tick, 1); else if (done === sent) finish();
})();
`;

function drive(url: string, requests: BenchRequest[], durationMs: number): Promise<LoadResult> {
  const total = countFor(durationMs);
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOAD_WORKER, { eval: true, workerData: { url, requests, rate: RATE_PER_SECOND, maxInFlight: MAX_IN_FLIGHT, total } });
    worker.once('message', (result: LoadResult) => {
      void worker.terminate();
      resolve(result);
    });
    worker.once('error', reject);
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

type BenchRequest = { body: string; headers: Record<string, string> };

let clickCounter = 0;

/** One signed click per request sent: every click has its own trigger_id, as Slack's do (a repeated one is a replay). */
function signedClicks(caseIds: number[], count: number): BenchRequest[] {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const requests = [];
  for (let i = 0; i < count; i++) {
    const userId = CLICKERS[i % CLICKERS.length]!;
    const caseId = caseIds[Math.floor(i / CLICKERS.length) % caseIds.length]!;
    const payload = {
      type: 'block_actions',
      user: { id: userId, username: userId.toLowerCase(), name: userId.toLowerCase(), team_id: 'T0BENCH' },
      api_app_id: 'A0BENCH',
      token: 'legacy',
      container: { type: 'message', message_ts: '1795000000.000100', channel_id: 'C0BENCH', is_ephemeral: false },
      trigger_id: `1.${++clickCounter}.3`,
      team: { id: 'T0BENCH', domain: 'bench' },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: 'C0BENCH', name: 'patching' },
      message: { type: 'message', subtype: 'bot_message', text: 'alert', ts: '1795000000.000100', bot_id: 'B0BENCH', blocks: [] },
      state: { values: {} },
      response_url: 'http://127.0.0.1:9/unused',
      actions: [{ action_id: 'approve', block_id: 'patchdeck_actions', text: { type: 'plain_text', text: 'Approve' }, value: `case:${caseId}:approve`, type: 'button', action_ts: '1795000001.000200' }],
    };
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const signature = createHmac('sha256', SIGNING_SECRET).update(`v0:${timestamp}:${body}`).digest('hex');
    requests.push({
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': timestamp, 'x-slack-signature': `v0=${signature}` },
    });
  }
  return requests;
}

async function seedCases(store: Store, prefix: string): Promise<number[]> {
  const at = new Date().toISOString();
  const ids: number[] = [];
  for (let i = 1; i <= CASES; i++) {
    const advisoryId = `${prefix}-${i}`;
    await store.db
      .insertInto('advisories')
      .values({
        id: advisoryId, source: 'osv', trust: 'authoritative', title: `Bench advisory ${i}`, summary: 'For the ack benchmark.', url: null,
        published_at: at, modified_at: at, withdrawn_at: null, cves: toJson([]), affected: toJson([]), cvss_score: 9.8, cvss_vector: null,
        kev: null, vendor_severity: null, content_hash: 'bench', ingested_at: at, updated_at: at,
      })
      .execute();
    const row = await store.db
      .insertInto('cases')
      .values({
        advisory_id: advisoryId, title: `Bench case ${i}`, severity: 'critical', state: 'awaiting_approval', reasons: toJson([]), requested_by: 'patchdeck',
        due_at: at, created_at: at, updated_at: at, decided_at: null, plan_hash: null, channel: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids.push(Number(row.id));
  }
  return ids;
}

/** The stand-in Web API, in a thread of its own: Slack's servers do not share the face's event loop. */
const FAKE_WEB_API = `
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, channel: 'C0BENCH', ts: '1795000000.000001', message_ts: '1795000000.000002' }));
  });
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;

/** A stand-in Web API on loopback: the refusals' ephemeral replies go here. */
function startFakeWebApi(): Promise<{ port: number; close: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(FAKE_WEB_API, { eval: true });
    worker.once('message', (port: number) => resolve({ port, close: async () => void (await worker.terminate()) }));
    worker.once('error', reject);
  });
}

function listen(handler: RequestListener): Promise<Server> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function urlOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
}

function countFor(durationMs: number): number {
  return Math.round((RATE_PER_SECOND * durationMs) / 1000);
}

/**
 * Warm-up, then the measured run; each with requests of its own (a request sent twice would be a
 * replay). `settle` waits for the work the warm-up queued (its first clicks decide every case, the
 * heaviest votes there are), so the measured run starts in step rather than behind a one-off backlog.
 */
async function measure(name: string, url: string, requestsFor: (count: number) => BenchRequest[], log: (line: string) => void, settle: () => Promise<void> = async () => undefined) {
  await drive(url, requestsFor(countFor(WARMUP_MS)), WARMUP_MS);
  await settle();
  const result = await drive(url, requestsFor(countFor(DURATION_MS)), DURATION_MS);
  const sorted = [...result.latenciesMs].sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  const rate = (result.latenciesMs.length / result.elapsedMs) * 1000;
  log(`${name}: ${result.latenciesMs.length} acks in ${(result.elapsedMs / 1000).toFixed(1)} s (${rate.toFixed(0)}/s), ${result.errors} errors, ${result.skipped} not sent; p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${sorted.at(-1)?.toFixed(1)} ms`);
  return { p50, p99, failed: result.errors + result.skipped };
}

export const benchmark: Benchmark = {
  name: 'ack',
  description: `signed Slack clicks and Teams card invokes at ${RATE_PER_SECOND} req/s for ${DURATION_MS / 1000} s each: HTTP answer latency, Patchdeck's faces beside a bare Bolt app`,
  async run(log) {
    const dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-bench-ack-'));
    const store = await openStore(`sqlite:${path.join(dir, 'bench.db')}`);
    const servers: Server[] = [];
    let webApi: Awaited<ReturnType<typeof startFakeWebApi>> | null = null;
    try {
      await migrateToLatest(store);
      const caseIds = await seedCases(store, 'SLACK');
      const requests = (count: number) => signedClicks(caseIds, count);
      webApi = await startFakeWebApi();
      const apiUrl = `http://127.0.0.1:${webApi.port}/api/`;

      const ctx: WorkflowContext = {
        store,
        clock: systemClock,
        logger: createSilentLogger(),
        config: parseConfig({ publicUrl: 'https://patchdeck.example.com', people: PEOPLE }),
      };
      const face = createSlackFace({ ctx, signingSecret: SIGNING_SECRET, botToken: 'xoxb-bench', apiUrl, botUserId: 'U0BENCH', botId: 'B0BENCH' });
      const faceApp = express();
      faceApp.use(face.router);
      const faceServer = await listen(faceApp);
      servers.push(faceServer);

      // The naive baseline: Bolt's own receiver and signature check, a listener that only acks.
      const receiver = new ExpressReceiver({ signingSecret: SIGNING_SECRET, endpoints: '/slack/events', logger: createBareLogger() });
      const bare = new App({ receiver, token: 'xoxb-bench', tokenVerificationEnabled: false, botUserId: 'U0BENCH', botId: 'B0BENCH', logger: createBareLogger() });
      bare.action({ type: 'block_actions' }, async ({ ack }) => {
        await ack();
      });
      const bareServer = await listen(receiver.app);
      servers.push(bareServer);

      const slack = await measure('Slack face', urlOf(faceServer), requests, log, () => face.drain());
      const drainStarted = Date.now();
      await face.drain();
      log(`Slack face: the work behind the acks finished ${((Date.now() - drainStarted) / 1000).toFixed(1)} s after the last ack`);
      const baseline = await measure('bare Bolt app', urlOf(bareServer), requests, log);
      log(`work done after the acks: ${await countRows(store, 'votes')} votes, ${await countRows(store, 'audit_events')} audit events`);
      const teams = await measureTeams(ctx, log).catch((error: unknown) => {
        log(`Teams: not measured (${(error as Error).message})`);
        return null;
      });

      const figures: BenchFigure[] = [
        { name: 'Slack face ack p99', value: round(slack.p99), unit: 'ms', target: `≤ ${TARGET_P99_MS} ms`, met: slack.p99 <= TARGET_P99_MS && slack.failed === 0 },
        { name: 'Slack face ack p50', value: round(slack.p50), unit: 'ms', target: null, met: null },
        { name: 'bare Bolt app ack p99 (baseline)', value: round(baseline.p99), unit: 'ms', target: null, met: null },
        { name: 'bare Bolt app ack p50 (baseline)', value: round(baseline.p50), unit: 'ms', target: null, met: null },
      ];
      if (teams !== null) {
        figures.push(
          { name: 'Teams face invoke p99', value: round(teams.p99), unit: 'ms', target: `≤ ${TEAMS_TARGET_P99_MS} ms`, met: teams.p99 <= TEAMS_TARGET_P99_MS && teams.failed === 0 },
          { name: 'Teams face invoke p50', value: round(teams.p50), unit: 'ms', target: null, met: null },
        );
      }
      return figures;
    } finally {
      for (const server of servers) await closeServer(server);
      await webApi?.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

/**
 * The Teams face, if the tree has one: signed (JWT) Adaptive Card vote invokes against a fake Bot
 * Framework on loopback, timed until the invoke's answer (the card); the votes are counted after it. Loaded lazily, so the Slack figures stand even when the Teams face is absent.
 */
async function measureTeams(ctx: WorkflowContext, log: (line: string) => void): Promise<{ p50: number; p99: number; failed: number } | null> {
  const face = await import('../src/chat/teams/face.js').catch(() => null);
  if (face === null) {
    log('Teams: not measured (face not present)');
    return null;
  }
  const fakeTeams = await import('../test/helpers/fake-teams.js');
  const fake = await fakeTeams.startFakeTeams();
  const servers: Server[] = [];
  try {
    const teamsFace = face.createTeamsFace({
      ctx,
      appId: fakeTeams.TEST_APP_ID,
      appPassword: fakeTeams.TEST_APP_PASSWORD,
      openIdMetadataUrl: fake.openIdMetadataUrl,
      loginUrl: fake.loginUrl,
    });
    const app = express();
    app.use(teamsFace.router);
    const server = await listen(app);
    servers.push(server);
    const caseIds = await seedCases(ctx.store, 'TEAMS');
    // Each case's alert card as the notifier would have stored it: invokes name it by replyToId, as Teams' do.
    const at = new Date().toISOString();
    for (const caseId of caseIds) {
      const message = await buildCurrentCaseMessage(ctx, caseId, 'alert');
      await ctx.store.db
        .insertInto('chat_messages')
        .values({ case_id: caseId, purpose: 'alert', platform: 'teams', channel: TEAMS_CONVERSATION, ts: `bench-card-${caseId}`, payload: toJson(message), created_at: at, updated_at: at })
        .execute();
    }
    const token = await fake.signToken();
    // Every activity has its own id (cardActionActivity makes one), as Teams' do.
    const requests = (count: number) =>
      Array.from({ length: count }, (_, i) => {
        const aadObjectId = TEAMS_CLICKERS[i % TEAMS_CLICKERS.length]!;
        const caseId = caseIds[Math.floor(i / TEAMS_CLICKERS.length) % caseIds.length]!;
        const activity = fakeTeams.cardActionActivity({
          serviceUrl: fake.serviceUrl,
          conversationId: TEAMS_CONVERSATION,
          aadObjectId,
          userId: `29:${aadObjectId}-mri`,
          verb: 'patchdeck.vote',
          data: { value: `case:${caseId}:approve` },
          actionId: 'approve',
          replyToId: `bench-card-${caseId}`,
        });
        return { body: JSON.stringify(activity), headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } };
      });
    const votesBefore = await countRows(ctx.store, 'votes');
    const measured = await measure('Teams face', `http://127.0.0.1:${(server.address() as AddressInfo).port}${face.TEAMS_MESSAGES_PATH}`, requests, log, () => teamsFace.drain());
    const drainStarted = Date.now();
    await teamsFace.drain();
    log(`Teams face: the votes behind the answers finished ${((Date.now() - drainStarted) / 1000).toFixed(1)} s after the last answer; ${(await countRows(ctx.store, 'votes')) - votesBefore} votes recorded`);
    return measured;
  } finally {
    for (const server of servers) await closeServer(server);
    await fake.close();
  }
}

async function countRows(store: Store, table: 'votes' | 'audit_events'): Promise<number> {
  const row = await store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** Bolt logs a warning per request without a logger of its own; the bench's output stays readable. */
function createBareLogger(): BoltLogger {
  const quiet = () => undefined;
  return { debug: quiet, info: quiet, warn: quiet, error: quiet, setLevel: quiet, getLevel: () => LogLevel.ERROR, setName: quiet };
}
