import { afterEach, beforeEach, expect, it } from 'vitest';
import { listAudit } from '../../../src/store/audit.js';
import { toJson } from '../../../src/store/json.js';
import type { WorkflowContext } from '../../../src/workflow/context.js';
import { buildCurrentCaseMessage } from '../../../src/workflow/notifications.js';
import { renderTeamsCard } from '../../../src/chat/teams/render.js';
import { cardActionActivity } from '../../helpers/fake-teams.js';
import { describeEachStore } from '../../helpers/stores.js';
import { insertCase } from '../case-rows.js';
import { startTeamsHarness, teamsContext, type TeamsHarness } from './harness.js';

const PLAN = 'a'.repeat(64);
const OLD_PLAN = 'b'.repeat(64);
const CONVERSATION = '19:patching@thread.tacv2';

type Card = Record<string, unknown>;
type CardAction = { type: string; id?: string; title?: string; verb?: string; data?: Record<string, unknown>; card?: { body?: Record<string, unknown>[]; actions?: CardAction[] } };
const cardOf = (body: unknown) => (body as { value: Card }).value;
const texts = (card: Card) => JSON.stringify(card.body);

/**
 * Reject and Defer on Teams: each opens an inline form (Action.ShowCard) whose submit is an
 * Action.Execute carrying the value and the inputs. The invokes here are JWT-signed like the Bot
 * Connector's; a submit without a reason (an old card, a forged invoke) is refused on the card.
 */
describeEachStore('Teams Reject and Defer forms', (sctx) => {
  let ctx: WorkflowContext;
  let h: TeamsHarness;
  beforeEach(async () => {
    ctx = teamsContext(sctx.store);
    h = await startTeamsHarness(ctx);
  });
  afterEach(async () => {
    await h.close();
  });

  const votes = () => sctx.store.db.selectFrom('votes').select(['person', 'decision', 'comment', 'via']).execute();
  const caseRow = (id: number) => sctx.store.db.selectFrom('cases').select(['state', 'deferred_until']).where('id', '=', id).executeTakeFirstOrThrow();
  async function boundCase(): Promise<number> {
    const caseId = await insertCase(sctx.store.db);
    await sctx.store.db.updateTable('cases').set({ plan_hash: PLAN, requested_by: 'patchdeck' }).where('id', '=', caseId).execute();
    const message = await buildCurrentCaseMessage(ctx, caseId, 'alert');
    const at = '2026-11-23T09:00:00.000Z';
    await sctx.store.db
      .insertInto('chat_messages')
      .values({ case_id: caseId, purpose: 'alert', platform: 'teams', channel: CONVERSATION, ts: 'card-1', payload: toJson(message), created_at: at, updated_at: at, plan_hash: PLAN })
      .execute();
    return caseId;
  }
  const submit = async (aad: string, verb: string, data: Record<string, unknown>, actionId: string) =>
    h.send(cardActionActivity({ serviceUrl: h.fake.serviceUrl, conversationId: CONVERSATION, aadObjectId: aad, userId: `29:${aad}-mri`, verb, data, actionId, replyToId: 'card-1' }), await h.fake.signToken());
  const refreshFor = async (aad: string, caseId: number) =>
    cardOf((await h.send(cardActionActivity({ serviceUrl: h.fake.serviceUrl, aadObjectId: aad, userId: `29:${aad}-mri`, verb: 'patchdeck.refresh', data: { caseId, purpose: 'alert' }, trigger: 'automatic' }), await h.fake.signToken())).body);

  it('renders Reject and Defer as inline forms submitted by Action.Execute with the plan hash', async () => {
    const caseId = await boundCase();
    const card = renderTeamsCard((await buildCurrentCaseMessage(ctx, caseId, 'alert'))!);
    const set = (card.body as { type: string; actions?: CardAction[] }[]).find((b) => b.type === 'ActionSet')!;
    const [approve, reject, defer] = set.actions!;
    expect(approve).toMatchObject({ type: 'Action.Execute', verb: 'patchdeck.vote', data: { value: `case:${caseId}:approve:${PLAN}` } });
    expect(reject).toMatchObject({ type: 'Action.ShowCard', title: 'Reject' });
    expect(reject!.card!.body).toEqual([expect.objectContaining({ type: 'Input.Text', id: 'reason', isRequired: true, isMultiline: true, maxLength: 2000 })]);
    expect(reject!.card!.actions).toEqual([expect.objectContaining({ type: 'Action.Execute', id: 'reject', verb: 'patchdeck.vote', data: { value: `case:${caseId}:reject:${PLAN}` } })]);
    expect(defer).toMatchObject({ type: 'Action.ShowCard', title: 'Defer' });
    expect(defer!.card!.body!.map((b) => [b.type, b.id, b.isRequired])).toEqual([
      ['Input.Text', 'reason', true],
      ['Input.Date', 'until', true],
    ]);
    expect(defer!.card!.actions).toEqual([expect.objectContaining({ type: 'Action.Execute', id: 'defer', verb: 'patchdeck.defer', data: { value: `case:${caseId}:defer:${PLAN}` } })]);
  });

  it('counts a reject with the reason typed in its form', async () => {
    const caseId = await boundCase();
    const answer = await submit('aad-bob', 'patchdeck.vote', { value: `case:${caseId}:reject:${PLAN}`, reason: ' Breaks the billing batch ' }, 'reject');
    expect(answer.status).toBe(200);
    expect(texts(cardOf(answer.body))).toContain('Recording your vote');
    await h.face.drain();
    expect(await votes()).toEqual([{ person: 'bob', decision: 'reject', comment: 'Breaks the billing batch', via: 'teams' }]);
    expect(texts(await refreshFor('aad-bob', caseId))).toContain('Recorded: you rejected.');
  });

  it('refuses a reject without a reason on the card, and audits it', async () => {
    const caseId = await boundCase();
    for (const data of [{ value: `case:${caseId}:reject:${PLAN}` }, { value: `case:${caseId}:reject:${PLAN}`, reason: '   ' }]) {
      const answer = await submit('aad-bob', 'patchdeck.vote', data, 'reject');
      expect(texts(cardOf(answer.body))).toContain('Not recorded: say why (a reason is required)');
    }
    // A pilot rejection says why too.
    const pilot = await submit('aad-bob', 'patchdeck.vote', { value: `case:${caseId}:signoff_reject` }, 'signoff_reject');
    expect(texts(cardOf(pilot.body))).toContain('Not recorded: say why (a reason is required)');
    await h.face.drain();
    expect(await votes()).toEqual([]);
    const refused = (await listAudit(sctx.store.db)).filter((a) => a.action === 'vote.refused');
    expect(refused.map((a) => (a.after as { code: string }).code)).toEqual(['PD_VOTE_NO_REASON', 'PD_VOTE_NO_REASON', 'PD_VOTE_NO_REASON']);
  });

  it('defers with a reason until the start of the picked day in the team zone, and tells the clicker on refresh', async () => {
    const caseId = await boundCase();
    const answer = await submit('aad-alice', 'patchdeck.defer', { value: `case:${caseId}:defer:${PLAN}`, reason: 'Change freeze', until: '2026-11-30' }, 'defer');
    expect(texts(cardOf(answer.body))).toContain('Recording your deferral');
    await h.face.drain();
    expect(await caseRow(caseId)).toEqual({ state: 'deferred', deferred_until: '2026-11-29T23:00:00.000Z' });
    expect(texts(await refreshFor('aad-alice', caseId))).toContain('Deferred until 2026-11-30 00:00 CET.');
    const moved = (await listAudit(sctx.store.db, { subjectType: 'case', subjectId: caseId })).find((a) => a.action === 'case.state_changed');
    expect(moved).toMatchObject({ actor: 'alice', after: { state: 'deferred' } });
    expect(JSON.stringify(moved)).toContain('Change freeze');
    // The clicked card is rewritten through the Bot Connector: the buttons are gone.
    const update = h.fake.connectorCalls().find((c) => c.method === 'PUT');
    expect(update?.path).toContain('/activities/card-1');
    expect(JSON.stringify(update?.body)).not.toContain('patchdeck.defer');
  });

  it('refuses a defer without a reason or a day at once, and one for an older plan or a past day after the queue', async () => {
    const caseId = await boundCase();
    const noReason = await submit('aad-alice', 'patchdeck.defer', { value: `case:${caseId}:defer:${PLAN}`, until: '2026-11-30' }, 'defer');
    expect(texts(cardOf(noReason.body))).toContain('Not deferred: say why (a reason is required)');
    const noDay = await submit('aad-alice', 'patchdeck.defer', { value: `case:${caseId}:defer:${PLAN}`, reason: 'Freeze' }, 'defer');
    expect(texts(cardOf(noDay.body))).toContain('Not deferred: pick the day the case asks for approval again');
    await submit('aad-alice', 'patchdeck.defer', { value: `case:${caseId}:defer:${OLD_PLAN}`, reason: 'Freeze', until: '2026-11-30' }, 'defer');
    await h.face.drain();
    expect(texts(await refreshFor('aad-alice', caseId))).toContain('Not deferred: the plan changed since this message was posted; use the new message');
    await submit('aad-alice', 'patchdeck.defer', { value: `case:${caseId}:defer:${PLAN}`, reason: 'Freeze', until: '2026-11-22' }, 'defer');
    await h.face.drain();
    expect(texts(await refreshFor('aad-alice', caseId))).toContain('Not deferred: 2026-11-22 has already begun in Europe/Berlin');
    expect((await caseRow(caseId)).state).toBe('awaiting_approval');
    const audit = await listAudit(sctx.store.db);
    // Inline refusals are audited after the answer, so two quick ones may land in either order.
    expect(audit.filter((a) => a.action === 'teams.action_refused').map((a) => (a.after as { reason: string }).reason).sort()).toEqual(['PD_DEFER_BAD_UNTIL', 'PD_DEFER_NO_REASON']);
    expect(audit.filter((a) => a.action === 'defer.refused').map((a) => (a.after as { code: string }).code)).toEqual(['PD_VOTE_STALE_PLAN', 'PD_DEFER_BAD_UNTIL']);
  });

  it('refuses a defer value Patchdeck did not write', async () => {
    const caseId = await boundCase();
    const answer = await submit('aad-alice', 'patchdeck.defer', { value: `case:${caseId}:approve:${PLAN}`, reason: 'x', until: '2026-11-30' }, 'defer');
    expect(texts(cardOf(answer.body))).toContain('Not recorded: this button was not sent by Patchdeck in this form');
    expect((await caseRow(caseId)).state).toBe('awaiting_approval');
  });
});
