import { beforeEach, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/app/logger.js';
import { createConsoleNotifier } from '../../src/chat/console/notifier.js';
import { parseConfig } from '../../src/config/load.js';
import { fixedClock } from '../../src/core/clock.js';
import type { ChatMessage } from '../../src/core/messages.js';
import { listAudit } from '../../src/store/audit.js';
import type { ClaimedJob } from '../../src/store/jobs.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { JOB_KINDS } from '../../src/workflow/jobs.js';
import { createNotificationJobHandlers, type Notifier } from '../../src/workflow/notifications.js';
import { insertCase, insertRollout, insertVote, setCaseState } from '../chat/case-rows.js';
import { describeEachStore } from '../helpers/stores.js';

const PEOPLE = [{ id: 'alice', name: 'Alice Example', groups: ['approvers'], slack: 'UALICE' }];

interface RecordedCall {
  op: 'post' | 'update';
  channel: string;
  ts?: string;
  message: ChatMessage;
}

/** A notifier that answers like Slack (channel id + ts) and remembers what it was asked. */
function recordingNotifier(options: { failUpdates?: boolean } = {}): Notifier & { calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  let n = 0;
  return {
    platform: 'slack',
    calls,
    async post(channel, message) {
      calls.push({ op: 'post', channel, message });
      return { channel: `C-${channel.replace('#', '')}`, ts: `1795000000.00010${++n}` };
    },
    async update(channel, ts, message) {
      if (options.failUpdates) throw new Error('Slack is down');
      calls.push({ op: 'update', channel, ts, message });
    },
  };
}

function job(kind: string, payload: Record<string, unknown>): ClaimedJob {
  return { id: 1, kind, payload, attempts: 1, maxAttempts: 5, fence: 1 };
}

describeEachStore('notification jobs', (sctx) => {
  let ctx: WorkflowContext;
  beforeEach(() => {
    ctx = {
      store: sctx.store,
      clock: fixedClock('2026-11-23T10:00:00.000Z'),
      logger: createSilentLogger(),
      config: parseConfig({
        timezone: 'Europe/Berlin',
        publicUrl: 'https://patchdeck.example.com/',
        people: PEOPLE,
        routing: { defaultChannel: '#patching' },
      }),
    };
  });

  const storedMessages = () => sctx.store.db.selectFrom('chat_messages').selectAll().orderBy('id', 'asc').execute();

  it('posts an escalation of an overdue approval to the rule\'s escalation channel, still with the vote buttons', async () => {
    const caseId = await insertCase(sctx.store.db);
    const notifier = recordingNotifier();
    const handlers = createNotificationJobHandlers({ notifier, people: PEOPLE });
    await handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId, purpose: 'escalation', escalateTo: '#cab-escalations' }));
    expect(notifier.calls).toHaveLength(1);
    expect(notifier.calls[0]).toMatchObject({ op: 'post', channel: '#cab-escalations' });
    expect(notifier.calls[0]!.message.title).toMatch(/^Approval overdue: /);
    expect(notifier.calls[0]!.message.actions.map((a) => a.id)).toEqual(['approve', 'reject', 'defer']);
    const rows = await storedMessages();
    expect(rows.map((r) => r.purpose)).toEqual(['escalation']);
  });

  it('posts an alert once to the default channel and stores what it posted', async () => {
    const caseId = await insertCase(sctx.store.db);
    const notifier = recordingNotifier();
    const handlers = createNotificationJobHandlers({ notifier, people: PEOPLE });
    await handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId, purpose: 'alert' }));
    await handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId, purpose: 'alert' }));

    expect(notifier.calls).toHaveLength(1);
    const [call] = notifier.calls;
    expect(call).toMatchObject({ op: 'post', channel: '#patching' });
    expect(call!.message).toMatchObject({
      kind: 'alert',
      caseId,
      actions: [{ value: `case:${caseId}:approve` }, { value: `case:${caseId}:reject` }, { value: `case:${caseId}:defer` }],
      link: { url: `https://patchdeck.example.com/cases/${caseId}` },
    });
    const rows = await storedMessages();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ case_id: caseId, purpose: 'alert', platform: 'slack', channel: 'C-patching', ts: '1795000000.000101' });
    expect(JSON.parse(rows[0]!.payload)).toEqual(call!.message);
    const audit = await listAudit(sctx.store.db, { subjectType: 'case', subjectId: caseId });
    expect(audit.map((a) => a.action)).toEqual(['chat.posted']);
  });

  it("posts to the case's own channel when it has one, and posts each purpose separately", async () => {
    const caseId = await insertCase(sctx.store.db, { channel: '#db-team', state: 'piloting' });
    await insertRollout(sctx.store.db, { caseId, state: 'awaiting_signoff', targets: [{ state: 'verified', wave: 0 }, { state: 'queued', wave: 1 }] });
    const notifier = recordingNotifier();
    const handlers = createNotificationJobHandlers({ notifier, people: PEOPLE });
    await handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId, purpose: 'alert' }));
    await handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId, purpose: 'signoff' }));
    expect(notifier.calls.map((c) => [c.channel, c.message.kind])).toEqual([
      ['#db-team', 'alert'],
      ['#db-team', 'signoff_request'],
    ]);
    expect(notifier.calls[1]!.message.actions.map((a) => a.id)).toEqual(['signoff', 'signoff_reject']);
    expect((await storedMessages()).map((r) => r.purpose)).toEqual(['alert', 'signoff']);
  });

  it('updates every posted copy in place once the case is decided, and refreshes stored payloads', async () => {
    const caseId = await insertCase(sctx.store.db);
    const notifier = recordingNotifier();
    const handlers = createNotificationJobHandlers({ notifier, people: PEOPLE });
    await handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId, purpose: 'alert' }));
    // A second stored copy without ts (e.g. posted while only the console was configured) is refreshed but not sent.
    await sctx.store.db
      .insertInto('chat_messages')
      .values({ case_id: caseId, purpose: 'alert', platform: 'console', channel: '#patching', ts: null, payload: '{}', created_at: 'x', updated_at: 'x' })
      .execute();

    await insertVote(sctx.store.db, { caseId, stage: 'approval', person: 'alice', decision: 'approve', at: '2026-11-23T11:00:00.000Z' });
    await setCaseState(sctx.store.db, caseId, 'approved', '2026-11-23T11:00:00.000Z');
    ctx.clock = fixedClock('2026-11-23T11:00:05.000Z');
    await handlers[JOB_KINDS.chatUpdate]!(ctx, job(JOB_KINDS.chatUpdate, { caseId, purpose: 'alert' }));

    const updates = notifier.calls.filter((c) => c.op === 'update');
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({ channel: 'C-patching', ts: '1795000000.000101' });
    expect(updates[0]!.message).toMatchObject({ actions: [], footer: 'Approved by Alice Example · 2026-11-23 12:00 CET' });
    const rows = await storedMessages();
    for (const row of rows) {
      expect(JSON.parse(row.payload)).toMatchObject({ footer: 'Approved by Alice Example · 2026-11-23 12:00 CET', actions: [] });
      expect(row.updated_at).toBe('2026-11-23T11:00:05.000Z');
    }
  });

  it('refreshes the stored payload even when the chat platform fails, then fails the job for a retry', async () => {
    const caseId = await insertCase(sctx.store.db);
    const handlers = createNotificationJobHandlers({ notifier: recordingNotifier({ failUpdates: true }), people: PEOPLE });
    await handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId, purpose: 'alert' }));
    await setCaseState(sctx.store.db, caseId, 'rejected', '2026-11-23T11:00:00.000Z');
    await expect(handlers[JOB_KINDS.chatUpdate]!(ctx, job(JOB_KINDS.chatUpdate, { caseId, purpose: 'alert' }))).rejects.toThrow('Slack is down');
    const [row] = await storedMessages();
    expect(JSON.parse(row!.payload)).toMatchObject({ footer: 'Rejected · 2026-11-23 12:00 CET', actions: [] });
  });

  it('does nothing for an update before anything was posted, and refuses malformed payloads', async () => {
    const caseId = await insertCase(sctx.store.db);
    const notifier = recordingNotifier();
    const handlers = createNotificationJobHandlers({ notifier, people: PEOPLE });
    await handlers[JOB_KINDS.chatUpdate]!(ctx, job(JOB_KINDS.chatUpdate, { caseId, purpose: 'alert' }));
    expect(notifier.calls).toEqual([]);
    await expect(handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId: 'x', purpose: 'alert' }))).rejects.toThrow(/chat\.post job payload is invalid \(caseId/);
    await expect(handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId, purpose: 'gossip' }))).rejects.toThrow(/purpose/);
    expect(await storedMessages()).toEqual([]);
  });

  it('skips a case that no longer exists', async () => {
    const notifier = recordingNotifier();
    const handlers = createNotificationJobHandlers({ notifier, people: PEOPLE });
    await handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId: 999, purpose: 'alert' }));
    expect(notifier.calls).toEqual([]);
    expect(await storedMessages()).toEqual([]);
  });

  it('stores console messages with no ts, for the web console inbox, and keeps them current', async () => {
    const caseId = await insertCase(sctx.store.db);
    const handlers = createNotificationJobHandlers({ notifier: createConsoleNotifier(), people: PEOPLE });
    await handlers[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost, { caseId, purpose: 'alert' }));
    let [row] = await storedMessages();
    expect(row).toMatchObject({ platform: 'console', channel: '#patching', ts: null });
    expect(JSON.parse(row!.payload).actions).toHaveLength(3);
    await setCaseState(sctx.store.db, caseId, 'deferred', '2026-11-23T11:00:00.000Z');
    await handlers[JOB_KINDS.chatUpdate]!(ctx, job(JOB_KINDS.chatUpdate, { caseId, purpose: 'alert' }));
    [row] = await storedMessages();
    expect(JSON.parse(row!.payload)).toMatchObject({ actions: [], footer: 'Deferred · 2026-11-23 12:00 CET' });
  });
});
