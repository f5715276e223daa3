import { expect, it } from 'vitest';
import { createConnectorRegistry } from '../../src/connectors/index.js';
import { renderReviewMarkdown } from '../../src/core/review.js';
import { claimJob, completeJob } from '../../src/store/jobs.js';
import { castVote } from '../../src/workflow/approvals.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import type { JobHandlers } from '../../src/workflow/jobs.js';
import { buildReview } from '../../src/workflow/reviews.js';
import { createRolloutJobHandlers } from '../../src/workflow/rollouts.js';
import { createTestContext } from '../helpers/context.js';
import { fleet, insertFixtureCase, PEOPLE } from '../helpers/case-fixtures.js';
import { describeEachStore } from '../helpers/stores.js';

async function drain(ctx: WorkflowContext, handlers: JobHandlers): Promise<void> {
  for (;;) {
    const job = await claimJob(ctx.store, { owner: 'test', now: ctx.clock.now(), leaseMs: 60_000, kinds: Object.keys(handlers) });
    if (!job) return;
    await handlers[job.kind]!(ctx, job);
    await completeJob(ctx.store.db, job, ctx.clock.now());
  }
}

describeEachStore('buildReview', (s) => {
  function setup(simulator: Record<string, unknown>, rollout: Record<string, unknown> = {}) {
    const { ctx, clock } = createTestContext(s.store, {
      timezone: 'Europe/Berlin',
      people: PEOPLE,
      rollout: { waveSize: 10, failureThreshold: 1, ...rollout },
      connectors: { simulator: { seed: 3, failureRate: 0, rebootFailureRate: 0, delayMs: 0, ...simulator } },
    });
    return { ctx, clock, handlers: createRolloutJobHandlers({ connectors: createConnectorRegistry(ctx.config) }) };
  }

  it('reviews a finished rollout: what, when, who, per-host outcomes, SLA and lessons', async () => {
    const { ctx, clock, handlers } = setup({ failureRate: 0.15, rebootFailureRate: 0.2 });
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(40, { pilot: [0, 1, 2, 3] }) });
    await castVote(ctx, { caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'slack', comment: 'critical, go' });
    clock.advance(5 * 60_000);
    await drain(ctx, handlers);
    clock.advance(2 * 3_600_000);
    await castVote(ctx, { caseId, stage: 'pilot_signoff', personId: 'bob', decision: 'approve', via: 'web' });
    clock.advance(3_600_000);
    await drain(ctx, handlers);

    const review = await buildReview(ctx, caseId);
    expect(review.caseState).toBe('completed');
    expect(review.advisory).toMatchObject({ id: 'USN-7001-1', cves: ['CVE-2026-1001', 'CVE-2026-1002'] });
    expect(review.packages).toEqual([{ ecosystem: 'Ubuntu:22.04:LTS', name: 'libssl3', fixed: '3.0.2-0ubuntu1.18', hosts: 40 }]);
    expect(review.timeline).toEqual({
      openedAt: '2026-11-23T08:00:00.000Z',
      decidedAt: '2026-11-23T09:00:00.000Z',
      rolloutStartedAt: '2026-11-23T09:05:00.000Z',
      pilotSignedOffAt: '2026-11-23T11:05:00.000Z',
      rolloutEndedAt: '2026-11-23T12:05:00.000Z',
    });
    expect(review.approvals).toEqual([{ person: 'alice', name: 'Alice Approver', decision: 'approve', via: 'slack', at: '2026-11-23T09:00:00.000Z', comment: 'critical, go' }]);
    expect(review.signoffs.map((d) => [d.name, d.decision, d.via])).toEqual([['Bob Approver', 'approve', 'web']]);
    expect(review.rollout).toMatchObject({ state: 'completed', connector: 'simulator', startedBy: 'Alice Approver', waves: 5 });

    const targets = await s.store.db.selectFrom('rollout_targets').selectAll().execute();
    const count = (state: string) => targets.filter((t) => t.state === state).length;
    expect(review.outcomes).toEqual({ targets: 40, installed: count('installed'), failed: count('failed'), rebooted: count('rebooted'), rebootFailed: count('reboot_failed'), notFinished: 0 });
    expect(review.outcomes.failed).toBeGreaterThan(0);
    expect(review.outcomes.rebootFailed).toBeGreaterThan(0);
    expect(review.failedHosts.map((f) => f.host).sort()).toEqual(targets.filter((t) => t.state === 'failed' || t.state === 'reboot_failed').map((t) => t.host_name).sort());
    expect(review.failedHosts.every((f) => (f.detail ?? '').length > 0)).toBe(true);
    expect(review.openExposures).toBe(review.failedHosts.length);
    expect(review.sla).toEqual({ dueAt: '2026-11-24T08:00:00.000Z', startedAt: '2026-11-23T09:05:00.000Z', met: true, marginMs: (22 * 60 + 55) * 60_000 });
    expect(review.halts).toEqual([]);
    const rebootsTried = review.outcomes.rebooted + review.outcomes.rebootFailed;
    expect(review.lessons[0]).toContain(`${review.outcomes.rebootFailed} of ${rebootsTried} reboots failed`);
    expect(review.lessons).toContain(`${review.openExposures} exposures stay open after the rollout: plan a follow-up for the failed hosts.`);

    const markdown = renderReviewMarkdown(review, ctx.config.timezone);
    expect(markdown).toContain('- Rollout started: 2026-11-23 10:05 CET');
    expect(markdown).toContain('met: the rollout started 22 hours 55 minutes before the deadline');
    for (const f of review.failedHosts) expect(markdown).toContain(`| ${f.host} |`);
  });

  it('reports a halt with its reason and a missed SLA', async () => {
    const { ctx, handlers } = setup({ failureRate: 1 }, { failureThreshold: 0.2 });
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', dueAt: '2026-11-23T08:30:00.000Z', hosts: fleet(5, { pilot: [0] }) });
    await castVote(ctx, { caseId, stage: 'approval', personId: 'carol', decision: 'approve', via: 'cli' });
    await drain(ctx, handlers);
    const review = await buildReview(ctx, caseId);
    expect(review.caseState).toBe('halted');
    expect(review.halts).toEqual([{ at: '2026-11-23T09:00:00.000Z', by: 'patchdeck', reason: 'pilot (wave 0): 1 of 1 hosts failed (100%: 1 install), above the 20% limit' }]);
    expect(review.timeline.rolloutEndedAt).toBe('2026-11-23T09:00:00.000Z');
    expect(review.outcomes).toEqual({ targets: 5, installed: 0, failed: 1, rebooted: 0, rebootFailed: 0, notFinished: 4 });
    expect(review.sla).toMatchObject({ met: false, marginMs: -30 * 60_000 });
    expect(review.lessons).toContain('4 hosts never got the patch because the rollout stopped.');
    expect(review.lessons.some((l) => l.startsWith('The SLA was missed by 30 minutes: approval alone took 1 hour'))).toBe(true);
  });

  it('reviews a case that never got a rollout, and refuses an unknown case', async () => {
    const { ctx } = setup({});
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(2) });
    await castVote(ctx, { caseId, stage: 'approval', personId: 'bob', decision: 'reject', via: 'slack', comment: 'not our build' });
    const review = await buildReview(ctx, caseId);
    expect(review).toMatchObject({ caseState: 'rejected', rollout: null, outcomes: { targets: 0 }, sla: { startedAt: null, met: null }, lessons: [] });
    const markdown = renderReviewMarkdown(review, 'UTC');
    expect(markdown).toContain('No rollout ran.');
    expect(markdown).toContain('): not applicable: the change was rejected');
    expect(markdown).toContain('- approval: Bob Approver rejected via slack at 2026-11-23 09:00 UTC — "not our build"');
    await expect(buildReview(ctx, 999)).rejects.toMatchObject({ code: 'PD_CASE_NOT_FOUND', status: 404 });
  });
});
