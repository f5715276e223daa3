import { afterEach, beforeEach, expect, it } from 'vitest';
import { CASE_SHORTCUT_ID } from '../../../src/chat/slack/shortcuts.js';
import { toJson } from '../../../src/store/json.js';
import { describeEachStore } from '../../helpers/stores.js';
import { insertCase } from '../case-rows.js';
import { responseUrl, sendInteraction, startHarness, stopHarness, workflowContext, type Harness } from './harness.js';

describeEachStore('Slack message shortcut', (sctx) => {
  let h: Harness | undefined;
  beforeEach(async () => {
    h = await startHarness(workflowContext(sctx.store));
  });
  afterEach(async () => {
    await stopHarness(h);
    h = undefined;
  });

  const shortcutOn = (ts: string) =>
    sendInteraction(h!, {
      type: 'message_action',
      callback_id: CASE_SHORTCUT_ID,
      trigger_id: '1.2.3',
      message_ts: ts,
      response_url: responseUrl(h!, 'shortcut'),
      message: { type: 'message', ts, text: 'alert', bot_id: 'B0PATCHDECK' },
      user: { id: 'UDAVE', name: 'dave' },
      channel: { id: 'C0PATCH', name: 'patching' },
      team: { id: 'T0PATCH', domain: 'example' },
      token: 'legacy-verification-token',
      action_ts: '1795000002.000100',
    });

  it('answers privately with the current case behind a Patchdeck alert', async () => {
    const caseId = await insertCase(sctx.store.db);
    await sctx.store.db
      .insertInto('chat_messages')
      .values({ case_id: caseId, purpose: 'alert', platform: 'slack', channel: 'C0PATCH', ts: '1795000000.000100', payload: toJson({}), created_at: '2026-11-23T09:00:00.000Z', updated_at: '2026-11-23T09:00:00.000Z' })
      .execute();
    expect((await shortcutOn('1795000000.000100')).status).toBe(200);
    const reply = await h!.fake.waitForCall('/hooks/shortcut');
    expect(reply.body.response_type).toBe('ephemeral');
    expect(String(reply.body.text)).toContain('USN-7001-1');
    expect(JSON.stringify(reply.body.blocks)).toContain(`"value":"case:${caseId}:approve"`);
  });

  it('says so for a message Patchdeck did not post', async () => {
    await shortcutOn('1795000000.999999');
    const reply = await h!.fake.waitForCall('/hooks/shortcut');
    expect(String(reply.body.text)).toMatch(/^This message is not one Patchdeck posted/);
  });
});
