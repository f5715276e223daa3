import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/core/messages.js';
import { listAudit } from '../../src/store/audit.js';
import type { ClaimedJob } from '../../src/store/jobs.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { JOB_KINDS } from '../../src/workflow/jobs.js';
import { createNotificationJobHandlers, type Notifier } from '../../src/workflow/notifications.js';
import { insertCase, setCaseState, insertVote } from '../chat/case-rows.js';
import { PEOPLE, startTeamsHarness, teamsContext, type TeamsHarness } from '../chat/teams/harness.js';
import { installationActivity, messageActivity } from '../helpers/fake-teams.js';
import { describeEachStore } from '../helpers/stores.js';

/** A Slack-like notifier that remembers what it was asked. */
function recordingSlack(): Notifier & { calls: { op: string; channel: string; ts?: string; message: ChatMessage }[] } {
  const calls: { op: string; channel: string; ts?: string; message: ChatMessage }[] = [];
  let n = 0;
  return {
    platform: 'slack',
    calls,
    async post(channel, message) {
      calls.push({ op: 'post', channel, message });
      return { channel: `C-${channel.replace('#', '')}`, ts: `1795000000.00010${++n}` };
    },
    async update(channel, ts, message) {
      calls.push({ op: 'update', channel, ts, message });
    },
  };
}

function job(kind: string, payload: Record<string, unknown>): ClaimedJob {
  return { id: 1, kind, payload, attempts: 1, maxAttempts: 5, fence: 1 };
}

describeEachStore('notification jobs on several platforms', (sctx) => {
  let ctx: WorkflowContext;
  let h: TeamsHarness;
  beforeEach(async () => {
    ctx = teamsContext(sctx.store);
    h = await startTeamsHarness(ctx);
  });
  afterEach(async () => {
    await h.close();
  });

  const storedMessages = () => sctx.store.db.selectFrom('chat_messages').selectAll().orderBy('id', 'asc').execute();
  const introduce = async (activity: Record<string, unknown>) => {
    expect((await h.send(activity, await h.fake.signToken())).status).toBe(200);
  };

  it('posts once on every platform and updates each copy on its own platform', async () => {
    await introduce(installationActivity({ serviceUrl: h.fake.serviceUrl, conversationId: '19:patching@thread.tacv2', channelName: 'Patching' }));
    const caseId = await insertCase(sctx.store.db);
    const slack = recordingSlack();
    const handlers = createNotificationJobHandlers({ notifiers: [slack, h.face.notifier], people: PEOPLE });
    await handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId, purpose: 'alert' }));
    await handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId, purpose: 'alert' }));

    expect(slack.calls.map((c) => [c.op, c.channel])).toEqual([['post', '#patching']]);
    const posts = h.fake.connectorCalls();
    expect(posts).toHaveLength(1);
    expect(posts[0]).toMatchObject({ method: 'POST', path: `/teams/v3/conversations/${encodeURIComponent('19:patching@thread.tacv2')}/activities`, authorization: 'Bearer fake-bot-token-1' });
    const attachment = (posts[0]!.body.attachments as { contentType: string; content: Record<string, unknown> }[])[0]!;
    expect(attachment.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(attachment.content).toMatchObject({ type: 'AdaptiveCard', version: '1.5', refresh: { action: { verb: 'patchdeck.refresh', data: { caseId, purpose: 'alert' } } } });
    const actionSet = (attachment.content.body as { type: string; actions?: unknown[] }[]).find((b) => b.type === 'ActionSet');
    expect(actionSet?.actions).toMatchObject([
      { type: 'Action.Execute', verb: 'patchdeck.vote', data: { value: `case:${caseId}:approve` }, style: 'positive' },
      { type: 'Action.ShowCard', title: 'Reject', card: { actions: [{ type: 'Action.Execute', verb: 'patchdeck.vote', data: { value: `case:${caseId}:reject` }, style: 'destructive' }] } },
      { type: 'Action.ShowCard', title: 'Defer', card: { actions: [{ type: 'Action.Execute', verb: 'patchdeck.defer', data: { value: `case:${caseId}:defer` } }] } },
      { type: 'Action.OpenUrl', url: `https://patchdeck.example.com/cases/${caseId}` },
    ]);
    expect((await storedMessages()).map((r) => [r.platform, r.channel, r.ts])).toEqual([
      ['slack', 'C-patching', '1795000000.000101'],
      ['teams', '19:patching@thread.tacv2', 'activity-1'],
    ]);
    const posted = (await listAudit(sctx.store.db, { subjectType: 'case', subjectId: caseId })).filter((a) => a.action === 'chat.posted');
    expect(posted.map((a) => (a.after as { platform: string }).platform)).toEqual(['slack', 'teams']);

    await insertVote(sctx.store.db, { caseId, stage: 'approval', person: 'alice', decision: 'approve', at: '2026-11-23T11:00:00.000Z' });
    await setCaseState(sctx.store.db, caseId, 'approved', '2026-11-23T11:00:00.000Z');
    await handlers[JOB_KINDS.chatUpdate]!(ctx, job(JOB_KINDS.chatUpdate, { caseId, purpose: 'alert' }));
    expect(slack.calls.filter((c) => c.op === 'update').map((c) => [c.channel, c.ts])).toEqual([['C-patching', '1795000000.000101']]);
    const update = h.fake.connectorCalls()[1]!;
    expect(update).toMatchObject({ method: 'PUT', path: `/teams/v3/conversations/${encodeURIComponent('19:patching@thread.tacv2')}/activities/activity-1` });
    expect(JSON.stringify(update.body)).toContain('Approved by Alice Example');
    expect(JSON.stringify(update.body)).not.toContain('patchdeck.vote');
    // One token served every call: it is cached until shortly before it expires.
    expect(h.fake.tokenRequests()).toHaveLength(1);
  });

  it('finds the conversation by channel name, preferring teams.channels, and names what is missing', async () => {
    const caseId = await insertCase(sctx.store.db, { channel: '#db-team' });
    const handlers = createNotificationJobHandlers({ notifiers: [h.face.notifier], people: PEOPLE });
    await expect(handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId, purpose: 'alert' }))).rejects.toThrow(
      /teams: no Teams conversation is known for #db-team: add the Patchdeck app to a channel named "db-team"/,
    );
    // Two conversations carry the name; the one heard from most recently wins…
    await introduce(messageActivity({ serviceUrl: h.fake.serviceUrl, conversationId: '19:old@thread.tacv2', channelName: 'DB-Team' }));
    ctx.clock = { now: () => new Date('2026-11-23T10:05:00.000Z') };
    await introduce(messageActivity({ serviceUrl: h.fake.serviceUrl, conversationId: '19:new@thread.tacv2', channelName: 'db-team' }));
    await handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId, purpose: 'alert' }));
    expect((await storedMessages()).map((r) => r.channel)).toEqual(['19:new@thread.tacv2']);

    // …unless the config names one.
    ctx.config = { ...ctx.config, teams: { ...ctx.config.teams, channels: { '#db-team': '19:old@thread.tacv2' } } };
    const other = await insertCase(sctx.store.db, { advisoryId: 'USN-7002-1', channel: '#db-team' });
    await handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId: other, purpose: 'alert' }));
    expect((await storedMessages()).map((r) => r.channel)).toEqual(['19:new@thread.tacv2', '19:old@thread.tacv2']);
  });

  it('keeps the copy that was posted when another platform fails, and the retry posts only the missing one', async () => {
    const caseId = await insertCase(sctx.store.db);
    const slack = recordingSlack();
    const handlers = createNotificationJobHandlers({ notifiers: [h.face.notifier, slack], people: PEOPLE });
    await expect(handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId, purpose: 'alert' }))).rejects.toThrow(/^teams: no Teams conversation/);
    expect((await storedMessages()).map((r) => r.platform)).toEqual(['slack']);
    await introduce(installationActivity({ serviceUrl: h.fake.serviceUrl, channelName: 'patching' }));
    await handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId, purpose: 'alert' }));
    expect(slack.calls).toHaveLength(1);
    expect((await storedMessages()).map((r) => r.platform)).toEqual(['slack', 'teams']);
  });

  it('leaves a card alone once the bot was removed from its conversation', async () => {
    await introduce(installationActivity({ serviceUrl: h.fake.serviceUrl }));
    const caseId = await insertCase(sctx.store.db);
    const handlers = createNotificationJobHandlers({ notifiers: [h.face.notifier], people: PEOPLE });
    await handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId, purpose: 'alert' }));
    await introduce(installationActivity({ serviceUrl: h.fake.serviceUrl, action: 'remove' }));
    await setCaseState(sctx.store.db, caseId, 'rejected', '2026-11-23T11:00:00.000Z');
    await handlers[JOB_KINDS.chatUpdate]!(ctx, job(JOB_KINDS.chatUpdate, { caseId, purpose: 'alert' }));
    expect(h.fake.connectorCalls().filter((c) => c.method === 'PUT')).toEqual([]);
    const [row] = await storedMessages();
    expect(JSON.parse(row!.payload)).toMatchObject({ footer: 'Rejected · 2026-11-23 12:00 CET' });
  });
});
