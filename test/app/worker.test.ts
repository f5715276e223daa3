import { expect, it } from 'vitest';
import { drainJobs, startWorker } from '../../src/app/worker.js';
import { enqueueJob } from '../../src/store/jobs.js';
import type { JobHandlers } from '../../src/workflow/jobs.js';
import { createTestContext } from '../helpers/context.js';
import { describeEachStore } from '../helpers/stores.js';

describeEachStore('worker', (s) => {
  it('drains due jobs, retries a failing one later and parks unknown kinds as failures', async () => {
    const { ctx, clock } = createTestContext(s.store);
    const seen: number[] = [];
    let failures = 0;
    const handlers: JobHandlers = {
      'test.ok': async (_ctx, job) => void seen.push(job.payload.n as number),
      'test.flaky': async () => {
        failures += 1;
        if (failures === 1) throw new Error('first attempt fails');
      },
    };
    await s.store.transaction(async (trx) => {
      for (const n of [1, 2, 3]) await enqueueJob(trx, { kind: 'test.ok', payload: { n }, runAt: clock.now() }, clock.now());
      await enqueueJob(trx, { kind: 'test.flaky', payload: {}, runAt: clock.now() }, clock.now());
    });
    expect(await drainJobs(ctx, handlers)).toBe(4);
    expect(seen).toEqual([1, 2, 3]);
    const flaky = await s.store.db.selectFrom('jobs').selectAll().where('kind', '=', 'test.flaky').executeTakeFirstOrThrow();
    expect(flaky.state).toBe('queued');
    expect(flaky.last_error).toBe('first attempt fails');
    clock.advance(61_000);
    expect(await drainJobs(ctx, handlers)).toBe(1);
    const done = await s.store.db.selectFrom('jobs').select('state').where('kind', '=', 'test.flaky').executeTakeFirstOrThrow();
    expect(done.state).toBe('done');
  });

  it('runs jobs in the background until stopped', async () => {
    const { ctx, clock } = createTestContext(s.store);
    const seen: number[] = [];
    const worker = startWorker({ ctx, handlers: { 'test.ok': async (_c, job) => void seen.push(job.payload.n as number) }, pollMs: 20, concurrency: 2 });
    try {
      await s.store.transaction(async (trx) => {
        for (const n of [1, 2, 3, 4]) await enqueueJob(trx, { kind: 'test.ok', payload: { n }, runAt: clock.now() }, clock.now());
      });
      const deadline = Date.now() + 5000;
      while (seen.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    } finally {
      await worker.stop();
    }
    expect([...seen].sort()).toEqual([1, 2, 3, 4]);
  });
});
