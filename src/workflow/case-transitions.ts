import { transitionPath } from '../core/case-states.js';
import { PatchdeckError } from '../core/errors.js';
import type { CaseState } from '../core/types.js';
import type { Executor } from '../store/db.js';
import { recordChange, type WorkflowContext } from './context.js';

export interface CaseMove {
  caseId: number;
  from: CaseState;
  to: CaseState;
  /** States passed through on the way, each step checked and audited (e.g. pilot_signed_off). */
  via?: CaseState[];
  actor: string;
  /** Why, for the audit trail. */
  reason?: string;
  /** Other case columns written with the last step. */
  set?: { decided_at?: string; plan_hash?: string; deferred_until?: string | null; approval_requested_at?: string; approval_expired_at?: string | null };
}

/**
 * Moves a case along the state machine inside the caller's transaction, one audited
 * 'case.state_changed' event per step. The update is guarded by the expected current state, so a
 * concurrent change is noticed instead of overwritten.
 */
export async function moveCase(trx: Executor, ctx: WorkflowContext, move: CaseMove): Promise<void> {
  const steps = transitionPath(move.from, move.via ?? [], move.to);
  const now = ctx.clock.now().toISOString();
  let current = move.from;
  for (const [index, next] of steps.entries()) {
    const last = index === steps.length - 1;
    const result = await trx
      .updateTable('cases')
      .set({ state: next, updated_at: now, ...(last ? move.set : {}) })
      .where('id', '=', move.caseId)
      .where('state', '=', current)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) {
      throw new PatchdeckError('PD_CASE_CHANGED', `case ${move.caseId} is no longer "${current}"; someone else changed it, try again`, { status: 409 });
    }
    await recordChange(trx, ctx, {
      audit: [
        {
          actor: move.actor,
          action: 'case.state_changed',
          subjectType: 'case',
          subjectId: move.caseId,
          before: { state: current },
          after: { state: next, ...(last ? move.set : {}), ...(move.reason ? { reason: move.reason } : {}) },
        },
      ],
    });
    current = next;
  }
}

/** Reads a case row for a read-then-write transaction; on PostgreSQL the row stays locked until commit. */
export async function lockCase(trx: Executor, ctx: WorkflowContext, caseId: number) {
  let query = trx.selectFrom('cases').selectAll().where('id', '=', caseId);
  if (ctx.store.dialect === 'postgres') query = query.forUpdate();
  return query.executeTakeFirst();
}
