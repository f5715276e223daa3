import { expect, it } from 'vitest';
import { supersededMessage, type ChatMessage } from '../../src/core/messages.js';
import { listAudit } from '../../src/store/audit.js';
import type { ClaimedJob } from '../../src/store/jobs.js';
import { fromJson } from '../../src/store/json.js';
import { castVote, refreshApprovalPlan } from '../../src/workflow/approvals.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { JOB_KINDS } from '../../src/workflow/jobs.js';
import { createNotificationJobHandlers, type Notifier } from '../../src/workflow/notifications.js';
import { fleet, insertFixtureCase, OPENED_AT } from '../helpers/case-fixtures.js';
import { createTestContext } from '../helpers/context.js';
import { describeEachStore } from '../helpers/stores.js';

const PEOPLE = [
  { id: 'alice', name: 'Alice', groups: ['cab'], slack: 'UALICE', teams: 'aad-alice' },
  { id: 'bob', name: 'Bob', groups: ['cab'] },
  { id: 'rita', name: 'Rita', groups: ['cab'] },
];
const CONFIG = { people: PEOPLE, approvals: { approversGroup: 'cab', quorum: 2 }, routing: { defaultChannel: '#patching' } };

interface Call {
  op: 'post' | 'update';
  channel: string;
  ts?: string;
  message: ChatMessage;
}

/** A notifier per platform that answers with its own ids and can be told to fail its posts. */
function recorder(platform: 'slack' | 'teams') {
  const calls: Call[] = [];
  let n = 0;
  let failPosts = false;
  const notifier: Notifier = {
    platform,
    async post(channel, message) {
      if (failPosts) throw new Error(`${platform} is down`);
      calls.push({ op: 'post', channel, message });
      return { channel: `${platform}-${channel}`, ts: `${platform}-${++n}` };
    },
    async update(channel, ts, message) {
      calls.push({ op: 'update', channel, ts, message });
    },
  };
  return { notifier, calls, failPosts: (fail: boolean) => (failPosts = fail) };
}

function job(kind: string, payload: Record<string, unknown>): ClaimedJob {
  return { id: 1, kind, payload, attempts: 1, maxAttempts: 5, fence: 1 };
}

describeEachStore('re-posting an approval request after its plan changed', (s) => {
  async function setup() {
    const { ctx } = createTestContext(s.store, CONFIG);
    const { caseId, hostIds } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(3) });
    const first = (await s.store.transaction((trx) => refreshApprovalPlan(trx, ctx, caseId))).planHash!;
    const slack = recorder('slack');
    const teams = recorder('teams');
    const handlers = createNotificationJobHandlers({ notifiers: [slack.notifier, teams.notifier], people: PEOPLE });
    const run = (kind: string, payload: Record<string, unknown>) => handlers[kind]!(ctx, job(kind, payload));
    return { ctx, caseId, hostIds, first, slack, teams, run };
  }
  const rows = () => s.store.db.selectFrom('chat_messages').selectAll().orderBy('id', 'asc').execute();
  /** Patches one host out of band: the plan shrinks and refreshApprovalPlan enqueues the re-post. */
  async function changePlan(ctx: WorkflowContext, caseId: number, hostId: number): Promise<{ hash: string; payload: Record<string, unknown> }> {
    await s.store.db.updateTable('exposures').set({ status: 'resolved', resolved_at: OPENED_AT }).where('host_id', '=', hostId).execute();
    const changed = await s.store.transaction((trx) => refreshApprovalPlan(trx, ctx, caseId));
    const posts = await s.store.db.selectFrom('jobs').select('payload').where('kind', '=', JOB_KINDS.chatPost).execute();
    return { hash: changed.planHash!, payload: fromJson<Record<string, unknown>>(posts.at(-1)!.payload, {}) };
  }

  it('posts a fresh alert per platform for the new plan, and rewrites the old messages as replaced without buttons', async () => {
    const { ctx, caseId, hostIds, first, slack, teams, run } = await setup();
    await run(JOB_KINDS.chatPost, { caseId, purpose: 'alert' });
    expect(slack.calls[0]!.message.actions.map((a) => a.value)).toEqual([`case:${caseId}:approve:${first}`, `case:${caseId}:reject:${first}`, `case:${caseId}:defer:${first}`]);
    expect((await rows()).map((r) => [r.platform, r.plan_hash, r.superseded_at])).toEqual([['slack', first, null], ['teams', first, null]]);
    await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack', planHash: first });

    const { hash, payload } = await changePlan(ctx, caseId, hostIds[0]!);
    expect(payload).toEqual({ caseId, purpose: 'alert', planHash: hash });
    await run(JOB_KINDS.chatPost, payload);
    for (const platform of [slack, teams]) {
      expect(platform.calls.map((c) => c.op)).toEqual(['post', 'post', 'update']);
      const [, repost, replaced] = platform.calls;
      expect(repost!.message.actions.map((a) => a.value)).toEqual([`case:${caseId}:approve:${hash}`, `case:${caseId}:reject:${hash}`, `case:${caseId}:defer:${hash}`]);
      // The old message is updated where it was posted, keeps its content, loses its buttons and its (void) votes.
      expect(replaced!.ts).toBe(platform.calls === slack.calls ? 'slack-1' : 'teams-1');
      expect(replaced!.message.actions).toEqual([]);
      expect(replaced!.message.title).toMatch(/^Replaced: /);
      expect(JSON.stringify(replaced!.message.sections)).toContain('use the new message');
      expect(JSON.stringify(replaced!.message.sections)).not.toContain('Votes so far');
    }
    const stored = await rows();
    expect(stored.map((r) => [r.platform, r.ts, r.plan_hash, r.superseded_at])).toEqual([
      ['slack', 'slack-1', first, '2026-11-23T09:00:00.000Z'],
      ['teams', 'teams-1', first, '2026-11-23T09:00:00.000Z'],
      ['slack', 'slack-2', hash, null],
      ['teams', 'teams-2', hash, null],
    ]);
    expect(fromJson<ChatMessage>(stored[0]!.payload, {} as ChatMessage).actions).toEqual([]);
    const audit = (await listAudit(s.store.db, { subjectType: 'case', subjectId: caseId })).filter((a) => a.action === 'chat.superseded');
    expect(audit.map((a) => [a.before, a.after])).toEqual([
      [{ planHash: first }, { planHash: hash, platform: 'slack', channel: 'slack-#patching', ts: 'slack-1' }],
      [{ planHash: first }, { planHash: hash, platform: 'teams', channel: 'teams-#patching', ts: 'teams-1' }],
    ]);

    // A click on the old message (its hash) is refused with the chat wording; the new message's button counts.
    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'teams', planHash: first })).toEqual({
      status: 'refused',
      code: 'PD_VOTE_STALE_PLAN',
      reason: 'the plan changed since this message was posted; use the new message',
    });
    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'teams', planHash: hash })).toMatchObject({ status: 'recorded' });
  });

  it('stays idempotent for the same plan: the job again posts and replaces nothing', async () => {
    const { ctx, caseId, hostIds, slack, run } = await setup();
    await run(JOB_KINDS.chatPost, { caseId, purpose: 'alert' });
    await run(JOB_KINDS.chatPost, { caseId, purpose: 'alert' });
    const { payload } = await changePlan(ctx, caseId, hostIds[0]!);
    await run(JOB_KINDS.chatPost, payload);
    await run(JOB_KINDS.chatPost, payload);
    // The plain post again (a retried first job) does not post either.
    await run(JOB_KINDS.chatPost, { caseId, purpose: 'alert' });
    expect(slack.calls.map((c) => c.op)).toEqual(['post', 'post', 'update']);
    expect(await rows()).toHaveLength(4);
  });

  it('keeps updating only the current messages: chat.update leaves replaced ones alone', async () => {
    const { ctx, caseId, hostIds, slack, run } = await setup();
    await run(JOB_KINDS.chatPost, { caseId, purpose: 'alert' });
    const { payload } = await changePlan(ctx, caseId, hostIds[0]!);
    await run(JOB_KINDS.chatPost, payload);
    slack.calls.length = 0;
    await castVote(ctx, { caseId, stage: 'approval', personId: 'bob', decision: 'approve', via: 'web' });
    await run(JOB_KINDS.chatUpdate, { caseId, purpose: 'alert' });
    expect(slack.calls.map((c) => [c.op, c.ts])).toEqual([['update', 'slack-2']]);
    const replaced = (await rows()).find((r) => r.ts === 'slack-1')!;
    expect(fromJson<ChatMessage>(replaced.payload, {} as ChatMessage).title).toMatch(/^Replaced: /);
  });

  it('re-posts on the platform that failed when the job is retried, and replaces its old message only then', async () => {
    const { ctx, caseId, hostIds, slack, teams, run } = await setup();
    await run(JOB_KINDS.chatPost, { caseId, purpose: 'alert' });
    const { payload } = await changePlan(ctx, caseId, hostIds[0]!);
    teams.failPosts(true);
    await expect(run(JOB_KINDS.chatPost, payload)).rejects.toThrow(/teams: teams is down/);
    expect(slack.calls.map((c) => c.op)).toEqual(['post', 'post', 'update']);
    // Teams' old message still has its buttons: it is the only one there (a click on it is refused as stale).
    expect(teams.calls.map((c) => c.op)).toEqual(['post']);
    teams.failPosts(false);
    await run(JOB_KINDS.chatPost, payload);
    expect(slack.calls.map((c) => c.op)).toEqual(['post', 'post', 'update']);
    expect(teams.calls.map((c) => c.op)).toEqual(['post', 'post', 'update']);
  });
});

it('a replaced message keeps what it said, without buttons or votes, and points to the new one', () => {
  const message: ChatMessage = {
    kind: 'alert',
    caseId: 7,
    title: 'USN-1: OpenSSL',
    severity: 'high',
    text: 'High: USN-1: OpenSSL.',
    facts: [{ label: 'Affected hosts', value: '3' }],
    sections: [
      { heading: 'Why this matters', lines: ['KEV'] },
      { heading: 'Votes so far', lines: ['Alice approved'] },
    ],
    actions: [{ id: 'approve', label: 'Approve', style: 'primary', value: `case:7:approve:${'c'.repeat(64)}` }],
    link: { label: 'Open case', url: 'https://patchdeck.example.com/cases/7' },
    footer: null,
  };
  const replaced = supersededMessage(message);
  expect(replaced).toMatchObject({ kind: 'alert', caseId: 7, title: 'Replaced: USN-1: OpenSSL', actions: [], facts: message.facts, link: message.link, footer: 'Replaced by a newer approval request' });
  expect(replaced.sections.map((s) => s.heading)).toEqual(['Replaced', 'Why this matters']);
});
