import { afterEach, beforeEach, expect, it } from 'vitest';
import { MODAL_CALLBACKS } from '../../../src/chat/slack/modals.js';
import { listAudit } from '../../../src/store/audit.js';
import type { WorkflowContext } from '../../../src/workflow/context.js';
import { blockActionsPayload } from '../../helpers/slack-signing.js';
import { describeEachStore } from '../../helpers/stores.js';
import { insertCase } from '../case-rows.js';
import { sendInteraction, startHarness, stopHarness, viewSubmissionPayload, workflowContext, type Harness } from './harness.js';

const PLAN = 'a'.repeat(64);
const OLD_PLAN = 'b'.repeat(64);

type ModalView = { callback_id: string; private_metadata: string; blocks: { type: string; block_id?: string; element?: { type: string; initial_date?: string } }[] };

/**
 * Reject and Defer on Slack: the button opens a modal (views.open, with the click's trigger_id), and
 * the signed view_submission carries the reason (and the day). Nothing is counted by the click itself.
 */
describeEachStore('Slack Reject and Defer modals', (sctx) => {
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

  const votes = () => sctx.store.db.selectFrom('votes').select(['person', 'decision', 'comment', 'via']).execute();
  const caseRow = (id: number) => sctx.store.db.selectFrom('cases').select(['state', 'deferred_until']).where('id', '=', id).executeTakeFirstOrThrow();
  async function boundCase(): Promise<number> {
    const caseId = await insertCase(sctx.store.db);
    await sctx.store.db.updateTable('cases').set({ plan_hash: PLAN, requested_by: 'patchdeck' }).where('id', '=', caseId).execute();
    return caseId;
  }
  /** Clicks the button and answers the modal Slack was asked to open. */
  async function clickForModal(actionId: 'reject' | 'defer' | 'signoff_reject', value: string, triggerId = '555.666.open'): Promise<ModalView> {
    const count = h!.fake.callsTo('views.open').length + 1;
    expect((await sendInteraction(h!, blockActionsPayload({ userId: 'UBOB', channelId: 'C0PATCH', actionId, value, triggerId }))).status).toBe(200);
    const open = await h!.fake.waitForCall('views.open', { count });
    expect(open.body.trigger_id).toBe(triggerId);
    return open.body.view as ModalView;
  }
  /** Submits the modal; answers the HTTP answer (Slack shows `errors` in the modal) after the queued work ran. */
  async function submit(view: ModalView, fields: Record<string, { value: string } | { selected_date: string }>, userId = 'UBOB') {
    const answer = await sendInteraction(h!, viewSubmissionPayload({ userId, callbackId: view.callback_id, privateMetadata: view.private_metadata, fields }));
    await h!.face.drain();
    return answer;
  }
  const told = async () => String((await h!.fake.waitForCall('chat.postEphemeral')).body.text);

  it('opens a reject modal on the click, and counts the reject with its reason on submission', async () => {
    const caseId = await boundCase();
    const view = await clickForModal('reject', `case:${caseId}:reject:${PLAN}`);
    expect(view.callback_id).toBe(MODAL_CALLBACKS.reject);
    expect(JSON.parse(view.private_metadata)).toEqual({ value: `case:${caseId}:reject:${PLAN}`, channel: 'C0PATCH', ts: '1795000000.000100', home: false });
    expect(view.blocks.filter((b) => b.type === 'input').map((b) => [b.block_id, b.element?.type])).toEqual([['reason', 'plain_text_input']]);
    await h!.face.drain();
    // The click alone changes nothing.
    expect(await votes()).toEqual([]);

    const answer = await submit(view, { reason: { value: '  Breaks the billing batch  ' } });
    expect(answer.status).toBe(200);
    expect(await votes()).toEqual([{ person: 'bob', decision: 'reject', comment: 'Breaks the billing batch', via: 'slack' }]);
    expect(await told()).toBe(`:white_check_mark: Recorded: you rejected case ${caseId}.`);
    const cast = (await listAudit(sctx.store.db)).find((a) => a.action === 'vote.cast');
    expect(cast?.after).toMatchObject({ decision: 'reject', comment: 'Breaks the billing batch', via: 'slack' });
  });

  it('asks for the reason of a pilot rejection the same way, and votes on the pilot sign-off', async () => {
    const caseId = await boundCase();
    const view = await clickForModal('signoff_reject', `case:${caseId}:signoff_reject`);
    expect(view.callback_id).toBe(MODAL_CALLBACKS.reject);
    expect(JSON.stringify(view)).toContain('Reject pilot case #');
    await submit(view, { reason: { value: 'Two pilot hosts failed to boot' } });
    // No rollout waits for sign-off here: castVote refuses, and the submitter is told so.
    expect(await told()).toMatch(/^:no_entry: Not recorded: /);
    const refused = (await listAudit(sctx.store.db)).find((a) => a.action === 'vote.refused');
    expect(refused?.after).toMatchObject({ stage: 'pilot_signoff', decision: 'reject', via: 'slack' });
  });

  it('refuses a reject without a reason in the modal itself, and counts nothing', async () => {
    const caseId = await boundCase();
    const view = await clickForModal('reject', `case:${caseId}:reject:${PLAN}`);
    const answer = await submit(view, { reason: { value: '   ' } });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ response_action: 'errors', errors: { reason: 'Say why (a reason is required).' } });
    expect(await votes()).toEqual([]);
  });

  it('defers with a reason until the start of the picked day in the team zone, audited', async () => {
    const caseId = await boundCase();
    const view = await clickForModal('defer', `case:${caseId}:defer:${PLAN}`);
    expect(view.callback_id).toBe(MODAL_CALLBACKS.defer);
    // The picker starts on tomorrow in Europe/Berlin (the harness clock is 2026-11-23 11:00 there).
    expect(view.blocks.filter((b) => b.type === 'input').map((b) => [b.block_id, b.element?.type, b.element?.initial_date])).toEqual([
      ['reason', 'plain_text_input', undefined],
      ['until', 'datepicker', '2026-11-24'],
    ]);
    await submit(view, { reason: { value: 'Change freeze until month end' }, until: { selected_date: '2026-11-30' } });
    expect(await caseRow(caseId)).toEqual({ state: 'deferred', deferred_until: '2026-11-29T23:00:00.000Z' });
    expect(await told()).toBe(`:white_check_mark: Deferred case ${caseId} until 2026-11-30 00:00 CET.`);
    const moved = (await listAudit(sctx.store.db, { subjectType: 'case', subjectId: caseId })).find((a) => a.action === 'case.state_changed');
    expect(moved).toMatchObject({ actor: 'bob', after: { state: 'deferred' } });
    expect(JSON.stringify(moved)).toContain('Change freeze until month end');
    const undefer = await sctx.store.db.selectFrom('jobs').select(['kind', 'run_at']).where('kind', '=', 'approvals.undefer').execute();
    expect(undefer).toHaveLength(1);
  });

  it('refuses a defer without a reason or day in the modal, and a past day or an older plan with a reason', async () => {
    const caseId = await boundCase();
    const view = await clickForModal('defer', `case:${caseId}:defer:${PLAN}`);
    const empty = await submit(view, { reason: { value: '' }, until: { selected_date: '' } });
    expect(JSON.parse(empty.text)).toEqual({
      response_action: 'errors',
      errors: { reason: 'Say why (a reason is required).', until: 'Pick the day the case asks for approval again.' },
    });
    await submit(view, { reason: { value: 'Freeze' }, until: { selected_date: '2026-11-23' } });
    expect(await told()).toBe(':no_entry: Not deferred: 2026-11-23 has already begun in Europe/Berlin; defer until a later day');
    expect((await caseRow(caseId)).state).toBe('awaiting_approval');

    const stale = await clickForModal('defer', `case:${caseId}:defer:${OLD_PLAN}`, '555.666.second');
    await submit(stale, { reason: { value: 'Freeze' }, until: { selected_date: '2026-11-30' } });
    const texts = h!.fake.callsTo('chat.postEphemeral').map((c) => String(c.body.text));
    expect(texts[1]).toBe(':no_entry: Not deferred: the plan changed since this message was posted; use the new message');
    expect((await caseRow(caseId)).state).toBe('awaiting_approval');
    const refused = (await listAudit(sctx.store.db)).filter((a) => a.action === 'defer.refused');
    expect(refused.map((a) => (a.after as { code: string }).code)).toEqual(['PD_DEFER_BAD_UNTIL', 'PD_VOTE_STALE_PLAN']);
  });

  it('refuses a submission whose form was not written by Patchdeck, and one by a person the policy does not allow', async () => {
    const caseId = await boundCase();
    const forged = await sendInteraction(h!, viewSubmissionPayload({ userId: 'UBOB', callbackId: MODAL_CALLBACKS.reject, privateMetadata: '{"value":"case:1:approve"}', fields: { reason: { value: 'x' } } }));
    expect(JSON.parse(forged.text)).toMatchObject({ response_action: 'errors', errors: { reason: expect.stringMatching(/^Not recorded: this form was not sent by Patchdeck/) } });
    const view = await clickForModal('reject', `case:${caseId}:reject:${PLAN}`);
    await submit(view, { reason: { value: 'Not my call' } }, 'UDAVE');
    expect(await told()).toMatch(/^:no_entry: Not recorded: Dave Example is not in the "approvers" group/);
    expect(await votes()).toEqual([]);
    expect((await listAudit(sctx.store.db)).filter((a) => a.action === 'slack.action_refused')).toMatchObject([{ after: { reason: 'value_not_recognised' } }]);
  });
});
