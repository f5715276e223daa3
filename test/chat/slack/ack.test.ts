import { afterEach, beforeEach, expect, it } from 'vitest';
import { WORKFLOW_SERVICES, type SlackServices } from '../../../src/chat/slack/services.js';
import { listAudit } from '../../../src/store/audit.js';
import type { WorkflowContext } from '../../../src/workflow/context.js';
import { blockActionsPayload, formEncodePayload } from '../../helpers/slack-signing.js';
import { describeEachStore } from '../../helpers/stores.js';
import { insertCase } from '../case-rows.js';
import { sendCommand, sendInteraction, sendSigned, startHarness, stopHarness, workflowContext, type Harness } from './harness.js';

/** castVote held at a gate until the test opens it: a vote stuck behind a slow database. */
function gatedServices() {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const calls: number[] = [];
  const services: SlackServices = {
    ...WORKFLOW_SERVICES,
    castVote: async (ctx, input) => {
      calls.push(Date.now());
      await gate;
      return WORKFLOW_SERVICES.castVote(ctx, input);
    },
  };
  return { services, calls, open: () => open() };
}

describeEachStore('Slack acknowledgements', (sctx) => {
  let ctx: WorkflowContext;
  let h: Harness | undefined;
  let gated: ReturnType<typeof gatedServices>;
  beforeEach(async () => {
    ctx = workflowContext(sctx.store);
    gated = gatedServices();
    h = await startHarness(ctx, { services: gated.services });
  });
  afterEach(async () => {
    gated.open();
    await stopHarness(h);
    h = undefined;
  });

  const votes = () => sctx.store.db.selectFrom('votes').selectAll().execute();

  it('answers a click with HTTP 200 while the vote is still waiting, then records it', async () => {
    const caseId = await insertCase(sctx.store.db);
    const sent = Date.now();
    const answer = await sendInteraction(h!, blockActionsPayload({ userId: 'UBOB', channelId: 'C0PATCH', actionId: 'approve', value: `case:${caseId}:approve` }));
    expect(answer.status).toBe(200);
    expect(answer.at - sent).toBeLessThan(1000);
    // The vote started before the answer went out, and is still held: the 200 did not wait for it.
    await expect.poll(() => gated.calls.length).toBe(1);
    expect(await votes()).toEqual([]);
    gated.open();
    await expect.poll(async () => (await votes()).length, { timeout: 5000 }).toBe(1);
  });

  it('acknowledges /patchdeck approve at once and answers through response_url once the vote is in', async () => {
    const caseId = await insertCase(sctx.store.db);
    const answer = await sendCommand(h!, 'UBOB', `approve ${caseId}`);
    expect(answer).toMatchObject({ status: 200, text: '' });
    await expect.poll(() => gated.calls.length).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(h!.fake.callsTo('/hooks/cmd')).toEqual([]);
    gated.open();
    const reply = await h!.fake.waitForCall('/hooks/cmd');
    expect(String(reply.body.text)).toMatch(/^:white_check_mark: Recorded: you approved case/);
  });

  it('records one vote for a triple click and says nothing to the clicker', async () => {
    gated.open();
    const caseId = await insertCase(sctx.store.db);
    // Approve: Reject opens a modal first (modals.test.ts), so it is not a one-click vote.
    const click = () => sendInteraction(h!, blockActionsPayload({ userId: 'UALICE', channelId: 'C0PATCH', actionId: 'approve', value: `case:${caseId}:approve` }));
    const answers = await Promise.all([click(), click(), click()]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    await h!.face.drain();
    // Clicks still waiting in the queue when their twin arrived were dropped; the rest were duplicates.
    expect(gated.calls.length).toBeGreaterThanOrEqual(1);
    // A redelivery marked as Slack's retry, after the vote is in, records nothing either.
    const retried = formEncodePayload(blockActionsPayload({ userId: 'UALICE', channelId: 'C0PATCH', actionId: 'approve', value: `case:${caseId}:approve` }));
    expect((await sendSigned(h!, retried, 'application/x-www-form-urlencoded', { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' })).status).toBe(200);
    await h!.face.drain();
    expect(await votes()).toMatchObject([{ case_id: caseId, person: 'alice', decision: 'approve' }]);
    expect((await listAudit(sctx.store.db)).filter((a) => a.action === 'vote.cast')).toHaveLength(1);
    expect(h!.fake.callsTo('chat.postEphemeral')).toEqual([]);
  });
});
