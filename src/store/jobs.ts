import { sql } from 'kysely';
import type { Executor, Store } from './db.js';
import { fromJson, toJson } from './json.js';

export interface NewJob {
  kind: string;
  payload: Record<string, unknown>;
  runAt: Date;
  /** A job with the same key is enqueued once, ever: the second enqueue is a no-op. */
  uniqueKey?: string;
  maxAttempts?: number;
}

export interface ClaimedJob {
  id: number;
  kind: string;
  payload: Record<string, unknown>;
  attempts: number;
  maxAttempts: number;
  /** Fencing number: completing the job only succeeds while it still holds this lease. */
  fence: number;
}

export async function enqueueJob(trx: Executor, job: NewJob, now: Date): Promise<void> {
  const at = now.toISOString();
  await trx
    .insertInto('jobs')
    .values({
      kind: job.kind,
      payload: toJson(job.payload),
      state: 'queued',
      run_at: job.runAt.toISOString(),
      attempts: 0,
      max_attempts: job.maxAttempts ?? 5,
      fence: 0,
      unique_key: job.uniqueKey ?? null,
      created_at: at,
      updated_at: at,
    })
    .onConflict((oc) => oc.column('unique_key').doNothing())
    .execute();
}

/**
 * Takes the oldest due job (or one whose lease ran out) under a lease. PostgreSQL uses
 * `FOR UPDATE SKIP LOCKED` so many workers never take the same job; SQLite's writer lock does the same.
 */
export async function claimJob(
  store: Store,
  options: { owner: string; now: Date; leaseMs: number; kinds?: string[] },
): Promise<ClaimedJob | null> {
  const nowIso = options.now.toISOString();
  const leaseUntil = new Date(options.now.getTime() + options.leaseMs).toISOString();
  return store.transaction(async (trx) => {
    let pick = trx
      .selectFrom('jobs')
      .select('id')
      .where((eb) =>
        eb.or([
          eb.and([eb('state', '=', 'queued'), eb('run_at', '<=', nowIso)]),
          eb.and([eb('state', '=', 'running'), eb('lease_until', '<', nowIso)]),
        ]),
      )
      .orderBy('run_at', 'asc')
      .orderBy('id', 'asc')
      .limit(1);
    if (options.kinds && options.kinds.length > 0) pick = pick.where('kind', 'in', options.kinds);
    if (store.dialect === 'postgres') pick = pick.forUpdate().skipLocked();
    const row = await pick.executeTakeFirst();
    if (!row) return null;
    const updated = await trx
      .updateTable('jobs')
      .set({
        state: 'running',
        lease_owner: options.owner,
        lease_until: leaseUntil,
        fence: sql<number>`fence + 1`,
        attempts: sql<number>`attempts + 1`,
        updated_at: nowIso,
      })
      .where('id', '=', row.id)
      .returning(['id', 'kind', 'payload', 'attempts', 'max_attempts', 'fence'])
      .executeTakeFirstOrThrow();
    return {
      id: Number(updated.id),
      kind: updated.kind,
      payload: fromJson<Record<string, unknown>>(updated.payload, {}),
      attempts: Number(updated.attempts),
      maxAttempts: Number(updated.max_attempts),
      fence: Number(updated.fence),
    };
  });
}

/** Returns false when the lease was lost (another worker took the job): the caller must not assume success. */
export async function completeJob(db: Executor, job: ClaimedJob, now: Date): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .set({ state: 'done', lease_owner: null, lease_until: null, updated_at: now.toISOString() })
    .where('id', '=', job.id)
    .where('fence', '=', job.fence)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Extends a running job's lease while its worker still holds it (same fence), so long work such as a
 * full assessment is not taken again by another worker. False when the lease was already lost.
 */
export async function renewJobLease(db: Executor, job: ClaimedJob, now: Date, leaseMs: number): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .set({ lease_until: new Date(now.getTime() + leaseMs).toISOString(), updated_at: now.toISOString() })
    .where('id', '=', job.id)
    .where('fence', '=', job.fence)
    .where('state', '=', 'running')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Retries with exponential backoff until `maxAttempts`, then parks the job as failed. A `permanent`
 * failure (a payload that can never become valid) is parked at once instead of retried.
 */
export async function failJob(db: Executor, job: ClaimedJob, error: string, now: Date, options: { permanent?: boolean } = {}): Promise<'retry' | 'failed'> {
  const final = options.permanent === true || job.attempts >= job.maxAttempts;
  const backoffMs = Math.min(60_000 * 2 ** (job.attempts - 1), 3_600_000);
  await db
    .updateTable('jobs')
    .set({
      state: final ? 'failed' : 'queued',
      run_at: new Date(now.getTime() + (final ? 0 : backoffMs)).toISOString(),
      lease_owner: null,
      lease_until: null,
      last_error: error.slice(0, 2000),
      updated_at: now.toISOString(),
    })
    .where('id', '=', job.id)
    .where('fence', '=', job.fence)
    .execute();
  return final ? 'failed' : 'retry';
}

export async function countJobs(db: Executor, state?: string): Promise<Record<string, number>> {
  let query = db.selectFrom('jobs').select(['kind', sql<number>`count(*)`.as('n')]).groupBy('kind');
  if (state) query = query.where('state', '=', state);
  const rows = await query.execute();
  return Object.fromEntries(rows.map((r) => [r.kind, Number(r.n)]));
}
