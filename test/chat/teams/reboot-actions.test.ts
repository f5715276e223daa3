import { afterEach, beforeEach, expect, it } from 'vitest';
import { createConnectorRegistry } from '../../../src/connectors/index.js';
import { parseConfig } from '../../../src/config/load.js';
import { listAudit } from '../../../src/store/audit.js';
import { claimJob, completeJob } from '../../../src/store/jobs.js';
import { castVote } from '../../../src/workflow/approvals.js';
import type { WorkflowContext } from '../../../src/workflow/context.js';
import type { JobHandlers } from '../../../src/workflow/jobs.js';
import { createRebootJobHandlers } from '../../../src/workflow/reboots.js';
import { createRolloutJobHandlers } from '../../../src/workflow/rollouts.js';
import { fleet, insertFixtureCase } from '../../helpers/case-fixtures.js';
import { cardActionActivity, messageActivity } from '../../helpers/fake-teams.js';
import { describeEachStore } from '../../helpers/stores.js';
import { PEOPLE, startTeamsHarness, teamsContext, type TeamsHarness } from './harness.js';

/** Reboot notices in Teams: a card in the owner's personal chat (stored reference), answered by JWT-signed invokes. */

const PERSONAL = 'a:1personal-dave';

function rebootContext(store: WorkflowContext['store']): WorkflowContext {
  const base = teamsContext(store);
  return {
    ...base,
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

/** An activity in a person's 1:1 chat with the bot: no team, no channel. */
function personal<T extends Record<string, unknown>>(activity: T, aad: string, userId: string): T {
  const { channelData } = activity as unknown as { channelData: Record<string, unknown> };
  return {
    ...activity,
    from: { id: userId, name: 'Someone', aadObjectId: aad },
    conversation: { id: PERSONAL, conversationType: 'personal', tenantId: (channelData.tenant as { id: string }).id },
    channelData: { tenant: channelData.tenant },
  };
}

type Card = { body: { type: string; inlines?: { text: string }[] }[]; [key: string]: unknown };

function cardOf(answer: { body: unknown }): Card {
  return (answer.body as { value: Card }).value;
}

function textOf(card: Card): string {
  return JSON.stringify(card);
}

describeEachStore('Teams reboot notices', (s) => {
  let ctx: WorkflowContext;
  let h: TeamsHarness;
  let handlers: JobHandlers;
  let noticeId: number;
  beforeEach(async () => {
    ctx = rebootContext(s.store);
    h = await startTeamsHarness(ctx);
    // Dave opened the app once: the face keeps his personal chat's reference.
    expect((await h.send(personal(messageActivity({ serviceUrl: h.fake.serviceUrl, text: 'hi' }), 'aad-dave', '29:dave-mri'), await h.fake.signToken())).status).toBe(200);
    handlers = { ...createRolloutJobHandlers({ connectors: createConnectorRegistry(ctx.config) }), ...createRebootJobHandlers({ notifiers: [h.face.direct] }) };
    const { caseId, hostIds } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(1, { pilot: [0] }) });
    await s.store.db.updateTable('hosts').set({ owner: 'dave' }).where('id', '=', hostIds[0]!).execute();
    await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'cli' });
    await drain(ctx, handlers);
    noticeId = Number((await s.store.db.selectFrom('reboot_notices').select('id').executeTakeFirstOrThrow()).id);
  });
  afterEach(async () => {
    await h.close();
  });

  const invoke = async (aad: string, userId: string, actionId: string, value: string) =>
    h.send(personal(cardActionActivity({ serviceUrl: h.fake.serviceUrl, verb: 'patchdeck.reboot', actionId, data: { value } }), aad, userId), await h.fake.signToken());

  it('posts the notice card into the owner\'s personal chat', async () => {
    const posts = h.fake.connectorCalls().filter((c) => c.method === 'POST' && c.path === `/teams/v3/conversations/${encodeURIComponent(PERSONAL)}/activities`);
    const card = posts.map((c) => (c.body.attachments as { content: Card }[] | undefined)?.[0]?.content).find((c) => c !== undefined)!;
    expect(textOf(card)).toContain('Reboot of host-001');
    const actions = (card.body.find((b) => b.type === 'ActionSet') as unknown as { actions: { id?: string; verb?: string; data?: unknown }[] }).actions;
    expect(actions.filter((a) => a.verb !== undefined).map((a) => [a.id, a.verb, a.data])).toEqual([
      ['reboot_now', 'patchdeck.reboot', { value: `reboot:${noticeId}:now` }],
      ['reboot_postpone', 'patchdeck.reboot', { value: `reboot:${noticeId}:postpone:0` }],
    ]);
  });

  it('records the owner\'s postpone once, answers with the updated card, and refuses anyone else', async () => {
    const first = await invoke('aad-dave', '29:dave-mri', 'reboot_postpone', `reboot:${noticeId}:postpone:0`);
    expect(first.status).toBe(200);
    expect(textOf(cardOf(first))).toContain('Recorded: the reboot is postponed.');
    expect(textOf(cardOf(first))).toContain('Postponed by Dave Example (1 of 2)');
    const again = await invoke('aad-dave', '29:dave-mri', 'reboot_postpone', `reboot:${noticeId}:postpone:0`);
    expect(textOf(cardOf(again))).toContain('Nothing changed: Already postponed');

    const bob = await invoke('aad-bob', '29:bob-mri', 'reboot_now', `reboot:${noticeId}:now`);
    expect(textOf(cardOf(bob))).toContain('Not recorded: Only the owner of host-001 (Dave Example) can decide when it reboots.');
    expect(textOf(cardOf(bob))).not.toContain('patchdeck.reboot');

    const notice = await s.store.db.selectFrom('reboot_notices').selectAll().executeTakeFirstOrThrow();
    expect([notice.postpones, notice.decided_by, notice.last_decision]).toEqual([1, 'dave', 'postpone']);
    const audit = (await listAudit(s.store.db, { subjectType: 'reboot_notice' })).map((e) => `${e.actor}:${e.action}`);
    expect(audit.filter((a) => a.includes('reboot.deci'))).toEqual(['dave:reboot.decided', 'bob:reboot.decision_refused']);
  });
});
