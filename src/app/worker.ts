import { randomUUID } from 'node:crypto';
import { isPatchdeckError } from '../core/errors.js';
import { claimJob, completeJob, failJob, renewJobLease, type ClaimedJob } from '../store/jobs.js';
import type { WorkflowContext } from '../workflow/context.js';
import type { JobHandlers } from '../workflow/jobs.js';

export interface WorkerOptions {
  ctx: WorkflowContext;
  handlers: JobHandlers;
  /** Identifies this instance in leases; defaults to a random id. */
  owner?: string;
  concurrency?: number;
  pollMs?: number;
  /** A job not finished in this time is taken again by another worker. */
  leaseMs?: number;
}

const DEFAULT_LEASE_MS = 60_000;

export interface RunningWorker {
  stop(): Promise<void>;
}

/** Errors no retry can fix: the job is parked as failed at once, with the message, instead of retried. */
const PERMANENT_ERROR_CODES: ReadonlySet<string> = new Set(['PD_JOB_PAYLOAD']);

export interface RunJobOptions {
  /** The lease the job was claimed with; it is renewed every third of it while the handler runs. */
  leaseMs?: number;
}

/**
 * Runs one claimed job to completion; failures are retried with backoff by the queue, except payloads
 * that can never be valid. The lease is renewed while the handler runs, so a long job is not run twice.
 */
export async function runJob(
  ctx: WorkflowContext,
  handlers: JobHandlers,
  job: ClaimedJob,
  options: RunJobOptions = {},
): Promise<'done' | 'retry' | 'failed' | 'lost'> {
  const handler = handlers[job.kind];
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  let renewing: Promise<unknown> = Promise.resolve();
  const renewal = setInterval(() => {
    renewing = renewJobLease(ctx.store.db, job, ctx.clock.now(), leaseMs)
      .then((held) => {
        if (!held) ctx.logger.warn({ job: job.id, kind: job.kind }, 'job lease was lost while running');
      })
      .catch((error: unknown) => ctx.logger.warn({ job: job.id, err: (error as Error).message }, 'could not renew the job lease'));
  }, Math.max(Math.floor(leaseMs / 3), 10));
  try {
    if (!handler) throw new Error(`no handler for job kind "${job.kind}"`);
    await handler(ctx, job);
    clearInterval(renewal);
    await renewing;
    const completed = await completeJob(ctx.store.db, job, ctx.clock.now());
    if (!completed) ctx.logger.warn({ job: job.id, kind: job.kind }, 'job lease was lost before completion');
    return completed ? 'done' : 'lost';
  } catch (error) {
    clearInterval(renewal);
    await renewing;
    const message = error instanceof Error ? error.message : String(error);
    const permanent = isPatchdeckError(error) && PERMANENT_ERROR_CODES.has(error.code);
    const outcome = await failJob(ctx.store.db, job, message, ctx.clock.now(), { permanent });
    ctx.logger[outcome === 'failed' ? 'error' : 'warn']({ job: job.id, kind: job.kind, attempts: job.attempts, err: message }, `job ${outcome === 'failed' ? 'failed for good' : 'will be retried'}`);
    return outcome;
  } finally {
    clearInterval(renewal);
  }
}

/**
 * Claims and runs due jobs until none is left (or `max` ran). Used by the CLI, the demo seeding
 * and tests to bring the system to rest without a background loop.
 */
export async function drainJobs(
  ctx: WorkflowContext,
  handlers: JobHandlers,
  options: { owner?: string; max?: number; leaseMs?: number } = {},
): Promise<number> {
  const owner = options.owner ?? `drain-${randomUUID().slice(0, 8)}`;
  const max = options.max ?? 100_000;
  let ran = 0;
  while (ran < max) {
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    const job = await claimJob(ctx.store, { owner, now: ctx.clock.now(), leaseMs, kinds: Object.keys(handlers) });
    if (!job) break;
    await runJob(ctx, handlers, job, { leaseMs });
    ran += 1;
  }
  return ran;
}

/** The background worker of `patchdeck start`: `concurrency` loops claiming jobs from the database. */
export function startWorker(options: WorkerOptions): RunningWorker {
  const { ctx, handlers } = options;
  const owner = options.owner ?? `worker-${randomUUID().slice(0, 8)}`;
  const pollMs = options.pollMs ?? 500;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  let stopping = false;
  const sleepers = new Set<() => void>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      sleepers.add(wake);
    });

  const loop = async (slot: number) => {
    while (!stopping) {
      let job: ClaimedJob | null = null;
      try {
        job = await claimJob(ctx.store, { owner: `${owner}/${slot}`, now: ctx.clock.now(), leaseMs, kinds: Object.keys(handlers) });
      } catch (error) {
        ctx.logger.error({ err: (error as Error).message }, 'could not claim a job; retrying');
      }
      if (job) {
        await runJob(ctx, handlers, job, { leaseMs });
      } else {
        await sleep(pollMs);
      }
    }
  };
  const loops = Array.from({ length: options.concurrency ?? 4 }, (_, i) => loop(i));
  return {
    async stop() {
      stopping = true;
      for (const wake of [...sleepers]) wake();
      await Promise.all(loops);
    },
  };
}
