import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Config } from '../config/schema.js';
import { appendAudit, type AuditEntry } from '../store/audit.js';
import type { Executor, Store } from '../store/db.js';
import { enqueueJob, type NewJob } from '../store/jobs.js';

/** What every workflow service is given. Nothing here is global: tests pass their own. */
export interface WorkflowContext {
  store: Store;
  clock: Clock;
  logger: Logger;
  config: Config;
}

export interface ChangeRecord {
  audit: Omit<AuditEntry, 'at'>[];
  jobs?: (Omit<NewJob, 'runAt'> & { runAt?: Date })[];
}

/**
 * Appends the audit events and enqueues the jobs a change causes, inside the caller's transaction,
 * so a state change, its audit trail and its follow-up work commit together or not at all.
 */
export async function recordChange(trx: Executor, ctx: WorkflowContext, change: ChangeRecord): Promise<void> {
  const now = ctx.clock.now();
  for (const entry of change.audit) {
    await appendAudit(trx, ctx.store.dialect, { ...entry, at: now });
  }
  for (const job of change.jobs ?? []) {
    await enqueueJob(trx, { ...job, runAt: job.runAt ?? now }, now);
  }
}
