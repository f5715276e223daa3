import { expect, it } from 'vitest';
import { drainJobs, startWorker } from '../../src/app/worker.js';
import { PatchdeckError } from '../../src/core/errors.js';
import { claimJob, enqueueJob } from '../../src/store/jobs.js';
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

  it('renews the lease of a job that runs longer than it, so no other worker takes it meanwhile', async () => {
    const { ctx, clock } = createTestContext(s.store);
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    let takenMeanwhile: unknown = 'not tried';
    const handlers: JobHandlers = {
      'test.slow': async () => {
        // The clock moves past the first lease (150 ms) while renewals (every 50 ms) keep extending it.
        for (let i = 0; i < 4; i++) {
          clock.advance(60);
          await sleep(80);
        }
        takenMeanwhile = await claimJob(s.store, { owner: 'other', now: clock.now(), leaseMs: 150 });
      },
    };
    await s.store.transaction((trx) => enqueueJob(trx, { kind: 'test.slow', payload: {}, runAt: clock.now() }, clock.now()));
    expect(await drainJobs(ctx, handlers, { leaseMs: 150 })).toBe(1);
    expect(takenMeanwhile).toBeNull();
    const row = await s.store.db.selectFrom('jobs').select(['state', 'attempts']).where('kind', '=', 'test.slow').executeTakeFirstOrThrow();
    expect(row.state).toBe('done');
    expect(Number(row.attempts)).toBe(1);
  });

  it('parks a job whose payload can never be valid after one attempt, with the message', async () => {
    const { ctx, clock } = createTestContext(s.store);
    let attempts = 0;
    const handlers: JobHandlers = {
      'test.bad': async () => {
        attempts += 1;
        throw new PatchdeckError('PD_JOB_PAYLOAD', 'test.bad job payload needs a caseId');
      },
    };
    await s.store.transaction((trx) => enqueueJob(trx, { kind: 'test.bad', payload: {}, runAt: clock.now() }, clock.now()));
    expect(await drainJobs(ctx, handlers)).toBe(1);
    clock.advance(3_600_000);
    expect(await drainJobs(ctx, handlers)).toBe(0);
    expect(attempts).toBe(1);
    const row = await s.store.db.selectFrom('jobs').select(['state', 'last_error']).where('kind', '=', 'test.bad').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'failed', last_error: 'test.bad job payload needs a caseId' });
  });
});
