import { afterEach, expect, it } from 'vitest';
import { createConnectorRegistry } from '../../src/connectors/index.js';
import { listAudit } from '../../src/store/audit.js';
import { claimJob, completeJob } from '../../src/store/jobs.js';
import { createWebApp } from '../../src/web/app.js';
import { castVote } from '../../src/workflow/approvals.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import type { JobHandlers } from '../../src/workflow/jobs.js';
import { createConsoleDirectNotifier, createRebootJobHandlers } from '../../src/workflow/reboots.js';
import { createRolloutJobHandlers } from '../../src/workflow/rollouts.js';
import { fleet, insertFixtureCase } from '../helpers/case-fixtures.js';
import { describeEachStore } from '../helpers/stores.js';
import { createTestContext, csrfFrom, listen, PEOPLE, signIn } from './seed.js';

/** Without a chat platform, the reboot notice is the web console's: shown on the dashboard, answered by its owner there. */

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

async function drain(ctx: WorkflowContext, handlers: JobHandlers): Promise<void> {
  for (;;) {
    const job = await claimJob(ctx.store, { owner: 'test', now: ctx.clock.now(), leaseMs: 60_000, kinds: Object.keys(handlers) });
    if (!job) return;
    await handlers[job.kind]!(ctx, job);
    await completeJob(ctx.store.db, job, ctx.clock.now());
  }
}

describeEachStore('reboot notices on the web console', (db) => {
  let server: { url: string; close: () => Promise<void> } | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('shows the owner the notice with working buttons and refuses anyone else', async () => {
    const ctx = createTestContext(db.store, {
      people: [...PEOPLE, { id: 'rita', name: 'Rita Requester', groups: [] }],
      connectors: { simulator: { seed: 11, failureRate: 0, rebootFailureRate: 0, delayMs: 0 } },
    });
    const handlers = { ...createRolloutJobHandlers({ connectors: createConnectorRegistry(ctx.config) }), ...createRebootJobHandlers({ notifiers: [createConsoleDirectNotifier()] }) };
    const { caseId, hostIds } = await insertFixtureCase(db.store.db, { requestedBy: 'rita', hosts: fleet(1, { pilot: [0] }) });
    await db.store.db.updateTable('hosts').set({ owner: 'bob' }).where('id', '=', hostIds[0]!).execute();
    await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'cli' });
    await drain(ctx, handlers);
    const noticeId = Number((await db.store.db.selectFrom('reboot_notices').select('id').executeTakeFirstOrThrow()).id);
    server = await listen(createWebApp({ ctx, slackEnabled: false }));

    const bob = await signIn(server.url, 'bob');
    const page = await (await fetch(`${server.url}/`, { headers: { cookie: bob } })).text();
    expect(page).toContain('Reboot of host-001 for USN-7001-1');
    expect(page).toContain(`action="/reboots/${noticeId}"`);
    const csrf = csrfFrom(page);
    const post = (cookie: string, token: string, value: string) =>
      fetch(`${server!.url}/reboots/${noticeId}`, { method: 'POST', redirect: 'manual', headers: { ...FORM, cookie, origin: server!.url }, body: new URLSearchParams({ csrf: token, value }).toString() });

    // Alice is signed in too, but it is not her host.
    const alice = await signIn(server.url, 'alice');
    const aliceCsrf = csrfFrom(await (await fetch(`${server.url}/`, { headers: { cookie: alice } })).text());
    const refused = await post(alice, aliceCsrf, `reboot:${noticeId}:now`);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('Only the owner of host-001 (Bob Builder) can decide when it reboots.');
    // A form without this session's token is refused before the workflow sees it.
    expect((await post(bob, 'not-the-token', `reboot:${noticeId}:now`)).status).toBe(403);
    // A value for another notice is not accepted at this address.
    expect((await post(bob, csrf, `reboot:${noticeId + 1}:now`)).status).toBe(400);

    const postponed = await post(bob, csrf, `reboot:${noticeId}:postpone:0`);
    expect([postponed.status, postponed.headers.get('location')]).toEqual([303, '/?reboot=recorded']);
    expect((await post(bob, csrf, `reboot:${noticeId}:postpone:0`)).headers.get('location')).toBe('/?reboot=unchanged');
    await drain(ctx, handlers);
    const after = await (await fetch(`${server.url}/`, { headers: { cookie: bob } })).text();
    expect(after).toContain('Postponed by Bob Builder (1 of 2)');

    const audit = (await listAudit(db.store.db, { subjectType: 'reboot_notice' })).filter((e) => e.action.startsWith('reboot.deci')).map((e) => [e.actor, e.action, (e.after as { via: string }).via]);
    expect(audit).toEqual([
      ['alice', 'reboot.decision_refused', 'web'],
      ['bob', 'reboot.decided', 'web'],
    ]);
  });
});
