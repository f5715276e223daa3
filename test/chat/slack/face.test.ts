import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../../src/app/logger.js';
import { createSlackFace, type SlackFace } from '../../../src/chat/slack/face.js';
import { parseConfig } from '../../../src/config/load.js';
import { fixedClock } from '../../../src/core/clock.js';
import { buildCaseMessage } from '../../../src/core/messages.js';
import { listAudit } from '../../../src/store/audit.js';
import { getCaseView } from '../../../src/store/queries/cases.js';
import type { WorkflowContext } from '../../../src/workflow/context.js';
import { JOB_KINDS } from '../../../src/workflow/jobs.js';
import { createNotificationJobHandlers } from '../../../src/workflow/notifications.js';
import { startFakeSlack, type FakeSlack } from '../../helpers/fake-slack.js';
import { blockActionsPayload, formEncodePayload, signSlackBody, TEST_SIGNING_SECRET } from '../../helpers/slack-signing.js';
import { createTestStore, describeEachStore } from '../../helpers/stores.js';
import { insertCase, insertRollout } from '../case-rows.js';

const NOW = new Date('2026-11-23T10:00:00.000Z');
const NOW_SECONDS = Math.floor(NOW.getTime() / 1000);
const PEOPLE = [
  { id: 'alice', name: 'Alice Example', groups: ['approvers'], slack: 'UALICE' },
  { id: 'bob', name: 'Bob Example', groups: ['approvers'], slack: 'UBOB' },
  { id: 'dave', name: 'Dave Example', groups: ['ops'], slack: 'UDAVE' },
];

function workflowContext(store: WorkflowContext['store']): WorkflowContext {
  return {
    store,
    clock: fixedClock(NOW),
    logger: createSilentLogger(),
    config: parseConfig({ timezone: 'Europe/Berlin', publicUrl: 'https://patchdeck.example.com', people: PEOPLE }),
  };
}

interface Harness {
  fake: FakeSlack;
  face: SlackFace;
  server: Server;
  url: string;
}

async function startHarness(ctx: WorkflowContext): Promise<Harness> {
  const fake = await startFakeSlack();
  const face = createSlackFace({ ctx, signingSecret: TEST_SIGNING_SECRET, botToken: 'xoxb-test-token', apiUrl: fake.url, botUserId: 'U0PATCHDECK', botId: 'B0PATCHDECK' });
  const app = express();
  app.use(face.router);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { fake, face, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events` };
}

async function stopHarness(h: Harness | undefined): Promise<void> {
  if (!h) return;
  h.server.closeAllConnections();
  await new Promise<void>((resolve) => h.server.close(() => resolve()));
  await h.fake.close();
}

async function send(h: Harness, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const response = await fetch(h.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
  return { status: response.status, text: await response.text() };
}

/** Signs and sends a button click the way Slack does. */
function click(h: Harness, payload: Record<string, unknown>, timestamp = NOW_SECONDS) {
  const body = formEncodePayload(payload);
  return send(h, body, signSlackBody(body, TEST_SIGNING_SECRET, timestamp));
}

describeEachStore('Slack face', (sctx) => {
  let ctx: WorkflowContext;
  let h: Harness | undefined;
  beforeEach(async () => {
    ctx = workflowContext(sctx.store);
    h = await startHarness(ctx);
  });
  afterEach(async () => {
    await stopHarness(h);
    h = undefined;
  });

  const rejections = async () => (await listAudit(sctx.store.db)).filter((a) => a.action === 'slack.request_rejected');
  const votes = () => sctx.store.db.selectFrom('votes').selectAll().execute();

  describe('request signatures', () => {
    const validBody = () => formEncodePayload(blockActionsPayload({ userId: 'UALICE', channelId: 'C0PATCH', actionId: 'approve', value: 'case:1:reject' }));

    it('answers 200 to a correctly signed request, also at the edges of the five-minute window', async () => {
      for (const ts of [NOW_SECONDS, NOW_SECONDS - 299, NOW_SECONDS + 299]) {
        const body = validBody();
        expect((await send(h!, body, signSlackBody(body, TEST_SIGNING_SECRET, ts))).status).toBe(200);
      }
      expect(await rejections()).toEqual([]);
    });

    const rejectedCases: [string, () => { body: string; headers: Record<string, string> }, string][] = [
      ['missing headers', () => ({ body: validBody(), headers: {} }), 'missing_signature'],
      ['only a timestamp', () => ({ body: validBody(), headers: { 'x-slack-request-timestamp': String(NOW_SECONDS) } }), 'missing_signature'],
      ['a signature made with another secret', () => ({ body: validBody(), headers: signSlackBody(validBody(), 'not-the-secret', NOW_SECONDS) }), 'bad_signature'],
      ['a body changed after signing', () => ({ body: validBody().replace('reject', 'approve'), headers: signSlackBody(validBody(), TEST_SIGNING_SECRET, NOW_SECONDS) }), 'bad_signature'],
      ['a malformed signature', () => ({ body: validBody(), headers: { 'x-slack-request-timestamp': String(NOW_SECONDS), 'x-slack-signature': 'v1=abc' } }), 'bad_signature'],
      ['a non-numeric timestamp', () => ({ body: validBody(), headers: { ...signSlackBody(validBody(), TEST_SIGNING_SECRET, NOW_SECONDS), 'x-slack-request-timestamp': '17e8' } }), 'bad_timestamp'],
      ['a timestamp over five minutes old', () => ({ body: validBody(), headers: signSlackBody(validBody(), TEST_SIGNING_SECRET, NOW_SECONDS - 301) }), 'stale_timestamp'],
      ['a timestamp over five minutes in the future', () => ({ body: validBody(), headers: signSlackBody(validBody(), TEST_SIGNING_SECRET, NOW_SECONDS + 301) }), 'future_timestamp'],
    ];
    for (const [what, make, reason] of rejectedCases) {
      it(`rejects ${what} with 401, audits it and never reaches Bolt`, async () => {
        const { body, headers } = make();
        const answer = await send(h!, body, headers);
        expect(answer).toEqual({ status: 401, text: 'unauthorized' });
        const audit = await rejections();
        expect(audit).toHaveLength(1);
        expect(audit[0]).toMatchObject({ actor: 'anonymous', subjectType: 'chat_endpoint', subjectId: 'slack', after: { reason, remoteAddress: '127.0.0.1', path: '/slack/events' } });
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(h!.fake.calls).toEqual([]);
      });
    }
  });

  describe('button clicks', () => {
    it('refuses a click whose action id disagrees with its value, tells the clicker and records nothing', async () => {
      const caseId = await insertCase(sctx.store.db);
      const answer = await click(h!, blockActionsPayload({ userId: 'UALICE', channelId: 'C0PATCH', actionId: 'reject', value: `case:${caseId}:approve` }));
      expect(answer.status).toBe(200);
      const ephemeral = await h!.fake.waitForCall('chat.postEphemeral');
      expect(ephemeral.body).toMatchObject({ channel: 'C0PATCH', user: 'UALICE' });
      expect(String(ephemeral.body.text)).toMatch(/^:no_entry: Not recorded: this button was not sent by Patchdeck/);
      expect(ephemeral.authorization).toBe('Bearer xoxb-test-token');
      expect(await votes()).toEqual([]);
      const audit = (await listAudit(sctx.store.db)).filter((a) => a.action === 'slack.action_refused');
      expect(audit).toMatchObject([{ actor: 'alice', subjectType: 'case', subjectId: String(caseId), after: { reason: 'action_value_mismatch', actionId: 'reject' } }]);
    });

    for (const value of ['case:abc:approve', 'case:1:approve:alice', 'case:1:approve;person=bob', 'approve']) {
      it(`refuses the forged value "${value}"`, async () => {
        await insertCase(sctx.store.db);
        expect((await click(h!, blockActionsPayload({ userId: 'UBOB', channelId: 'C0PATCH', actionId: 'approve', value }))).status).toBe(200);
        const ephemeral = await h!.fake.waitForCall('chat.postEphemeral');
        expect(ephemeral.body).toMatchObject({ channel: 'C0PATCH', user: 'UBOB' });
        expect(await votes()).toEqual([]);
        const audit = (await listAudit(sctx.store.db)).filter((a) => a.action === 'slack.action_refused');
        expect(audit).toMatchObject([{ actor: 'bob', after: { reason: 'value_not_recognised', value } }]);
      });
    }

    it('records a vote for the clicking user, not for anyone named in the payload, and says nothing more', async () => {
      const caseId = await insertCase(sctx.store.db);
      const payload = blockActionsPayload({ userId: 'UBOB', channelId: 'C0PATCH', actionId: 'approve', value: `case:${caseId}:approve` });
      // Identity claims elsewhere in the payload are ignored: only user.id (signed by Slack) counts.
      (payload.user as Record<string, unknown>).username = 'alice';
      expect((await click(h!, payload)).status).toBe(200);
      await expect.poll(async () => (await votes()).length, { timeout: 5000 }).toBe(1);
      expect((await votes())[0]).toMatchObject({ case_id: caseId, stage: 'approval', person: 'bob', decision: 'approve', via: 'slack' });
      const jobs = await sctx.store.db.selectFrom('jobs').select(['kind', 'payload']).execute();
      expect(jobs.map((j) => [j.kind, JSON.parse(j.payload)])).toContainEqual([JOB_KINDS.chatUpdate, { caseId, purpose: 'alert' }]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(h!.fake.callsTo('chat.postEphemeral')).toEqual([]);
    });

    it('maps Sign off to a pilot sign-off vote', async () => {
      const caseId = await insertCase(sctx.store.db, { state: 'piloting' });
      await insertRollout(sctx.store.db, { caseId, state: 'awaiting_signoff', startedBy: 'alice', targets: [{ state: 'verified', wave: 0 }, { state: 'queued', wave: 1 }] });
      expect((await click(h!, blockActionsPayload({ userId: 'UBOB', channelId: 'C0PATCH', actionId: 'signoff', value: `case:${caseId}:signoff` }))).status).toBe(200);
      await expect.poll(async () => (await votes()).length, { timeout: 5000 }).toBe(1);
      expect((await votes())[0]).toMatchObject({ stage: 'pilot_signoff', person: 'bob', decision: 'approve', via: 'slack' });
    });

    it('passes an unknown Slack user to the approval service, which refuses; the clicker is told why', async () => {
      const caseId = await insertCase(sctx.store.db);
      expect((await click(h!, blockActionsPayload({ userId: 'UMALLORY', channelId: 'C0PATCH', actionId: 'approve', value: `case:${caseId}:approve` }))).status).toBe(200);
      const ephemeral = await h!.fake.waitForCall('chat.postEphemeral');
      expect(ephemeral.body).toMatchObject({ channel: 'C0PATCH', user: 'UMALLORY' });
      expect(String(ephemeral.body.text)).toMatch(/^:no_entry: Not recorded: .*slack:UMALLORY/);
      expect(await votes()).toEqual([]);
      const refusals = (await listAudit(sctx.store.db)).filter((a) => a.actor === 'slack:UMALLORY');
      expect(refusals.length).toBeGreaterThan(0);
    });

    it('tells a known person who may not approve why their click was refused', async () => {
      const caseId = await insertCase(sctx.store.db);
      await click(h!, blockActionsPayload({ userId: 'UDAVE', channelId: 'C0PATCH', actionId: 'approve', value: `case:${caseId}:approve` }));
      const ephemeral = await h!.fake.waitForCall('chat.postEphemeral');
      expect(ephemeral.body).toMatchObject({ user: 'UDAVE' });
      expect(String(ephemeral.body.text)).toMatch(/^:no_entry: Not recorded: Dave Example/);
      expect(await votes()).toEqual([]);
    });
  });

  describe('notifier with the notification jobs', () => {
    it('posts the alert through chat.postMessage and updates it in place with chat.update', async () => {
      const caseId = await insertCase(sctx.store.db);
      const handlers = createNotificationJobHandlers({ notifier: h!.face.notifier, people: PEOPLE });
      const job = (kind: string) => ({ id: 1, kind, payload: { caseId, purpose: 'alert' }, attempts: 1, maxAttempts: 5, fence: 1 });
      await handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost));
      const post = h!.fake.callsTo('chat.postMessage');
      expect(post).toHaveLength(1);
      expect(post[0]!.body).toMatchObject({ channel: '#patching', unfurl_links: 'false' });
      const blocks = post[0]!.body.blocks as { type: string; elements?: { action_id: string; value: string }[] }[];
      expect(blocks.find((b) => b.type === 'actions')!.elements!.map((e) => [e.action_id, e.value])).toEqual([
        ['approve', `case:${caseId}:approve`],
        ['reject', `case:${caseId}:reject`],
        ['defer', `case:${caseId}:defer`],
      ]);
      const [stored] = await sctx.store.db.selectFrom('chat_messages').selectAll().execute();
      expect(stored).toMatchObject({ platform: 'slack', channel: 'C0FAKE0001', ts: '1795000000.000001' });

      await click(h!, blockActionsPayload({ userId: 'UBOB', channelId: 'C0FAKE0001', actionId: 'approve', value: `case:${caseId}:approve`, messageTs: '1795000000.000001' }));
      await expect.poll(async () => (await votes()).length, { timeout: 5000 }).toBe(1);
      await handlers[JOB_KINDS.chatUpdate]!(ctx, job(JOB_KINDS.chatUpdate));
      const [update] = h!.fake.callsTo('chat.update');
      expect(update!.body).toMatchObject({ channel: 'C0FAKE0001', ts: '1795000000.000001' });
      const updatedBlocks = update!.body.blocks as { type: string; elements?: { text: string }[] }[];
      expect(updatedBlocks.some((b) => b.type === 'actions')).toBe(false);
      expect(updatedBlocks.at(-1)).toEqual({ type: 'context', elements: [{ type: 'mrkdwn', text: 'Approved by Bob Example · 2026-11-23 11:00 CET' }] });
    });
  });
});

describe('Slack notifier', () => {
  let h: Harness | undefined;
  let dispose: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    const created = await createTestStore('sqlite');
    dispose = created.dispose;
    h = await startHarness(workflowContext(created.store));
  });
  afterEach(async () => {
    await stopHarness(h);
    await dispose?.();
  });

  const message = buildCaseMessage(
    {
      id: 5, advisoryId: 'GHSA-xxxx-yyyy-zzzz', title: 'Prototype pollution in lodash', severity: 'high', state: 'awaiting_approval', reasons: [],
      dueAt: '2026-11-30T10:00:00.000Z', decidedAt: null, advisory: { cves: [], cvssScore: 7.5, kev: null }, affectedHosts: 2, votes: [], rollout: null,
    },
    'alert',
    { publicUrl: 'https://patchdeck.example.com', timezone: 'UTC', now: NOW },
  );

  it('posts with the bot token and returns the channel id and ts Slack gives', async () => {
    expect(await h!.face.notifier.post('#patching', message)).toEqual({ channel: 'C0FAKE0001', ts: '1795000000.000001' });
    const [call] = h!.fake.calls;
    expect(call).toMatchObject({ method: 'chat.postMessage', authorization: 'Bearer xoxb-test-token' });
    expect(call!.body.text).toContain('GHSA-xxxx-yyyy-zzzz');
    await h!.face.notifier.update('C0FAKE0001', '1795000000.000001', message);
    expect(h!.fake.callsTo('chat.update')[0]!.body).toMatchObject({ channel: 'C0FAKE0001', ts: '1795000000.000001' });
  });

  it('waits out a 429 for the Retry-After time and then succeeds', async () => {
    h!.fake.rateLimitOnce('chat.postMessage', 1);
    expect(await h!.face.notifier.post('#patching', message)).toMatchObject({ ts: '1795000000.000001' });
    const calls = h!.fake.callsTo('chat.postMessage');
    expect(calls.map((c) => c.status)).toEqual([429, 200]);
    expect(calls[1]!.receivedAt - calls[0]!.receivedAt).toBeGreaterThanOrEqual(1000);
  });
});
