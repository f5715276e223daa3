import { PatchdeckError } from '../core/errors.js';
import { formatInZone } from '../core/time.js';
import type { CaseState } from '../core/types.js';
import { fromJson, toJson } from '../store/json.js';
import { moveCase } from './case-transitions.js';
import { recordChange, type ChangeRecord, type WorkflowContext } from './context.js';
import { JOB_KINDS, type JobHandlers } from './jobs.js';

/**
 * Case states a withdrawal closes: no rollout has started, so nothing is half done. A case whose
 * rollout is under way (testing … deploying) keeps its state; its thread says so, and people decide.
 */
const CLOSABLE_STATES: readonly CaseState[] = ['identified', 'assessed', 'awaiting_approval', 'deferred', 'approved'];

/** States with a rollout under way: the case is told, not moved. Cases already closed are left alone. */
const ROLLING_STATES: readonly CaseState[] = ['testing', 'piloting', 'pilot_signed_off', 'deploying', 'verifying'];

/** Exposure statuses a withdrawal resolves: everything still counted against a host. */
const UNRESOLVED = ['open', 'exempt', 'mitigated'];

export interface WithdrawalResult {
  advisoryId: string;
  /** False when the advisory is not withdrawn (any more): nothing was done. */
  withdrawn: boolean;
  exposuresResolved: number;
  casesClosed: number[];
  /** Cases whose rollout had started: told in their thread, left in their state (closed cases are not touched). */
  casesLeft: number[];
}

/**
 * Acts on an advisory the feeds marked withdrawn (OSV `withdrawn`, a withdrawn CSAF document, a
 * rejected CVE): in one transaction its unresolved exposures are resolved with the reason "advisory
 * withdrawn by <source>", each case whose rollout has not started is closed (`not_applicable`), every
 * case gets the reason first in its list, a `withdrawn` message in its thread (`chat.post`) and its
 * alert updated (`chat.update`), all audited. Idempotent: a second run finds nothing left to do.
 */
export async function withdrawAdvisory(ctx: WorkflowContext, input: { advisoryId: string; actor: string }): Promise<WithdrawalResult> {
  const result: WithdrawalResult = { advisoryId: input.advisoryId, withdrawn: false, exposuresResolved: 0, casesClosed: [], casesLeft: [] };
  return ctx.store.transaction(async (trx) => {
    const advisory = await trx.selectFrom('advisories').select(['id', 'source', 'withdrawn_at']).where('id', '=', input.advisoryId).executeTakeFirst();
    // Re-published since (or gone): the withdrawal no longer holds.
    if (!advisory || advisory.withdrawn_at === null) return result;
    result.withdrawn = true;
    const now = ctx.clock.now().toISOString();
    const reason = `advisory withdrawn by ${advisory.source}`;
    const line = `Advisory withdrawn by ${advisory.source} (${formatInZone(advisory.withdrawn_at, ctx.config.timezone)}): exposures resolved`;

    const exposures = await trx
      .selectFrom('exposures')
      .select(['id', 'status', 'reasons'])
      .where('advisory_id', '=', advisory.id)
      .where('status', 'in', UNRESOLVED)
      .execute();
    for (const exposure of exposures) {
      const reasons = fromJson<string[]>(exposure.reasons, []);
      await trx
        .updateTable('exposures')
        .set({ status: 'resolved', resolved_at: now, reasons: toJson([...reasons, `Resolved: ${reason}`]) })
        .where('id', '=', exposure.id)
        .execute();
    }
    result.exposuresResolved = exposures.length;

    const change: ChangeRecord = { audit: [], jobs: [] };
    if (exposures.length > 0) {
      change.audit.push({
        actor: input.actor,
        action: 'exposures.resolved',
        subjectType: 'advisory',
        subjectId: advisory.id,
        after: { reason, exposures: exposures.length, byStatus: countBy(exposures.map((e) => e.status)) },
      });
    }
    const cases = await trx.selectFrom('cases').select(['id', 'state', 'reasons']).where('advisory_id', '=', advisory.id).orderBy('id', 'asc').execute();
    for (const row of cases) {
      const caseId = Number(row.id);
      const reasons = fromJson<string[]>(row.reasons, []);
      // Told once: a case already carrying the line (an earlier run, a retried job) is left alone.
      if (reasons.some((r) => r.startsWith(`Advisory withdrawn by ${advisory.source}`))) continue;
      const state = row.state as CaseState;
      const closable = CLOSABLE_STATES.includes(state);
      if (!closable && !ROLLING_STATES.includes(state)) continue;
      const note = closable ? `${line}, case closed` : `${line}; the rollout already started and goes on unless halted`;
      await trx.updateTable('cases').set({ reasons: toJson([note, ...reasons]), updated_at: now }).where('id', '=', caseId).execute();
      if (closable) {
        await moveCase(trx, ctx, { caseId, from: state, to: 'not_applicable', actor: input.actor, reason, set: { decided_at: now } });
        result.casesClosed.push(caseId);
      } else {
        result.casesLeft.push(caseId);
      }
      change.audit.push({
        actor: input.actor,
        action: 'case.advisory_withdrawn',
        subjectType: 'case',
        subjectId: caseId,
        before: { state },
        after: { advisoryId: advisory.id, reason, closed: closable, withdrawnAt: advisory.withdrawn_at },
      });
      change.jobs!.push(
        { kind: JOB_KINDS.chatPost, payload: { caseId, purpose: 'withdrawn' }, uniqueKey: `case:${caseId}:withdrawn` },
        { kind: JOB_KINDS.chatUpdate, payload: { caseId, purpose: 'alert' } },
      );
    }
    await recordChange(trx, ctx, change);
    return result;
  });
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** `advisory.withdrawn` with payload `{ advisoryId }`, enqueued by the feed run that saw the withdrawal. */
export function createWithdrawalJobHandlers(): JobHandlers {
  return {
    [JOB_KINDS.advisoryWithdrawn]: async (ctx, job) => {
      const advisoryId = job.payload.advisoryId;
      if (typeof advisoryId !== 'string' || advisoryId === '') {
        throw new PatchdeckError('PD_JOB_PAYLOAD', `${JOB_KINDS.advisoryWithdrawn} job ${job.id}: payload.advisoryId must be an advisory id`);
      }
      await withdrawAdvisory(ctx, { advisoryId, actor: 'patchdeck' });
    },
  };
}
