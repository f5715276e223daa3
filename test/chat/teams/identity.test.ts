import { afterEach, beforeEach, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { findPersonByTeamsId } from '../../../src/core/people.js';
import { castVote } from '../../../src/workflow/approvals.js';
import type { WorkflowContext } from '../../../src/workflow/context.js';
import { cardActionActivity } from '../../helpers/fake-teams.js';
import { describeEachStore } from '../../helpers/stores.js';
import { insertCase } from '../case-rows.js';
import { PEOPLE, startTeamsHarness, teamsContext, type TeamsHarness } from './harness.js';

it('finds a person by their Entra object id only', () => {
  expect(findPersonByTeamsId(PEOPLE, 'aad-bob')?.id).toBe('bob');
  expect(findPersonByTeamsId(PEOPLE, 'UALICE')).toBeNull();
  expect(findPersonByTeamsId([{ id: 'x', name: 'X', groups: [] }], '')).toBeNull();
});

describeEachStore('one person on Slack and Teams', (sctx) => {
  let ctx: WorkflowContext;
  let h: TeamsHarness;
  beforeEach(async () => {
    ctx = teamsContext(sctx.store);
    ctx.config = parseConfig({ ...ctx.config, approvals: { approversGroup: 'approvers', quorum: 2 } });
    h = await startTeamsHarness(ctx);
  });
  afterEach(async () => {
    await h.close();
  });

  it('counts once towards the quorum', async () => {
    const caseId = await insertCase(sctx.store.db);
    // Alice approves in Slack (the Slack face resolves UALICE to alice) …
    expect(await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack' })).toMatchObject({ outcome: 'pending' });
    // … and again in Teams: the same person, so still one vote and still pending.
    const teamsVote = async (aadObjectId: string) =>
      h.send(cardActionActivity({ serviceUrl: h.fake.serviceUrl, aadObjectId, verb: 'patchdeck.vote', data: { value: `case:${caseId}:approve` } }), await h.fake.signToken());
    expect((await teamsVote('aad-alice')).status).toBe(200);
    // The invoke is answered before the vote is counted: wait for the face's queued work.
    await h.face.drain();
    const votes = () => sctx.store.db.selectFrom('votes').select(['person', 'via']).orderBy('id').execute();
    expect(await votes()).toEqual([{ person: 'alice', via: 'slack' }]);
    expect((await sctx.store.db.selectFrom('cases').select('state').where('id', '=', caseId).executeTakeFirstOrThrow()).state).toBe('awaiting_approval');
    // Bob in Teams is the second approver.
    await teamsVote('aad-bob');
    await h.face.drain();
    expect(await votes()).toEqual([{ person: 'alice', via: 'slack' }, { person: 'bob', via: 'teams' }]);
    expect((await sctx.store.db.selectFrom('cases').select('state').where('id', '=', caseId).executeTakeFirstOrThrow()).state).toBe('approved');
  });
});
