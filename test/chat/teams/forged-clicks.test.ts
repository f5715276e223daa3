import { afterEach, beforeEach, expect, it } from 'vitest';
import { listAudit } from '../../../src/store/audit.js';
import { toJson } from '../../../src/store/json.js';
import type { WorkflowContext } from '../../../src/workflow/context.js';
import { buildCurrentCaseMessage } from '../../../src/workflow/notifications.js';
import { cardActionActivity } from '../../helpers/fake-teams.js';
import { describeEachStore } from '../../helpers/stores.js';
import { insertCase } from '../case-rows.js';
import { startTeamsHarness, teamsContext, type TeamsHarness } from './harness.js';

const PLAN = 'a'.repeat(64);
const OLD_PLAN = 'b'.repeat(64);
const CONVERSATION = '19:patching@thread.tacv2';

type Card = Record<string, unknown>;
const cardOf = (body: unknown) => (body as { value: Card }).value;
const texts = (card: Card) => JSON.stringify(card.body);

/**
 * Invokes the Bot Connector signs but Patchdeck must not count. Refusals decided without the case's
 * lock are on the card the clicker gets back; the rest reach them through their refreshed card once
 * the queued vote is done. Every one is audited.
 */
describeEachStore('Teams forged and stale clicks', (sctx) => {
  let ctx: WorkflowContext;
  let h: TeamsHarness;
  beforeEach(async () => {
    ctx = teamsContext(sctx.store);
    h = await startTeamsHarness(ctx);
  });
  afterEach(async () => {
    await h.close();
  });

  const votes = () => sctx.store.db.selectFrom('votes').selectAll().execute();
  const refusals = async () => (await listAudit(sctx.store.db)).filter((a) => a.action === 'vote.refused' || a.action === 'teams.action_refused');
  async function boundCase(input: { requestedBy?: string; advisoryId?: string } = {}): Promise<number> {
    const caseId = await insertCase(sctx.store.db, input.advisoryId === undefined ? {} : { advisoryId: input.advisoryId });
    await sctx.store.db.updateTable('cases').set({ plan_hash: PLAN, requested_by: input.requestedBy ?? 'patchdeck' }).where('id', '=', caseId).execute();
    return caseId;
  }
  /** The case's alert card as the notifier stored it after posting (activity id `ts`). */
  async function storeCard(caseId: number, ts: string): Promise<void> {
    const message = await buildCurrentCaseMessage(ctx, caseId, 'alert');
    const at = '2026-11-23T09:00:00.000Z';
    await sctx.store.db
      .insertInto('chat_messages')
      .values({ case_id: caseId, purpose: 'alert', platform: 'teams', channel: CONVERSATION, ts, payload: toJson(message), created_at: at, updated_at: at, plan_hash: PLAN })
      .execute();
  }
  const voteActivity = (aadObjectId: string, value: string, extra: { replyToId?: string } = {}) =>
    // A Reject is submitted from its form, with the reason typed there.
    cardActionActivity({ serviceUrl: h.fake.serviceUrl, aadObjectId, userId: `29:${aadObjectId}-mri`, verb: 'patchdeck.vote', data: { value, ...(/:reject(:|$)/.test(value) ? { reason: 'Breaks the billing batch' } : {}) }, ...extra });
  const send = async (activity: Record<string, unknown>) => h.send(activity, await h.fake.signToken());
  const refreshFor = async (aadObjectId: string, caseId: number) =>
    cardOf((await send(cardActionActivity({ serviceUrl: h.fake.serviceUrl, aadObjectId, userId: `29:${aadObjectId}-mri`, verb: 'patchdeck.refresh', data: { caseId, purpose: 'alert' }, trigger: 'automatic' }))).body);

  it('approval buttons carry the plan hash; a click naming the current plan is counted', async () => {
    const caseId = await boundCase();
    const message = await buildCurrentCaseMessage(ctx, caseId, 'alert');
    expect(message!.actions.map((a) => a.value)).toEqual([`case:${caseId}:approve:${PLAN}`, `case:${caseId}:reject:${PLAN}`, `case:${caseId}:defer:${PLAN}`]);
    await send(voteActivity('aad-bob', `case:${caseId}:approve:${PLAN}`));
    await h.face.drain();
    expect(await votes()).toMatchObject([{ person: 'bob', plan_hash: PLAN, via: 'teams' }]);
  });

  it('refuses a click on a card of an older plan at once, on the card, and audits it', async () => {
    const caseId = await boundCase();
    const answer = await send(voteActivity('aad-bob', `case:${caseId}:approve:${OLD_PLAN}`));
    expect(texts(cardOf(answer.body))).toContain('Not recorded: the plan changed since this message was posted; use the new message');
    await h.face.drain();
    expect(await votes()).toEqual([]);
    expect(await refusals()).toMatchObject([{ actor: 'bob', subjectId: String(caseId), after: { code: 'PD_VOTE_STALE_PLAN', planHash: OLD_PLAN, via: 'teams' } }]);
  });

  it('refuses a button whose data names another case than the card it is on', async () => {
    const shown = await boundCase();
    const other = await boundCase({ advisoryId: 'USN-7002-1' });
    await storeCard(shown, 'card-shown');
    const answer = await send(voteActivity('aad-bob', `case:${other}:approve:${PLAN}`, { replyToId: 'card-shown' }));
    expect(texts(cardOf(answer.body))).toContain('Not recorded: this button was not sent by Patchdeck in this form');
    await h.face.drain();
    expect(await votes()).toEqual([]);
    expect(await refusals()).toMatchObject([{ actor: 'bob', action: 'teams.action_refused', subjectId: String(other), after: { reason: 'case_value_mismatch' } }]);
  });

  it('refuses the requester approving their own change, shown on their refreshed card', async () => {
    const caseId = await boundCase({ requestedBy: 'alice' });
    const answer = await send(voteActivity('aad-alice', `case:${caseId}:approve:${PLAN}`));
    expect(texts(cardOf(answer.body))).toContain('Recording your vote…');
    await h.face.drain();
    expect(texts(await refreshFor('aad-alice', caseId))).toMatch(/Not recorded: Alice Example requested this change and cannot approve or reject it/);
    expect(await votes()).toEqual([]);
    expect(await refusals()).toMatchObject([{ actor: 'alice', after: { code: 'PD_VOTE_OWN_REQUEST', via: 'teams' } }]);
  });

  it('refuses another user than the policy allows, and a sender Patchdeck does not know', async () => {
    const caseId = await boundCase();
    await send(voteActivity('aad-dave', `case:${caseId}:approve:${PLAN}`));
    const stranger = await send(voteActivity('aad-mallory', `case:${caseId}:approve:${PLAN}`));
    expect(texts(cardOf(stranger.body))).toMatch(/Not recorded: .{0,4}teams:aad-mallory.{0,4} is not a person Patchdeck knows/);
    await h.face.drain();
    expect(texts(await refreshFor('aad-dave', caseId))).toMatch(/Not recorded: Dave Example is not in the .{0,2}approvers.{0,2} group/);
    expect(await votes()).toEqual([]);
    expect((await refusals()).map((a) => [a.actor, (a.after as { code: string }).code]).sort()).toEqual([
      ['dave', 'PD_VOTE_NOT_APPROVER'],
      ['teams:aad-mallory', 'PD_VOTE_UNKNOWN_PERSON'],
    ]);
  });

  it('refuses a replayed invoke: at once when this process saw it, and by the stored receipt after a restart', async () => {
    const caseId = await boundCase();
    const activity = voteActivity('aad-bob', `case:${caseId}:reject:${PLAN}`);
    await send(activity);
    const replay = await send(activity);
    expect(texts(cardOf(replay.body))).toContain('Not recorded: this click was already received once; nothing was changed');
    await h.face.drain();
    expect(await votes()).toMatchObject([{ person: 'bob', decision: 'reject' }]);
    // A new process has no memory of the activity id; castVote's receipt refuses it. (The new fake
    // Bot Framework has another address, so the same activity names that one as its service URL.)
    await h.close();
    h = await startTeamsHarness(ctx);
    expect((await send({ ...activity, serviceUrl: h.fake.serviceUrl })).status).toBe(200);
    await h.face.drain();
    expect(texts(await refreshFor('aad-bob', caseId))).toContain('Not recorded: this click was already received once; nothing was changed');
    expect(await votes()).toHaveLength(1);
    expect((await refusals()).map((a) => (a.after as { code: string }).code)).toEqual(['PD_VOTE_REPLAYED', 'PD_VOTE_REPLAYED']);
  });

  it('updates the clicked card through the Bot Connector once the vote is counted, listing the clicker for refresh', async () => {
    const caseId = await boundCase();
    await storeCard(caseId, 'card-1');
    const answer = await send(voteActivity('aad-bob', `case:${caseId}:approve:${PLAN}`, { replyToId: 'card-1' }));
    // The answer is the stored card with the clicker's notice, buttons still there until the vote is in.
    expect(texts(cardOf(answer.body))).toContain('Recording your vote…');
    await h.face.drain();
    const update = await h.fake.waitForConnectorCall();
    expect(update).toMatchObject({ method: 'PUT', path: `/teams/v3/conversations/${encodeURIComponent(CONVERSATION)}/activities/card-1` });
    const card = (update.body.attachments as { content: Card }[])[0]!.content;
    expect(texts(card)).toContain('Approved by Bob Example');
    expect(texts(card)).not.toContain('Recorded');
    expect((card.refresh as { userIds: string[] }).userIds).toContain('29:aad-bob-mri');
  });

  it('does not take a validated token as valid for another service URL', async () => {
    const caseId = await boundCase();
    const token = await h.fake.signToken();
    expect((await h.send(voteActivity('aad-bob', `case:${caseId}:reject:${PLAN}`), token)).status).toBe(200);
    const moved = { ...voteActivity('aad-bob', `case:${caseId}:approve:${PLAN}`), serviceUrl: 'https://smba.example.net/emea/' };
    expect((await h.send(moved, token)).status).toBe(401);
    await h.face.drain();
    expect(await votes()).toMatchObject([{ decision: 'reject' }]);
  });
});
