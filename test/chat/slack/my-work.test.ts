import { expect, it } from 'vitest';
import { loadMyWork } from '../../../src/chat/slack/my-work.js';
import { describeEachStore } from '../../helpers/stores.js';
import { insertCase, insertVote } from '../case-rows.js';
import { workflowContext } from './harness.js';

describeEachStore('what waits for a Slack user', (sctx) => {
  it('lists an approval again once the person\'s vote was voided by a plan change, with the plan for its buttons', async () => {
    const ctx = workflowContext(sctx.store);
    const voided = await insertCase(sctx.store.db, { advisoryId: 'USN-7101-1' });
    const decided = await insertCase(sctx.store.db, { advisoryId: 'USN-7102-1' });
    const plan = 'e'.repeat(64);
    await sctx.store.db.updateTable('cases').set({ plan_hash: plan }).where('id', '=', voided).execute();
    for (const caseId of [voided, decided]) await insertVote(sctx.store.db, { caseId, stage: 'approval', person: 'alice', decision: 'approve', at: '2026-11-23T09:00:00.000Z' });
    await sctx.store.db.updateTable('votes').set({ status: 'void', voided_at: '2026-11-23T09:30:00.000Z', void_reason: 'the plan changed' }).where('case_id', '=', voided).execute();
    const work = await loadMyWork(ctx, 'UALICE');
    expect(work.approvals.map((d) => [d.caseId, d.planHash, d.votes])).toEqual([[voided, plan, []]]);
  });
});
