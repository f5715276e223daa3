import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../../src/store/audit.js';
import type { WorkflowContext } from '../../../src/workflow/context.js';
import { JOB_KINDS } from '../../../src/workflow/jobs.js';
import { cardActionActivity, installationActivity, messageActivity, TEST_APP_ID, TEST_TENANT_ID } from '../../helpers/fake-teams.js';
import { describeEachStore } from '../../helpers/stores.js';
import { insertCase, insertRollout } from '../case-rows.js';
import { startTeamsHarness, teamsContext, type TeamsHarness } from './harness.js';

describeEachStore('Teams face', (sctx) => {
  let ctx: WorkflowContext;
  let h: TeamsHarness;
  beforeEach(async () => {
    ctx = teamsContext(sctx.store);
    h = await startTeamsHarness(ctx);
  });
  afterEach(async () => {
    await h.close();
  });

  const rejections = async () => (await listAudit(sctx.store.db)).filter((a) => a.action === 'teams.request_rejected');
  const votes = () => sctx.store.db.selectFrom('votes').selectAll().execute();
  const conversations = () => sctx.store.db.selectFrom('teams_conversations').selectAll().execute();

  describe('authentication', () => {
    it('accepts a correctly signed activity, stores its conversation and replies through the Bot Connector', async () => {
      const activity = messageActivity({ serviceUrl: h.fake.serviceUrl });
      const answer = await h.send(activity, await h.fake.signToken());
      expect(answer.status).toBe(200);
      expect(await rejections()).toEqual([]);
      const [row] = await conversations();
      expect(row).toMatchObject({ conversation_id: '19:patching@thread.tacv2', channel_name: 'Patching', team_name: 'Operations', tenant_id: TEST_TENANT_ID, service_url: h.fake.serviceUrl });
      expect(JSON.parse(row!.reference)).toMatchObject({ conversation: { id: '19:patching@thread.tacv2' }, serviceUrl: h.fake.serviceUrl, bot: { id: `28:${TEST_APP_ID}` } });
      const reply = h.fake.connectorCalls()[0]!;
      // A reply within the turn goes to the activity it answers.
      expect(reply).toMatchObject({ method: 'POST', path: `/teams/v3/conversations/${encodeURIComponent('19:patching@thread.tacv2')}/activities/${String(activity.id)}` });
      expect(String(reply.body.text)).toMatch(/^Patchdeck will post/);
      expect(reply.authorization).toBe('Bearer fake-bot-token-1');
      expect(h.fake.tokenRequests()[0]!.body).toMatchObject({ grant_type: 'client_credentials', client_id: TEST_APP_ID, scope: 'https://api.botframework.com/.default' });
      const added = (await listAudit(sctx.store.db)).filter((a) => a.action === 'teams.conversation_added');
      expect(added).toMatchObject([{ actor: 'patchdeck', after: { conversationId: '19:patching@thread.tacv2', channelName: 'Patching' } }]);
    });

    const forged: [string, () => Promise<{ token: string | null; activity?: Record<string, unknown> }>, string][] = [
      ['no token at all', async () => ({ token: null }), 'missing_token'],
      ['a token that is not a JWT', async () => ({ token: 'not-a-jwt' }), 'malformed_token'],
      ['a signature by a key the metadata does not publish', async () => ({ token: await h.fake.signToken({ key: 'untrusted' }) }), 'bad_signature'],
      ['a token for another bot (wrong audience)', async () => ({ token: await h.fake.signToken({ audience: 'another-app-id' }) }), 'wrong_audience'],
      ['a token from another issuer', async () => ({ token: await h.fake.signToken({ issuer: 'https://sts.windows.net/evil/' }) }), 'wrong_issuer'],
      ['a token from an issuer that merely looks right', async () => ({ token: await h.fake.signToken({ issuer: 'https://api.botframework.com.evil.example' }) }), 'wrong_issuer'],
      ['a serviceurl claim for another service URL', async () => ({ token: await h.fake.signToken({ serviceUrl: 'https://smba.example.net/emea/' }) }), 'service_url_mismatch'],
      ['a token without a serviceurl claim', async () => ({ token: await h.fake.signToken({ serviceUrl: null }) }), 'service_url_mismatch'],
      ['an expired token', async () => ({ token: await h.fake.signToken({ expiresInSeconds: -600 }) }), 'expired_token'],
      ['an activity without a serviceUrl', async () => ({ token: await h.fake.signToken(), activity: { ...messageActivity({ serviceUrl: '' }), serviceUrl: undefined } }), 'missing_service_url'],
    ];
    for (const [what, make, reason] of forged) {
      it(`rejects ${what} with 401, audits it and makes no outgoing call`, async () => {
        const { token, activity } = await make();
        const answer = await h.send(activity ?? messageActivity({ serviceUrl: h.fake.serviceUrl }), token);
        expect(answer).toEqual({ status: 401, body: 'unauthorized' });
        const audit = await rejections();
        expect(audit).toHaveLength(1);
        expect(audit[0]).toMatchObject({ actor: 'anonymous', subjectType: 'chat_endpoint', subjectId: 'teams', after: { reason, remoteAddress: '127.0.0.1', path: '/api/messages' } });
        expect(h.fake.connectorCalls()).toEqual([]);
        expect(h.fake.tokenRequests()).toEqual([]);
        expect(await conversations()).toEqual([]);
      });
    }

    it('answers 400 to a body that is not JSON or not an activity', async () => {
      const token = await h.fake.signToken();
      const raw = await fetch(h.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{not json' });
      expect([raw.status, await raw.text()]).toEqual([400, 'bad request']);
      expect((await h.send({ hello: 'world' }, token)).status).toBe(400);
      expect(h.fake.connectorCalls()).toEqual([]);
    });

    it('refuses a card action whose activity was changed after signing (the signed serviceUrl no longer matches)', async () => {
      const caseId = await insertCase(sctx.store.db);
      const token = await h.fake.signToken({ serviceUrl: 'https://smba.example.net/emea/' });
      const activity = cardActionActivity({ serviceUrl: h.fake.serviceUrl, verb: 'patchdeck.vote', data: { value: `case:${caseId}:approve` } });
      expect((await h.send(activity, token)).status).toBe(401);
      expect(await votes()).toEqual([]);
    });
  });

  describe('card actions', () => {
    const vote = async (aadObjectId: string, value: string, actionId?: string) =>
      h.send(
        cardActionActivity({ serviceUrl: h.fake.serviceUrl, aadObjectId, userId: `29:${aadObjectId}-mri`, verb: 'patchdeck.vote', data: { value }, ...(actionId ? { actionId } : {}) }),
        await h.fake.signToken(),
      );
    const cardOf = (body: unknown) => (body as { statusCode: number; type: string; value: Record<string, unknown> });
    const texts = (card: Record<string, unknown>) => JSON.stringify(card.body);

    const refresh = async (aadObjectId: string, caseId: number, purpose = 'alert') =>
      cardOf(
        (
          await h.send(
            cardActionActivity({ serviceUrl: h.fake.serviceUrl, aadObjectId, userId: `29:${aadObjectId}-mri`, verb: 'patchdeck.refresh', data: { caseId, purpose }, trigger: 'automatic' }),
            await h.fake.signToken(),
          )
        ).body,
      ).value;

    it('answers at once with "recording", counts the vote for the signed sender afterwards, and the sender\'s refresh shows the outcome', async () => {
      const caseId = await insertCase(sctx.store.db);
      const answer = await vote('aad-bob', `case:${caseId}:approve`, 'approve');
      expect(answer.status).toBe(200);
      const card = cardOf(answer.body);
      expect(card).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: { type: 'AdaptiveCard', version: '1.5' } });
      expect(texts(card.value)).toContain('Recording your vote…');
      expect(card.value.refresh).toMatchObject({ action: { verb: 'patchdeck.refresh', data: { caseId, purpose: 'alert' } }, userIds: ['29:aad-bob-mri'] });
      await h.face.drain();
      expect(await votes()).toMatchObject([{ case_id: caseId, stage: 'approval', person: 'bob', decision: 'approve', via: 'teams' }]);
      // Quorum is one: Bob's vote decides the case, and his refreshed card says so, with his outcome on top.
      const refreshed = await refresh('aad-bob', caseId);
      expect(texts(refreshed)).toContain('Recorded: you approved.');
      expect(texts(refreshed)).toContain('Approved by Bob Example');
      // Anyone else's refresh shows the same card without Bob's notice.
      expect(texts(await refresh('aad-alice', caseId))).not.toContain('Recorded');
      const jobs = await sctx.store.db.selectFrom('jobs').select(['kind', 'payload']).execute();
      expect(jobs.map((j) => [j.kind, JSON.parse(j.payload)])).toContainEqual([JOB_KINDS.chatUpdate, { caseId, purpose: 'alert' }]);
      expect(await sctx.store.db.selectFrom('teams_users').selectAll().orderBy('aad_object_id').execute()).toMatchObject([
        { aad_object_id: 'aad-alice', user_id: '29:aad-alice-mri' },
        { aad_object_id: 'aad-bob', user_id: '29:aad-bob-mri' },
      ]);
      // The answer is the HTTP response: nothing else goes to the Bot Connector.
      expect(h.fake.connectorCalls()).toEqual([]);
    });

    it('maps Sign off to a pilot sign-off vote', async () => {
      const caseId = await insertCase(sctx.store.db, { state: 'piloting' });
      await insertRollout(sctx.store.db, { caseId, state: 'awaiting_signoff', startedBy: 'alice', targets: [{ state: 'verified', wave: 0 }, { state: 'queued', wave: 1 }] });
      const answer = await vote('aad-bob', `case:${caseId}:signoff`);
      expect(cardOf(answer.body).value.refresh).toMatchObject({ action: { data: { caseId, purpose: 'signoff' } } });
      await h.face.drain();
      expect(await votes()).toMatchObject([{ stage: 'pilot_signoff', person: 'bob', decision: 'approve', via: 'teams' }]);
    });

    it('tells a known person who may not approve why, on their refreshed card, and records nothing', async () => {
      const caseId = await insertCase(sctx.store.db);
      const answer = await vote('aad-dave', `case:${caseId}:approve`);
      expect(texts(cardOf(answer.body).value)).toContain('Recording your vote…');
      await h.face.drain();
      const refreshed = await refresh('aad-dave', caseId);
      expect(texts(refreshed)).toMatch(/Not recorded: Dave Example is not in/);
      // Dave is no approver, but his client must ask for his view once the card changes.
      expect((refreshed.refresh as { userIds: string[] }).userIds).toContain('29:aad-dave-mri');
      expect(await votes()).toEqual([]);
      expect((await listAudit(sctx.store.db)).filter((a) => a.action === 'vote.refused')).toMatchObject([{ actor: 'dave' }]);
    });

    it('passes an unknown Teams user to the approval service under a name no policy grants', async () => {
      const caseId = await insertCase(sctx.store.db);
      const answer = await vote('aad-mallory', `case:${caseId}:approve`);
      // Decided without the case's lock, so answered at once; audited afterwards.
      expect(texts(cardOf(answer.body).value)).toMatch(/Not recorded: .*teams:aad-mallory/);
      await h.face.drain();
      expect(await votes()).toEqual([]);
      expect((await listAudit(sctx.store.db)).filter((a) => a.action === 'vote.refused')).toMatchObject([{ actor: 'teams:aad-mallory', after: { code: 'PD_VOTE_UNKNOWN_PERSON' } }]);
    });

    it('refuses an action id that disagrees with its value, and forged values, auditing each', async () => {
      const caseId = await insertCase(sctx.store.db);
      const mismatch = await vote('aad-alice', `case:${caseId}:approve`, 'reject');
      expect(texts(cardOf(mismatch.body).value)).toMatch(/this button was not sent by Patchdeck/);
      for (const value of ['case:abc:approve', `case:${caseId}:approve:bob`, 'approve']) await vote('aad-alice', value);
      expect(await votes()).toEqual([]);
      const refused = (await listAudit(sctx.store.db)).filter((a) => a.action === 'teams.action_refused');
      expect(refused.map((a) => [a.actor, (a.after as { reason: string }).reason])).toEqual([
        ['alice', 'action_value_mismatch'],
        ['alice', 'value_not_recognised'],
        ['alice', 'value_not_recognised'],
        ['alice', 'value_not_recognised'],
      ]);
    });

    it('refuses an unknown verb', async () => {
      const answer = await h.send(cardActionActivity({ serviceUrl: h.fake.serviceUrl, verb: 'patchdeck.delete', data: {} }), await h.fake.signToken());
      expect(answer.status).toBe(200);
      const refused = (await listAudit(sctx.store.db)).filter((a) => a.action === 'teams.action_refused');
      expect(refused).toMatchObject([{ after: { reason: 'verb_not_recognised', actionId: 'patchdeck.delete' } }]);
    });

    it('answers a refresh with the current card, votes included', async () => {
      const caseId = await insertCase(sctx.store.db);
      await vote('aad-alice', `case:${caseId}:approve`);
      await h.face.drain();
      const answer = await h.send(
        cardActionActivity({ serviceUrl: h.fake.serviceUrl, aadObjectId: 'aad-bob', verb: 'patchdeck.refresh', data: { caseId, purpose: 'alert' }, trigger: 'automatic' }),
        await h.fake.signToken(),
      );
      const card = cardOf(answer.body).value;
      expect(texts(card)).not.toContain('Recorded');
      expect(JSON.stringify(card)).toMatch(/Approved by Alice Example/);
      expect(card.body).not.toContainEqual(expect.objectContaining({ type: 'ActionSet', actions: expect.arrayContaining([expect.objectContaining({ verb: 'patchdeck.vote' })]) }));
    });
  });

  describe('conversations', () => {
    it('stores the reference on installation and forgets it on removal', async () => {
      await h.send(installationActivity({ serviceUrl: h.fake.serviceUrl, conversationId: '19:general@thread.tacv2', channelName: null }), await h.fake.signToken());
      expect(await conversations()).toMatchObject([{ conversation_id: '19:general@thread.tacv2', channel_name: null }]);
      await h.send(installationActivity({ serviceUrl: h.fake.serviceUrl, conversationId: '19:general@thread.tacv2', action: 'remove' }), await h.fake.signToken());
      expect(await conversations()).toEqual([]);
      const actions = (await listAudit(sctx.store.db)).map((a) => a.action);
      expect(actions).toEqual(['teams.conversation_added', 'teams.conversation_removed']);
    });
  });
});

describeEachStore('Teams face, single tenant', (sctx) => {
  it('refuses a signed activity from another tenant with 403 and an audit row', async () => {
    const ctx = teamsContext(sctx.store);
    const h = await startTeamsHarness(ctx, { tenantId: TEST_TENANT_ID });
    try {
      const answer = await h.send(messageActivity({ serviceUrl: h.fake.serviceUrl, tenantId: 'another-tenant' }), await h.fake.signToken());
      expect(answer.status).toBe(403);
      const audit = (await listAudit(sctx.store.db)).filter((a) => a.action === 'teams.request_rejected');
      expect(audit).toMatchObject([{ after: { reason: 'wrong_tenant' } }]);
      expect(await sctx.store.db.selectFrom('teams_conversations').selectAll().execute()).toEqual([]);
      expect((await h.send(messageActivity({ serviceUrl: h.fake.serviceUrl }), await h.fake.signToken())).status).toBe(200);
    } finally {
      await h.close();
    }
  });
});
