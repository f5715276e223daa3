import { afterEach, beforeEach, expect, it } from 'vitest';
import { createSilentLogger } from '../../../src/app/logger.js';
import { parseConfig } from '../../../src/config/load.js';
import { fixedClock } from '../../../src/core/clock.js';
import { listAudit } from '../../../src/store/audit.js';
import type { WorkflowContext } from '../../../src/workflow/context.js';
import { confirmPendingVote } from '../../../src/workflow/reauth.js';
import { cardActionActivity } from '../../helpers/fake-teams.js';
import { describeEachStore } from '../../helpers/stores.js';
import { insertCase } from '../case-rows.js';
import { NOW, PEOPLE, startTeamsHarness, type TeamsHarness } from './harness.js';

describeEachStore('Teams votes under a re-auth rule', (sctx) => {
  let ctx: WorkflowContext;
  let h: TeamsHarness;
  beforeEach(async () => {
    ctx = {
      store: sctx.store,
      clock: fixedClock(NOW),
      logger: createSilentLogger(),
      config: parseConfig({
        timezone: 'Europe/Berlin',
        publicUrl: 'https://patchdeck.example.com',
        people: PEOPLE,
        approvals: { rules: [{ approversGroup: 'approvers', quorum: 1, requireReauth: true }] },
        web: { auth: { mode: 'oidc', oidc: { issuer: 'https://login.example.org', clientId: 'patchdeck' } } },
      }),
    };
    h = await startTeamsHarness(ctx);
  });
  afterEach(async () => {
    await h.close();
  });

  const send = async (aadObjectId: string, verb: string, data: Record<string, unknown>, trigger?: 'automatic') =>
    (await h.send(cardActionActivity({ serviceUrl: h.fake.serviceUrl, aadObjectId, userId: `29:${aadObjectId}-mri`, verb, data, ...(trigger ? { trigger } : {}) }), await h.fake.signToken())).body as {
      value: { body: unknown };
    };

  it('keeps the vote pending, shows the confirmation link on the voter\'s card only, and counts it as a Teams vote once confirmed', async () => {
    const caseId = await insertCase(sctx.store.db);
    await send('aad-bob', 'patchdeck.vote', { value: `case:${caseId}:approve` });
    await h.face.drain();
    expect(await sctx.store.db.selectFrom('votes').selectAll().execute()).toEqual([]);
    const bobCard = JSON.stringify((await send('aad-bob', 'patchdeck.refresh', { caseId, purpose: 'alert' }, 'automatic')).value.body);
    const link = /https:\/\/patchdeck\.example\.com\/approvals\/confirm\/([A-Za-z0-9_-]+)/.exec(bobCard);
    expect(bobCard).toContain('Not recorded: rule 1 needs you to sign in again for this decision, so the vote is not counted yet.');
    expect(link).not.toBeNull();
    expect(JSON.stringify((await send('aad-alice', 'patchdeck.refresh', { caseId, purpose: 'alert' }, 'automatic')).value.body)).not.toContain('/approvals/confirm/');
    expect(await sctx.store.db.selectFrom('pending_votes').select(['person', 'via', 'status']).execute()).toEqual([{ person: 'bob', via: 'teams', status: 'pending_reauth' }]);

    // Someone else's fresh session cannot use Bob's link.
    expect(await confirmPendingVote(ctx, { token: link![1]!, personId: 'alice', authTime: NOW })).toMatchObject({ status: 'refused', code: 'PD_REAUTH_OTHER_PERSON' });
    expect(await confirmPendingVote(ctx, { token: link![1]!, personId: 'bob', authTime: NOW })).toMatchObject({ status: 'confirmed', vote: { outcome: 'approved' } });
    expect(await sctx.store.db.selectFrom('votes').select(['person', 'via', 'status']).execute()).toEqual([{ person: 'bob', via: 'teams', status: 'counted' }]);
    expect(await confirmPendingVote(ctx, { token: link![1]!, personId: 'bob', authTime: NOW })).toMatchObject({ status: 'refused', code: 'PD_REAUTH_USED' });
    expect((await listAudit(sctx.store.db, { subjectType: 'case' })).map((a) => a.action)).toEqual([
      'vote.pending_reauth',
      'vote.reauth_refused',
      'vote.cast',
      'case.state_changed',
      'vote.reauth_confirmed',
      'vote.reauth_refused',
    ]);
  });
});
