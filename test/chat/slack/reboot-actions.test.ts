import { afterEach, beforeEach, expect, it } from 'vitest';
import { createSilentLogger } from '../../../src/app/logger.js';
import { createSlackDirectNotifier } from '../../../src/chat/slack/direct.js';
import { parseConfig } from '../../../src/config/load.js';
import { createConnectorRegistry } from '../../../src/connectors/index.js';
import { fixedClock } from '../../../src/core/clock.js';
import { listAudit } from '../../../src/store/audit.js';
import { claimJob, completeJob } from '../../../src/store/jobs.js';
import { castVote } from '../../../src/workflow/approvals.js';
import type { WorkflowContext } from '../../../src/workflow/context.js';
import type { JobHandlers } from '../../../src/workflow/jobs.js';
import { createRebootJobHandlers } from '../../../src/workflow/reboots.js';
import { createRolloutJobHandlers } from '../../../src/workflow/rollouts.js';
import { fleet, insertFixtureCase } from '../../helpers/case-fixtures.js';
import { blockActionsPayload } from '../../helpers/slack-signing.js';
import { describeEachStore } from '../../helpers/stores.js';
import { NOW, PEOPLE, sendInteraction, startHarness, stopHarness, type Harness } from './harness.js';

/** Reboot notices in Slack: the DM goes out through the fake Web API, and clicks come back as signed requests. */

function rebootContext(store: WorkflowContext['store']): WorkflowContext {
  return {
    store,
    clock: fixedClock(NOW),
    logger: createSilentLogger(),
    config: parseConfig({
      timezone: 'Europe/Berlin',
      publicUrl: 'https://patchdeck.example.com',
      people: [...PEOPLE, { id: 'rita', name: 'Rita Requester', groups: [] }],
      rollout: { waveSize: 4 },
      connectors: { simulator: { seed: 11, failureRate: 0, rebootFailureRate: 0, delayMs: 0 } },
    }),
  };
}

async function drain(ctx: WorkflowContext, handlers: JobHandlers): Promise<void> {
  for (;;) {
    const job = await claimJob(ctx.store, { owner: 'test', now: ctx.clock.now(), leaseMs: 60_000, kinds: Object.keys(handlers) });
    if (!job) return;
    await handlers[job.kind]!(ctx, job);
    await completeJob(ctx.store.db, job, ctx.clock.now());
  }
}

describeEachStore('Slack reboot notices', (s) => {
  let ctx: WorkflowContext;
  let h: Harness | undefined;
  let handlers: JobHandlers;
  let noticeId: number;
  beforeEach(async () => {
    ctx = rebootContext(s.store);
    h = await startHarness(ctx);
    handlers = { ...createRolloutJobHandlers({ connectors: createConnectorRegistry(ctx.config) }), ...createRebootJobHandlers({ notifiers: [createSlackDirectNotifier(h.face.app.client)] }) };
    const { caseId, hostIds } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(1, { pilot: [0] }) });
    await s.store.db.updateTable('hosts').set({ owner: 'dave' }).where('id', '=', hostIds[0]!).execute();
    await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'cli' });
    await drain(ctx, handlers);
    noticeId = Number((await s.store.db.selectFrom('reboot_notices').select('id').executeTakeFirstOrThrow()).id);
  });
  afterEach(async () => {
    await stopHarness(h);
    h = undefined;
  });

  const click = (userId: string, actionId: string, value: string) => sendInteraction(h!, blockActionsPayload({ userId, channelId: 'D0UDAVE', actionId, value }));

  it('opens a DM with the owner and posts the notice with Reboot now and Postpone', async () => {
    expect(h!.fake.callsTo('conversations.open').map((c) => c.body.users)).toEqual(['UDAVE']);
    const [post] = h!.fake.callsTo('chat.postMessage');
    expect(post!.body.channel).toBe('D0UDAVE');
    const actions = (post!.body.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]).find((b) => b.type === 'actions')!;
    expect(actions.elements!.map((e) => [e.action_id, e.value])).toEqual([
      ['reboot_now', `reboot:${noticeId}:now`],
      ['reboot_postpone', `reboot:${noticeId}:postpone:0`],
    ]);
    expect(String(post!.body.text)).toContain('Reboot of host-001');
  });

  it('records the owner\'s postpone once for a double click and rewrites the DM in place', async () => {
    const value = `reboot:${noticeId}:postpone:0`;
    expect((await click('UDAVE', 'reboot_postpone', value)).status).toBe(200);
    await h!.face.drain();
    expect((await click('UDAVE', 'reboot_postpone', value)).status).toBe(200);
    await h!.face.drain();
    const notice = await s.store.db.selectFrom('reboot_notices').selectAll().executeTakeFirstOrThrow();
    expect([notice.postpones, notice.reboot_at, notice.decided_by]).toEqual([1, '2026-11-23T13:00:00.000Z', 'dave']);
    const repeat = await h!.fake.waitForCall('chat.postEphemeral');
    expect(repeat.body).toMatchObject({ channel: 'D0UDAVE', user: 'UDAVE' });
    expect(String(repeat.body.text)).toMatch(/^:information_source: Nothing changed: Already postponed/);

    await drain(ctx, handlers);
    const [update] = h!.fake.callsTo('chat.update');
    const stored = await s.store.db.selectFrom('chat_messages').select(['channel', 'ts']).where('purpose', '=', `reboot_notice:${noticeId}`).executeTakeFirstOrThrow();
    expect(update!.body).toMatchObject({ channel: stored.channel, ts: stored.ts });
    expect(stored.channel).toBe('D0UDAVE');
    expect(JSON.stringify(update!.body.blocks)).toContain('Postponed by Dave Example (1 of 2)');
  });

  it('refuses anyone but the owner, and a forged value, with a visible reason and an audit record', async () => {
    await click('UBOB', 'reboot_now', `reboot:${noticeId}:now`);
    await h!.face.drain();
    const refused = await h!.fake.waitForCall('chat.postEphemeral');
    expect(refused.body).toMatchObject({ user: 'UBOB' });
    expect(String(refused.body.text)).toBe(':no_entry: Not recorded: Only the owner of host-001 (Dave Example) can decide when it reboots.');

    await click('UDAVE', 'reboot_now', `reboot:${noticeId}:postpone:0`);
    await h!.face.drain();
    const forged = await h!.fake.waitForCall('chat.postEphemeral', { count: 2 });
    expect(String(forged.body.text)).toMatch(/^:no_entry: Not recorded: this button was not sent by Patchdeck/);

    const notice = await s.store.db.selectFrom('reboot_notices').selectAll().executeTakeFirstOrThrow();
    expect([notice.last_decision, notice.postpones]).toEqual([null, 0]);
    const audit = (await listAudit(s.store.db)).filter((e) => e.action === 'reboot.decision_refused' || e.action === 'slack.action_refused');
    expect(audit.map((e) => [e.actor, e.action])).toEqual([
      ['bob', 'reboot.decision_refused'],
      ['dave', 'slack.action_refused'],
    ]);
    // The vote listener never saw these clicks.
    expect(await s.store.db.selectFrom('votes').select('person').execute()).toEqual([{ person: 'alice' }]);
  });

  it('reboots the host when the owner chooses Reboot now', async () => {
    await click('UDAVE', 'reboot_now', `reboot:${noticeId}:now`);
    await h!.face.drain();
    await drain(ctx, handlers);
    expect((await s.store.db.selectFrom('rollout_targets').select('state').executeTakeFirstOrThrow()).state).toBe('rebooted');
    expect(JSON.stringify(h!.fake.callsTo('chat.update').at(-1)!.body.blocks)).toContain('Reboot now chosen by Dave Example');
  });
});
