import { afterEach, beforeEach, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/app/logger.js';
import { createSlackFace, type SlackFace } from '../../src/chat/slack/face.js';
import { parseConfig } from '../../src/config/load.js';
import { createConnectorRegistry } from '../../src/connectors/index.js';
import { fixedClock } from '../../src/core/clock.js';
import type { ChatMessage } from '../../src/core/messages.js';
import { listAudit } from '../../src/store/audit.js';
import { claimJob, completeJob } from '../../src/store/jobs.js';
import { fromJson } from '../../src/store/json.js';
import { castVote } from '../../src/workflow/approvals.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { JOB_KINDS, type JobHandlers } from '../../src/workflow/jobs.js';
import { createNotificationJobHandlers, type Notifier } from '../../src/workflow/notifications.js';
import { buildReview, createReviewJobHandlers } from '../../src/workflow/reviews.js';
import { createRolloutJobHandlers } from '../../src/workflow/rollouts.js';
import { fleet, insertFixtureCase, PEOPLE } from '../helpers/case-fixtures.js';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack.js';
import { describeEachStore } from '../helpers/stores.js';

const NOW = '2026-11-23T09:00:00.000Z';

describeEachStore('the review summary is posted when a rollout completes', (s) => {
  let fake: FakeSlack;
  beforeEach(async () => {
    fake = await startFakeSlack();
  });
  afterEach(async () => {
    await fake.close();
  });

  function setup(routing: Record<string, unknown>, simulator: Record<string, unknown> = {}) {
    const clock = fixedClock(NOW);
    const ctx: WorkflowContext = {
      store: s.store,
      clock,
      logger: createSilentLogger(),
      config: parseConfig({
        timezone: 'UTC',
        publicUrl: 'https://patchdeck.example.com/',
        people: PEOPLE,
        routing: { defaultChannel: '#patching', ...routing },
        rollout: { waveSize: 10, failureThreshold: 1 },
        connectors: { simulator: { seed: 3, failureRate: 0, rebootFailureRate: 0, delayMs: 0, ...simulator } },
      }),
    };
    const face: SlackFace = createSlackFace({ ctx, signingSecret: 'test-signing-secret', botToken: 'xoxb-test-token', apiUrl: fake.url, channelSpacingMs: 0 });
    const handlers: JobHandlers = {
      ...createRolloutJobHandlers({ connectors: createConnectorRegistry(ctx.config) }),
      ...createNotificationJobHandlers({ notifier: face.notifier, people: PEOPLE }),
      ...createReviewJobHandlers({ notifiers: [face.notifier] }),
    };
    const drain = async () => {
      const ran: string[] = [];
      for (;;) {
        const job = await claimJob(s.store, { owner: 'test', now: clock.now(), leaseMs: 60_000, kinds: Object.keys(handlers) });
        if (!job) return ran;
        await handlers[job.kind]!(ctx, job);
        await completeJob(s.store.db, job, clock.now());
        ran.push(job.kind);
      }
    };
    return { ctx, clock, face, handlers, drain };
  }

  /** Alert posted, approved, piloted, signed off, deployed: the case ends completed. */
  async function completeRollout(env: ReturnType<typeof setup>) {
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(12, { pilot: [0, 1] }) });
    await env.handlers[JOB_KINDS.chatPost]!(env.ctx, { id: 1, kind: JOB_KINDS.chatPost, payload: { caseId, purpose: 'alert' }, attempts: 1, maxAttempts: 5, fence: 1 });
    await castVote(env.ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack' });
    env.clock.advance(10 * 60_000);
    const before = await env.drain();
    expect(before).not.toContain(JOB_KINDS.reviewPost);
    env.clock.advance(60 * 60_000);
    await castVote(env.ctx, { caseId, stage: 'pilot_signoff', personId: 'bob', decision: 'approve', via: 'web' });
    env.clock.advance(60 * 60_000);
    const after = await env.drain();
    const state = await s.store.db.selectFrom('cases').select('state').where('id', '=', caseId).executeTakeFirstOrThrow();
    expect(state.state).toBe('completed');
    return { caseId, ran: after };
  }

  const reviewPosts = () => fake.callsTo('chat.postMessage').filter((c) => String(c.body.text).startsWith('Review:'));

  it('posts the summary in the case thread and to the managers channel, once', async () => {
    const env = setup({ reviewChannel: '#it-managers' }, { failureRate: 0.2, rebootFailureRate: 0.2 });
    const { caseId, ran } = await completeRollout(env);
    expect(ran.filter((k) => k === JOB_KINDS.reviewPost)).toHaveLength(1);
    const rollout = await s.store.db.selectFrom('rollouts').select('id').where('case_id', '=', caseId).executeTakeFirstOrThrow();
    const key = await s.store.db.selectFrom('jobs').select('unique_key').where('kind', '=', JOB_KINDS.reviewPost).executeTakeFirstOrThrow();
    expect(key.unique_key).toBe(`rollout:${Number(rollout.id)}:review_summary`);

    const alert = await s.store.db.selectFrom('chat_messages').select(['ts']).where('case_id', '=', caseId).where('purpose', '=', 'alert').executeTakeFirstOrThrow();
    const posts = reviewPosts();
    expect(posts.map((p) => [p.body.channel, p.body.thread_ts ?? null])).toEqual([
      ['#patching', alert.ts],
      ['#it-managers', null],
    ]);
    // What the summary says is the review's own figures.
    const review = await buildReview(env.ctx, caseId);
    const o = review.outcomes;
    expect(o.failed + o.rebootFailed).toBeGreaterThan(0);
    expect(String(posts[0]!.body.text)).toBe(
      `Review: USN-7001-1: OpenSSL vulnerabilities. Rollout #${review.rollout!.id} completed: 12 hosts, ${o.installed} installed, ${o.failed} failed, ${o.rebooted} rebooted, ${o.rebootFailed} reboot failed. SLA met.`,
    );
    const blocks = JSON.stringify(posts[1]!.body.blocks);
    expect(blocks).toContain('Met: the rollout started');
    expect(blocks).toContain(`${review.failedHosts[0]!.host} · wave`);
    expect(blocks).toContain(review.lessons[0]!.slice(0, 40));
    expect(blocks).toContain(`https://patchdeck.example.com/cases/${caseId}/review`);

    const rows = await s.store.db.selectFrom('chat_messages').select(['purpose', 'payload']).where('case_id', '=', caseId).where('purpose', 'like', 'review_summary%').orderBy('id').execute();
    expect(rows.map((r) => r.purpose)).toEqual([`review_summary:${review.rollout!.id}`, `review_summary:${review.rollout!.id}:managers`]);
    expect(fromJson<ChatMessage | null>(rows[0]!.payload, null)).toMatchObject({ kind: 'review_summary', caseId });
    const audit = await listAudit(s.store.db, { subjectType: 'case', subjectId: caseId });
    expect(audit.filter((e) => e.action === 'chat.posted' && (e.after as { purpose: string }).purpose === 'review_summary')).toHaveLength(2);

    // Run twice (a lease ran out): nothing is posted again.
    await env.handlers[JOB_KINDS.reviewPost]!(env.ctx, { id: 99, kind: JOB_KINDS.reviewPost, payload: { caseId, rolloutId: review.rollout!.id }, attempts: 2, maxAttempts: 5, fence: 2 });
    expect(reviewPosts()).toHaveLength(2);
  });

  it('without a managers channel posts only in the case thread; a failed platform is retried alone', async () => {
    const env = setup({});
    const { caseId } = await completeRollout(env);
    expect(reviewPosts().map((p) => p.body.channel)).toEqual(['#patching']);
    const rolloutId = Number((await s.store.db.selectFrom('rollouts').select('id').where('case_id', '=', caseId).executeTakeFirstOrThrow()).id);

    const failing: Notifier = { platform: 'teams', post: async () => Promise.reject(new Error('connector down')), update: async () => {} };
    const both = createReviewJobHandlers({ notifiers: [env.face.notifier, failing] });
    const job = { id: 5, kind: JOB_KINDS.reviewPost, payload: { caseId, rolloutId }, attempts: 1, maxAttempts: 5, fence: 1 };
    await expect(both[JOB_KINDS.reviewPost]!(env.ctx, job)).rejects.toThrow('teams #patching: connector down');
    expect(reviewPosts()).toHaveLength(1);
  });

  it('holds the managers\' copy during that channel\'s quiet hours and sends it when they end; a Critical case goes through', async () => {
    const env = setup({ reviewChannel: '#it-managers', channels: { '#it-managers': { quietHours: { start: '10:00', end: '13:00', timezone: 'UTC' } } } });
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(4, { pilot: [0] }) });
    await s.store.db.updateTable('cases').set({ severity: 'high' }).where('id', '=', caseId).execute();
    await castVote(env.ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack' });
    await env.drain();
    env.clock.advance(2 * 60 * 60_000);
    await castVote(env.ctx, { caseId, stage: 'pilot_signoff', personId: 'bob', decision: 'approve', via: 'web' });
    await env.drain();
    // 11:00 UTC: the case channel gets it now, the managers' channel is in quiet hours until 13:00.
    expect(reviewPosts().map((p) => p.body.channel)).toEqual(['#patching']);
    const rolloutId = Number((await s.store.db.selectFrom('rollouts').select('id').where('case_id', '=', caseId).executeTakeFirstOrThrow()).id);
    const again = await s.store.db.selectFrom('jobs').select(['run_at', 'unique_key', 'state']).where('kind', '=', JOB_KINDS.reviewPost).where('state', '=', 'queued').execute();
    expect(again).toEqual([{ run_at: '2026-11-23T13:00:00.000Z', unique_key: `rollout:${rolloutId}:review_summary:after-quiet:2026-11-23T13:00:00.000Z`, state: 'queued' }]);
    const delayed = (await listAudit(s.store.db, { subjectType: 'case', subjectId: caseId })).filter((e) => e.action === 'chat.delayed');
    expect(delayed.map((e) => e.after)).toEqual([{ purpose: 'review_summary', channels: ['#it-managers'], until: '2026-11-23T13:00:00.000Z', reason: 'quiet_hours' }]);

    env.clock.advance(2 * 60 * 60_000);
    expect(await env.drain()).toEqual([JOB_KINDS.reviewPost]);
    expect(reviewPosts().map((p) => p.body.channel)).toEqual(['#patching', '#it-managers']);

    // A Critical case's summary is not held.
    await s.store.db.updateTable('cases').set({ severity: 'critical' }).where('id', '=', caseId).execute();
    await s.store.db.deleteFrom('chat_messages').where('purpose', '=', `review_summary:${rolloutId}:managers`).execute();
    env.clock.set('2026-11-23T11:30:00.000Z');
    await env.handlers[JOB_KINDS.reviewPost]!(env.ctx, { id: 77, kind: JOB_KINDS.reviewPost, payload: { caseId, rolloutId }, attempts: 1, maxAttempts: 5, fence: 1 });
    expect(reviewPosts().map((p) => p.body.channel)).toEqual(['#patching', '#it-managers', '#it-managers']);
  });

  it('refuses a malformed payload', async () => {
    const env = setup({});
    await expect(env.handlers[JOB_KINDS.reviewPost]!(env.ctx, { id: 5, kind: JOB_KINDS.reviewPost, payload: { caseId: 1 }, attempts: 1, maxAttempts: 5, fence: 1 })).rejects.toThrow(
      'review.post job payload needs a caseId and a rolloutId',
    );
  });
});
