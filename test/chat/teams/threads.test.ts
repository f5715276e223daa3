import { afterEach, beforeEach, expect, it } from 'vitest';
import { buildFeedFailureMessage } from '../../../src/core/messages.js';
import type { ClaimedJob } from '../../../src/store/jobs.js';
import type { WorkflowContext } from '../../../src/workflow/context.js';
import { JOB_KINDS } from '../../../src/workflow/jobs.js';
import { createNotificationJobHandlers } from '../../../src/workflow/notifications.js';
import { conversationOfCall, installationActivity } from '../../helpers/fake-teams.js';
import { describeEachStore } from '../../helpers/stores.js';
import { insertCase } from '../case-rows.js';
import { PEOPLE, startTeamsHarness, teamsContext, type TeamsHarness } from './harness.js';

function job(kind: string, payload: Record<string, unknown>): ClaimedJob {
  return { id: 1, kind, payload, attempts: 1, maxAttempts: 5, fence: 1 };
}

const CHANNEL = '19:patching@thread.tacv2';

describeEachStore('Teams replies in the case thread', (sctx) => {
  let ctx: WorkflowContext;
  let h: TeamsHarness;
  beforeEach(async () => {
    ctx = teamsContext(sctx.store);
    h = await startTeamsHarness(ctx);
  });
  afterEach(async () => {
    await h.close();
  });

  const storedMessages = () => sctx.store.db.selectFrom('chat_messages').select(['purpose', 'channel', 'ts']).orderBy('id', 'asc').execute();
  const introduce = async (activity: Record<string, unknown>) => {
    expect((await h.send(activity, await h.fake.signToken())).status).toBe(200);
  };

  it('posts progress, SLA reminders and withdrawal notices into the alert\'s reply chain and updates them there', async () => {
    await introduce(installationActivity({ serviceUrl: h.fake.serviceUrl, conversationId: CHANNEL, channelName: 'Patching' }));
    const caseId = await insertCase(sctx.store.db);
    const handlers = createNotificationJobHandlers({ notifiers: [h.face.notifier], people: PEOPLE });
    await handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId, purpose: 'alert' }));
    for (const purpose of ['progress', 'sla_reminder', 'withdrawn']) {
      await handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId, purpose }));
    }
    await handlers[JOB_KINDS.chatUpdate]!(ctx, job(JOB_KINDS.chatUpdate, { caseId, purpose: 'progress' }));

    const calls = h.fake.connectorCalls();
    const root = 'activity-1';
    const thread = `${CHANNEL};messageid=${root}`;
    expect(calls.map((c) => [c.method, conversationOfCall(c)])).toEqual([
      ['POST', CHANNEL],
      ['POST', thread],
      ['POST', thread],
      ['POST', thread],
      ['PUT', thread],
    ]);
    // The activity itself names the reply chain too, as Teams routes it.
    expect(calls[1]!.body).toMatchObject({ type: 'message', conversation: { id: thread } });
    // The update rewrites the progress reply (activity-2) in its chain, not a new post.
    expect(calls[4]!.path).toBe(`/teams/v3/conversations/${encodeURIComponent(thread)}/activities/activity-2`);
    expect(JSON.stringify(calls[4]!.body)).toContain('Rollout progress');
    expect(await storedMessages()).toEqual([
      { purpose: 'alert', channel: CHANNEL, ts: root },
      { purpose: 'progress', channel: thread, ts: 'activity-2' },
      { purpose: 'sla_reminder', channel: thread, ts: 'activity-3' },
      { purpose: 'withdrawn', channel: thread, ts: 'activity-4' },
    ]);
  });

  it('posts in the chat itself where there are no reply chains (group chats), and top-level without a thread', async () => {
    const chat = '19:group-chat@thread.v2';
    const activity = installationActivity({ serviceUrl: h.fake.serviceUrl, conversationId: chat, channelName: null });
    (activity.conversation as Record<string, unknown>).conversationType = 'groupChat';
    (activity.conversation as Record<string, unknown>).name = 'patching';
    await introduce(activity);
    const sent = await h.face.notifier.post('#patching', buildFeedFailureMessage(
      { name: 'osv', kind: 'osv', source: null, consecutiveFailures: 3, lastError: 'HTTP 503', lastSuccessAt: null, nextAttemptAt: null },
      { publicUrl: 'https://patchdeck.example.com', timezone: 'UTC', now: new Date('2026-11-23T10:00:00.000Z') },
    ), { threadTs: 'activity-9' });
    expect(sent).toEqual({ channel: chat, ts: 'activity-1' });
    expect(h.fake.connectorCalls().map(conversationOfCall)).toEqual([chat]);
  });
});
