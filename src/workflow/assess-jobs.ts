import { z } from 'zod';
import { PatchdeckError } from '../core/errors.js';
import type { Executor } from '../store/db.js';
import { fromJson, toJson } from '../store/json.js';
import { enqueueJob } from '../store/jobs.js';
import { assessAll } from './assess.js';
import type { WorkflowContext } from './context.js';
import { JOB_KINDS, type JobHandlers } from './jobs.js';

/** Who assessments run by the job are audited as. */
export const ASSESS_ACTOR = 'patchdeck';

/**
 * More ids than this of one kind in a job and it assesses everything instead: a full run costs about
 * as much as a scope that large, and the payload stays small.
 */
export const ASSESS_SCOPE_LIMIT = 5000;

/** A job that finds another assessment running is handed on to a pending job due this much later. */
export const ASSESS_DEFER_MS = 10_000;

export const AssessJobPayloadSchema = z
  .object({
    advisoryIds: z.array(z.string().min(1)).optional(),
    hostIds: z.array(z.number().int().positive()).optional(),
    full: z.boolean().optional(),
  })
  .strict()
  .refine((p) => p.full === true || p.advisoryIds !== undefined || p.hostIds !== undefined, { message: 'needs full: true, advisoryIds or hostIds' });

export type AssessJobPayload = z.infer<typeof AssessJobPayloadSchema>;

/** What a change asks to be assessed: ids of new or changed advisories and hosts, or everything. */
export interface AssessRequest {
  advisoryIds?: Iterable<string>;
  hostIds?: Iterable<number>;
  full?: boolean;
}

/** Union of two scopes; a full one, or one grown past ASSESS_SCOPE_LIMIT, is full. */
export function mergeAssessPayloads(a: AssessJobPayload, b: AssessJobPayload): AssessJobPayload {
  if (a.full === true || b.full === true) return { full: true };
  const advisoryIds = [...new Set([...(a.advisoryIds ?? []), ...(b.advisoryIds ?? [])])].sort();
  const hostIds = [...new Set([...(a.hostIds ?? []), ...(b.hostIds ?? [])])].sort((x, y) => x - y);
  if (advisoryIds.length > ASSESS_SCOPE_LIMIT || hostIds.length > ASSESS_SCOPE_LIMIT) return { full: true };
  return { ...(advisoryIds.length > 0 ? { advisoryIds } : {}), ...(hostIds.length > 0 ? { hostIds } : {}) };
}

/**
 * Asks for an assessment inside the caller's transaction, so it commits with the change that causes
 * it. Ids are merged into the assess job still waiting to be claimed, if there is one, so a burst of
 * feed runs leaves one job; a job already running read its payload when claimed, so ids arriving
 * then go to a new job and are not lost. Nothing is enqueued for an empty request.
 */
export async function requestAssess(trx: Executor, ctx: WorkflowContext, request: AssessRequest, runAt?: Date): Promise<'none' | 'merged' | 'queued'> {
  const wanted = mergeAssessPayloads(
    request.full === true ? { full: true } : { advisoryIds: [...(request.advisoryIds ?? [])], hostIds: [...(request.hostIds ?? [])] },
    {},
  );
  if (wanted.full !== true && wanted.advisoryIds === undefined && wanted.hostIds === undefined) return 'none';
  const now = ctx.clock.now();
  // Never claimed yet (attempts 0): a job retrying after a failure keeps its own payload and backoff.
  let pick = trx
    .selectFrom('jobs')
    .select(['id', 'payload'])
    .where('kind', '=', JOB_KINDS.assess)
    .where('state', '=', 'queued')
    .where('attempts', '=', 0)
    .orderBy('id', 'asc')
    .limit(1);
  // Locked until commit: a worker's claim (SKIP LOCKED) passes it by, and a second producer waits and
  // then reads the merged payload, or finds the job claimed and enqueues a new one.
  if (ctx.store.dialect === 'postgres') pick = pick.forUpdate();
  const pending = await pick.executeTakeFirst();
  const stored = pending === undefined ? null : AssessJobPayloadSchema.safeParse(fromJson<unknown>(pending.payload, null));
  if (pending !== undefined && stored?.success === true) {
    const merged = mergeAssessPayloads(stored.data, wanted);
    const updated = await trx
      .updateTable('jobs')
      .set({ payload: toJson(merged), updated_at: now.toISOString() })
      .where('id', '=', pending.id)
      .where('state', '=', 'queued')
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 1) return 'merged';
  }
  await enqueueJob(trx, { kind: JOB_KINDS.assess, payload: wanted as Record<string, unknown>, runAt: runAt ?? now }, now);
  return 'queued';
}

/** Parses an assess job's payload, naming the field at fault. */
export function parseAssessPayload(jobId: number, payload: unknown): AssessJobPayload {
  const parsed = AssessJobPayloadSchema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue === undefined || issue.path.length === 0 ? 'payload' : `payload field "${issue.path.map(String).join('.')}"`;
  throw new PatchdeckError(
    'PD_JOB_PAYLOAD',
    `${JOB_KINDS.assess} job ${jobId}: ${field}: ${issue?.message ?? 'does not match'}; expected { advisoryIds?: string[], hostIds?: number[], full?: boolean }`,
  );
}

/**
 * Handler of `assess` jobs: `{ full: true }` assesses everything, otherwise the advisories and the
 * hosts listed, each as its own scoped run (a scope with both would mean only those advisories on
 * those hosts). Two assessments at once would race to insert the same exposures and cases, so a job
 * that finds another assess job running (with a live lease) hands its scope on to a pending job due
 * ASSESS_DEFER_MS later and finishes.
 */
export function createAssessJobHandlers(): JobHandlers {
  return {
    [JOB_KINDS.assess]: async (ctx, job) => {
      const payload = parseAssessPayload(job.id, job.payload);
      const now = ctx.clock.now();
      const running = await ctx.store.db
        .selectFrom('jobs')
        .select('id')
        .where('kind', '=', JOB_KINDS.assess)
        .where('state', '=', 'running')
        .where('lease_until', '>', now.toISOString())
        .where('id', '!=', job.id)
        .limit(1)
        .executeTakeFirst();
      if (running !== undefined) {
        const outcome = await ctx.store.transaction((trx) => requestAssess(trx, ctx, payload, new Date(now.getTime() + ASSESS_DEFER_MS)));
        ctx.logger.info({ job: job.id, running: Number(running.id), outcome }, 'another assessment is running; scope handed on');
        return;
      }
      if (payload.full === true) {
        await assessAll(ctx, { actor: ASSESS_ACTOR });
        return;
      }
      if (payload.advisoryIds !== undefined && payload.advisoryIds.length > 0) await assessAll(ctx, { actor: ASSESS_ACTOR, advisoryIds: payload.advisoryIds });
      if (payload.hostIds !== undefined && payload.hostIds.length > 0) await assessAll(ctx, { actor: ASSESS_ACTOR, hostIds: payload.hostIds });
    },
  };
}
