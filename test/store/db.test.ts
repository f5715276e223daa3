import { describe, expect, it } from 'vitest';
import { appendAudit, listAudit, verifyAuditChain } from '../../src/store/audit.js';
import { droppedOtherSchema, openStore } from '../../src/store/db.js';
import { claimJob, completeJob, enqueueJob, failJob } from '../../src/store/jobs.js';
import { acquireLease } from '../../src/store/leases.js';
import { describeEachStore } from '../helpers/stores.js';

const T0 = new Date('2026-01-05T09:00:00.000Z');

describeEachStore('store', (ctx) => {
  it('rolls a transaction back completely when it throws', async () => {
    const { store } = ctx;
    await expect(
      store.transaction(async (trx) => {
        await appendAudit(trx, store.dialect, { at: T0, actor: 'alice', action: 'test.one', subjectType: 'case', subjectId: 1 });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await listAudit(store.db)).toEqual([]);
  });

  it('chains audit events and detects tampering', async () => {
    const { store } = ctx;
    for (const action of ['case.opened', 'vote.cast', 'case.approved']) {
      await store.transaction((trx) =>
        appendAudit(trx, store.dialect, { at: T0, actor: 'alice', action, subjectType: 'case', subjectId: 7, before: { state: 'a' }, after: { state: 'b' } }),
      );
    }
    const events = await listAudit(store.db, { subjectType: 'case', subjectId: 7 });
    expect(events.map((e) => [e.seq, e.action])).toEqual([
      [1, 'case.opened'],
      [2, 'vote.cast'],
      [3, 'case.approved'],
    ]);
    expect(events[1]!.before).toEqual({ state: 'a' });
    expect(await verifyAuditChain(store.db)).toBeNull();
    await store.db.updateTable('audit_events').set({ actor: 'mallory' }).where('seq', '=', 2).execute();
    expect(await verifyAuditChain(store.db)).toBe(2);
  });

  it('hands a job to one worker, re-leases it after expiry and fences the old owner', async () => {
    const { store } = ctx;
    await store.transaction((trx) => enqueueJob(trx, { kind: 'k', payload: { n: 1 }, runAt: T0 }, T0));
    const first = await claimJob(store, { owner: 'w1', now: T0, leaseMs: 1000 });
    expect(first?.payload).toEqual({ n: 1 });
    expect(await claimJob(store, { owner: 'w2', now: T0, leaseMs: 1000 })).toBeNull();
    const later = new Date(T0.getTime() + 5000);
    const second = await claimJob(store, { owner: 'w2', now: later, leaseMs: 1000 });
    expect(second?.id).toBe(first?.id);
    expect(second!.fence).toBeGreaterThan(first!.fence);
    expect(await completeJob(store.db, first!, later)).toBe(false);
    expect(await completeJob(store.db, second!, later)).toBe(true);
    expect(await claimJob(store, { owner: 'w3', now: new Date(later.getTime() + 10_000), leaseMs: 1000 })).toBeNull();
  });

  it('enqueues a job with a unique key once and retries failures with backoff', async () => {
    const { store } = ctx;
    for (let i = 0; i < 3; i++) {
      await store.transaction((trx) => enqueueJob(trx, { kind: 'k', payload: {}, runAt: T0, uniqueKey: 'once', maxAttempts: 2 }, T0));
    }
    expect(Number((await store.db.selectFrom('jobs').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)).toBe(1);
    const job = await claimJob(store, { owner: 'w', now: T0, leaseMs: 1000 });
    expect(await failJob(store.db, job!, 'oops', T0)).toBe('retry');
    expect(await claimJob(store, { owner: 'w', now: T0, leaseMs: 1000 })).toBeNull();
    const again = await claimJob(store, { owner: 'w', now: new Date(T0.getTime() + 61_000), leaseMs: 1000 });
    expect(again?.attempts).toBe(2);
    expect(await failJob(store.db, again!, 'oops again', T0)).toBe('failed');
  });

  it('gives a lease to one owner at a time and raises the fence on hand-over', async () => {
    const { store } = ctx;
    const a = await acquireLease(store, { name: 'scheduler', owner: 'a', now: T0, ttlMs: 10_000 });
    expect(a?.fence).toBe(1);
    expect(await acquireLease(store, { name: 'scheduler', owner: 'b', now: T0, ttlMs: 10_000 })).toBeNull();
    const b = await acquireLease(store, { name: 'scheduler', owner: 'b', now: new Date(T0.getTime() + 11_000), ttlMs: 10_000 });
    expect(b?.fence).toBe(2);
  });
});

describe('openStore', () => {
  it('refuses a database URL it does not understand, naming the setting', async () => {
    await expect(openStore('mysql://x')).rejects.toMatchObject({ code: 'PD_CONFIG_DATABASE_URL' });
  });
});

describe('migrateToLatest retries', () => {
  it('retries when another schema vanished while Kysely listed tables, but not when our own schema is missing', () => {
    const other = new Error('schema "pd_bench_toyo6u_a02382bf" does not exist');
    expect(droppedOtherSchema(other, 'pd_test_abc_01')).toBe(true);
    expect(droppedOtherSchema(new Error('schema "pd_test_abc_01" does not exist'), 'pd_test_abc_01')).toBe(false);
    expect(droppedOtherSchema(new Error('relation "jobs" already exists'), 'public')).toBe(false);
  });
});
