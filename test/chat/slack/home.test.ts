import { afterEach, beforeEach, expect, it } from 'vitest';
import type { WorkflowContext } from '../../../src/workflow/context.js';
import { insertCase, insertRollout } from '../case-rows.js';
import { blockActionsPayload } from '../../helpers/slack-signing.js';
import { describeEachStore } from '../../helpers/stores.js';
import { appHomeOpened, sendEvent, sendInteraction, sendSigned, startHarness, stopHarness, workflowContext, type Harness } from './harness.js';

describeEachStore('Slack App Home', (sctx) => {
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

  const published = async (count = 1) => {
    const call = await h!.fake.waitForCall('views.publish', { count });
    return { userId: call.body.user_id, view: call.body.view as { type: string; blocks: unknown[] }, text: JSON.stringify(call.body.view) };
  };

  it('answers the URL verification challenge', async () => {
    const answer = await sendSigned(h!, JSON.stringify({ token: 't', challenge: 'c-3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P', type: 'url_verification' }), 'application/json');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ challenge: 'c-3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' });
  });

  it('publishes my pending approvals with the alert buttons, my sign-offs and my hosts\' reboots', async () => {
    const awaiting = await insertCase(sctx.store.db, { advisoryId: 'A-1', title: 'OpenSSL for Bob' });
    const piloting = await insertCase(sctx.store.db, { advisoryId: 'A-2', title: 'glibc pilot', state: 'piloting' });
    const rolloutId = await insertRollout(sctx.store.db, { caseId: piloting, state: 'awaiting_signoff', startedBy: 'alice', targets: [{ state: 'reboot_pending', wave: 0 }] });
    // The pilot host belongs to Bob (by person id); another host to someone else.
    const [target] = await sctx.store.db.selectFrom('rollout_targets').select(['host_id', 'host_name']).where('rollout_id', '=', rolloutId).execute();
    await sctx.store.db.updateTable('hosts').set({ owner: 'bob' }).where('id', '=', target!.host_id).execute();

    const ack = await sendEvent(h!, 'Ev0HOME1', appHomeOpened('UBOB'));
    expect(ack.status).toBe(200);
    const { userId, view, text } = await published();
    expect(userId).toBe('UBOB');
    expect(view.type).toBe('home');
    expect(text).toContain('Approvals waiting for you (1)');
    expect(text).toContain('OpenSSL for Bob');
    expect(text).toContain(`"action_id":"approve","text":{"type":"plain_text","text":"Approve","emoji":true},"value":"case:${awaiting}:approve"`);
    expect(text).toContain('Pilots waiting for your sign-off (1)');
    expect(text).toContain(`"value":"case:${piloting}:signoff"`);
    expect(text).toContain('Reboots of your hosts (1)');
    expect(text).toContain(`\`${target!.host_name}\`: reboot pending`);
  });

  it('a redelivered event (X-Slack-Retry-Num) is acknowledged and not processed again', async () => {
    await insertCase(sctx.store.db);
    expect((await sendEvent(h!, 'Ev0RETRY', appHomeOpened('UALICE'))).status).toBe(200);
    await published();
    for (const retry of [1, 2]) expect((await sendEvent(h!, 'Ev0RETRY', appHomeOpened('UALICE'), retry)).status).toBe(200);
    // A new event (the user opens the tab again) is published again.
    expect((await sendEvent(h!, 'Ev0OTHER', appHomeOpened('UALICE'))).status).toBe(200);
    await published(2);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(h!.fake.callsTo('views.publish')).toHaveLength(2);
    const receipts = await sctx.store.db.selectFrom('chat_event_receipts').select(['platform', 'event_id']).orderBy('event_id').execute();
    expect(receipts).toEqual([
      { platform: 'slack', event_id: 'Ev0OTHER' },
      { platform: 'slack', event_id: 'Ev0RETRY' },
    ]);
  });

  it('ignores the Messages tab', async () => {
    expect((await sendEvent(h!, 'Ev0MSG', appHomeOpened('UALICE', 'messages'))).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(h!.fake.callsTo('views.publish')).toEqual([]);
  });

  it('tells a person Patchdeck does not know how to get added', async () => {
    await sendEvent(h!, 'Ev0WHO', appHomeOpened('UMALLORY'));
    expect((await published()).text).toContain('Patchdeck does not know Slack user `UMALLORY`');
  });

  /** A button click on the Home tab: no channel, the container is the view. */
  const homeClick = (userId: string, actionId: string, value: string) => {
    const payload = blockActionsPayload({ userId, channelId: 'unused', actionId, value });
    delete payload.channel;
    delete payload.message;
    payload.container = { type: 'view', view_id: 'V0HOME' };
    payload.view = { id: 'V0HOME', type: 'home', blocks: [] };
    return sendInteraction(h!, payload);
  };

  it('a click on a Home tab button votes and re-publishes the tab with the outcome on top', async () => {
    const caseId = await insertCase(sctx.store.db);
    expect((await homeClick('UBOB', 'approve', `case:${caseId}:approve`)).status).toBe(200);
    const { text } = await published();
    expect(text).toContain(`:white_check_mark: Recorded: you approved case ${caseId}.`);
    expect(text).toContain('Approvals waiting for you (0)');
    const votes = await sctx.store.db.selectFrom('votes').selectAll().execute();
    expect(votes).toMatchObject([{ case_id: caseId, person: 'bob', decision: 'approve', via: 'slack' }]);
    expect(h!.fake.callsTo('chat.postEphemeral')).toEqual([]);
  });

  it('a refused Home tab click shows the reason on the tab', async () => {
    const caseId = await insertCase(sctx.store.db);
    await homeClick('UDAVE', 'approve', `case:${caseId}:approve`);
    expect((await published()).text).toContain(':no_entry: Not recorded: Dave Example is not in the');
  });
});

describeEachStore('Slack probes', (sctx) => {
  it('answers Slack\'s unsigned ssl_check with 200 and neither processes nor audits it', async () => {
    const h = await startHarness(workflowContext(sctx.store));
    try {
      const response = await fetch(h.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'ssl_check=1&token=legacy-verification-token' });
      expect(response.status).toBe(200);
      expect(await sctx.store.db.selectFrom('audit_events').selectAll().execute()).toEqual([]);
      // Anything more than the probe still needs a signature.
      const forged = await fetch(h.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'ssl_check=1&command=%2Fpatchdeck&text=approve+1' });
      expect(forged.status).toBe(401);
    } finally {
      await stopHarness(h);
    }
  });
});
