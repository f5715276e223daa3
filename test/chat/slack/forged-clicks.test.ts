import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../../src/store/audit.js';
import { toJson } from '../../../src/store/json.js';
import type { WorkflowContext } from '../../../src/workflow/context.js';
import { blockActionsPayload, formEncodePayload, signSlackBody, TEST_SIGNING_SECRET } from '../../helpers/slack-signing.js';
import { describeEachStore } from '../../helpers/stores.js';
import { insertCase } from '../case-rows.js';
import { sendInteraction, sendSigned, startHarness, stopHarness, workflowContext, type Harness } from './harness.js';

const PLAN = 'a'.repeat(64);
const OLD_PLAN = 'b'.repeat(64);

/**
 * Clicks Slack signs but Patchdeck must not count: each is refused, the clicker is told why in an
 * ephemeral message, and the attempt is audited. Slack signs who clicked; everything in the button
 * value (case, action, plan) is checked against the server's own rows.
 */
describeEachStore('Slack forged and stale clicks', (sctx) => {
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

  const votes = () => sctx.store.db.selectFrom('votes').selectAll().execute();
  const refusals = async () => (await listAudit(sctx.store.db)).filter((a) => a.action === 'vote.refused' || a.action === 'slack.action_refused');
  async function boundCase(input: { requestedBy?: string } = {}): Promise<number> {
    const caseId = await insertCase(sctx.store.db);
    await sctx.store.db.updateTable('cases').set({ plan_hash: PLAN, requested_by: input.requestedBy ?? 'patchdeck' }).where('id', '=', caseId).execute();
    return caseId;
  }
  /** Sends the click, waits for the face's queued work and answers what the clicker was told. */
  async function clickAndTell(payload: Record<string, unknown>): Promise<string> {
    expect((await sendInteraction(h!, payload)).status).toBe(200);
    await h!.face.drain();
    const told = await h!.fake.waitForCall('chat.postEphemeral');
    return String(told.body.text);
  }

  it('counts a click that names the current plan', async () => {
    const caseId = await boundCase();
    await sendInteraction(h!, blockActionsPayload({ userId: 'UBOB', channelId: 'C0PATCH', actionId: 'approve', value: `case:${caseId}:approve:${PLAN}` }));
    await h!.face.drain();
    expect(await votes()).toMatchObject([{ case_id: caseId, person: 'bob', plan_hash: PLAN }]);
  });

  it('refuses a click on a message of an older plan, telling the clicker to use the new message', async () => {
    const caseId = await boundCase();
    const text = await clickAndTell(blockActionsPayload({ userId: 'UBOB', channelId: 'C0PATCH', actionId: 'approve', value: `case:${caseId}:approve:${OLD_PLAN}` }));
    expect(text).toBe(':no_entry: Not recorded: the plan changed since this message was posted; use the new message');
    expect(await votes()).toEqual([]);
    expect(await refusals()).toMatchObject([{ actor: 'bob', subjectId: String(caseId), after: { code: 'PD_VOTE_STALE_PLAN', planHash: OLD_PLAN, via: 'slack' } }]);
  });

  it('refuses a button whose value names another case than the message it is on', async () => {
    const shown = await boundCase();
    const other = await insertCase(sctx.store.db, { advisoryId: 'USN-7002-1' });
    const at = '2026-11-23T09:00:00.000Z';
    await sctx.store.db
      .insertInto('chat_messages')
      .values({ case_id: shown, purpose: 'alert', platform: 'slack', channel: 'C0PATCH', ts: '1795000000.000100', payload: toJson({}), created_at: at, updated_at: at, plan_hash: PLAN })
      .execute();
    const text = await clickAndTell(blockActionsPayload({ userId: 'UBOB', channelId: 'C0PATCH', actionId: 'approve', value: `case:${other}:approve`, messageTs: '1795000000.000100' }));
    expect(text).toMatch(/^:no_entry: Not recorded: this button was not sent by Patchdeck in this form/);
    expect(await votes()).toEqual([]);
    expect(await refusals()).toMatchObject([{ actor: 'bob', action: 'slack.action_refused', subjectId: String(other), after: { reason: 'case_value_mismatch' } }]);
  });

  it('refuses the requester approving their own change', async () => {
    const caseId = await boundCase({ requestedBy: 'alice' });
    const text = await clickAndTell(blockActionsPayload({ userId: 'UALICE', channelId: 'C0PATCH', actionId: 'approve', value: `case:${caseId}:approve:${PLAN}` }));
    expect(text).toMatch(/^:no_entry: Not recorded: Alice Example requested this change and cannot approve or reject it/);
    expect(await votes()).toEqual([]);
    expect(await refusals()).toMatchObject([{ actor: 'alice', after: { code: 'PD_VOTE_OWN_REQUEST' } }]);
  });

  it('refuses another user than the policy allows', async () => {
    const caseId = await boundCase();
    const text = await clickAndTell(blockActionsPayload({ userId: 'UDAVE', channelId: 'C0PATCH', actionId: 'approve', value: `case:${caseId}:approve:${PLAN}` }));
    expect(text).toMatch(/^:no_entry: Not recorded: Dave Example is not in the "approvers" group/);
    expect(await refusals()).toMatchObject([{ actor: 'dave', after: { code: 'PD_VOTE_NOT_APPROVER' } }]);
  });

  it('refuses a replayed request (same signed body, same trigger_id) and records the vote once', async () => {
    const caseId = await boundCase();
    // Bob approves: a replay would otherwise be a harmless duplicate (or refused as sealed), so the replay check is what refuses it.
    const body = formEncodePayload(blockActionsPayload({ userId: 'UBOB', channelId: 'C0PATCH', actionId: 'approve', value: `case:${caseId}:approve:${PLAN}`, triggerId: '111.222.replayed' }));
    expect((await sendSigned(h!, body, 'application/x-www-form-urlencoded')).status).toBe(200);
    await h!.face.drain();
    expect((await sendSigned(h!, body, 'application/x-www-form-urlencoded')).status).toBe(200);
    await h!.face.drain();
    const told = await h!.fake.waitForCall('chat.postEphemeral');
    expect(String(told.body.text)).toBe(':no_entry: Not recorded: this click was already received once; nothing was changed');
    expect(await votes()).toMatchObject([{ person: 'bob', decision: 'approve' }]);
    expect(await refusals()).toMatchObject([{ actor: 'bob', after: { code: 'PD_VOTE_REPLAYED', eventId: '111.222.replayed' } }]);
  });

  describe('a replay more than five minutes later', () => {
    it('is refused before Bolt by its timestamp (401, audited)', async () => {
      const caseId = await boundCase();
      const body = formEncodePayload(blockActionsPayload({ userId: 'UBOB', channelId: 'C0PATCH', actionId: 'approve', value: `case:${caseId}:approve:${PLAN}` }));
      const stale = Math.floor(ctx.clock.now().getTime() / 1000) - 6 * 60;
      const response = await fetch(h!.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...signSlackBody(body, TEST_SIGNING_SECRET, stale) }, body });
      expect(response.status).toBe(401);
      expect(await votes()).toEqual([]);
      expect((await listAudit(sctx.store.db)).filter((a) => a.action === 'slack.request_rejected')).toMatchObject([{ after: { reason: 'stale_timestamp' } }]);
    });
  });
});
