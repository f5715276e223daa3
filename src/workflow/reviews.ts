import { z } from 'zod';
import { assessSla, deriveLessons, type Review, type ReviewDecision, type ReviewHalt, type ReviewHostFailure, type ReviewRingOutcome } from '../core/review.js';
import { buildReviewSummaryMessage } from '../core/review-message.js';
import { PatchdeckError } from '../core/errors.js';
import { findPersonById } from '../core/people.js';
import type { CaseState, RolloutState, Severity, TargetState, VoteDecision } from '../core/types.js';
import { listAudit } from '../store/audit.js';
import { fromJson, toJson } from '../store/json.js';
import { recordChange, type WorkflowContext } from './context.js';
import { JOB_KINDS, type JobHandlers } from './jobs.js';
import { alertTs, type Notifier } from './notifications.js';
import { quietUntil, requeueAfterQuietHours } from './quiet-hours-delay.js';

const UNFINISHED: readonly TargetState[] = ['queued', 'dispatched', 'reboot_pending'];

/** Gathers the review of one case from the stored case, votes, rollout, targets and audit trail. Read-only. */
export async function buildReview(ctx: WorkflowContext, caseId: number): Promise<Review> {
  const db = ctx.store.db;
  const row = await db.selectFrom('cases').selectAll().where('id', '=', caseId).executeTakeFirst();
  if (!row) throw new PatchdeckError('PD_CASE_NOT_FOUND', `there is no case ${caseId}; list cases with "patchdeck cases list"`, { status: 404 });
  const advisory = await db.selectFrom('advisories').selectAll().where('id', '=', row.advisory_id).executeTakeFirstOrThrow();

  const packageRows = await db
    .selectFrom('exposures')
    .select(['ecosystem', 'package', 'fixed', (eb) => eb.fn.count('host_id').distinct().as('hosts')])
    .where('case_id', '=', caseId)
    .groupBy(['ecosystem', 'package', 'fixed'])
    .orderBy('ecosystem', 'asc')
    .orderBy('package', 'asc')
    .execute();
  const open = await db
    .selectFrom('exposures')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('case_id', '=', caseId)
    .where('status', '=', 'open')
    .executeTakeFirstOrThrow();

  const votes = await db.selectFrom('votes').selectAll().where('case_id', '=', caseId).orderBy('at', 'asc').orderBy('id', 'asc').execute();
  const decision = (v: (typeof votes)[number]): ReviewDecision => ({
    person: v.person,
    name: findPersonById(ctx.config.people, v.person)?.name ?? v.person,
    decision: v.decision as VoteDecision,
    via: v.via,
    at: v.at,
    comment: v.comment,
  });
  const approvals = votes.filter((v) => v.stage === 'approval').map(decision);
  const signoffs = votes.filter((v) => v.stage === 'pilot_signoff').map(decision);

  const rollout = await db.selectFrom('rollouts').selectAll().where('case_id', '=', caseId).orderBy('id', 'desc').limit(1).executeTakeFirst();
  const targets = rollout
    ? await db.selectFrom('rollout_targets').selectAll().where('rollout_id', '=', rollout.id).orderBy('wave', 'asc').orderBy('host_name', 'asc').execute()
    : [];
  const count = (state: TargetState) => targets.filter((t) => t.state === state).length;
  const failedHosts: ReviewHostFailure[] = targets
    .filter((t) => t.state === 'failed' || t.state === 'reboot_failed')
    .map((t) => ({ host: t.host_name, wave: Number(t.wave), ring: t.ring, state: t.state as 'failed' | 'reboot_failed', detail: t.detail }));
  const rings: ReviewRingOutcome[] = [];
  for (const ring of ['pilot', 'broad']) {
    const inRing = targets.filter((t) => t.ring === ring);
    if (inRing.length > 0) rings.push({ ring, targets: inRing.length, failures: inRing.filter((t) => t.state === 'failed' || t.state === 'reboot_failed').length });
  }

  const halts: ReviewHalt[] = [];
  let pilotSignedOffAt: string | null = null;
  if (rollout) {
    for (const event of await listAudit(db, { subjectType: 'rollout', subjectId: Number(rollout.id) })) {
      const after = (event.after ?? {}) as { state?: string; reason?: string; haltedReason?: string; halted_reason?: string };
      if (event.action !== 'rollout.state_changed') continue;
      if (after.state === 'halted') halts.push({ at: event.at, by: event.actor, reason: after.reason ?? after.haltedReason ?? after.halted_reason ?? rollout.halted_reason ?? 'no reason recorded' });
      if (after.state === 'deploying' && pilotSignedOffAt === null) pilotSignedOffAt = event.at;
    }
    if (halts.length === 0 && rollout.state === 'halted') halts.push({ at: rollout.updated_at, by: 'patchdeck', reason: rollout.halted_reason ?? 'no reason recorded' });
  }
  const rolloutEndedAt = rollout ? (rollout.completed_at ?? (rollout.state === 'halted' ? (halts.at(-1)?.at ?? rollout.updated_at) : null)) : null;

  const base: Omit<Review, 'lessons'> = {
    caseId,
    title: row.title,
    severity: row.severity as Severity,
    caseState: row.state as CaseState,
    advisory: { id: advisory.id, source: advisory.source, title: advisory.title, url: advisory.url, cves: fromJson<string[]>(advisory.cves, []) },
    packages: packageRows.map((p) => ({ ecosystem: p.ecosystem, name: p.package, fixed: p.fixed, hosts: Number(p.hosts) })),
    timeline: {
      openedAt: row.created_at,
      decidedAt: row.decided_at,
      rolloutStartedAt: rollout?.created_at ?? null,
      pilotSignedOffAt,
      rolloutEndedAt,
    },
    approvals,
    signoffs,
    rollout: rollout
      ? {
          id: Number(rollout.id),
          state: rollout.state as RolloutState,
          connector: rollout.connector,
          startedBy: findPersonById(ctx.config.people, rollout.started_by)?.name ?? rollout.started_by,
          waves: new Set(targets.map((t) => Number(t.wave))).size,
          haltedReason: rollout.halted_reason,
        }
      : null,
    outcomes: {
      targets: targets.length,
      installed: count('installed') + count('verified'),
      failed: count('failed'),
      rebooted: count('rebooted'),
      rebootFailed: count('reboot_failed'),
      notFinished: targets.filter((t) => UNFINISHED.includes(t.state as TargetState)).length,
    },
    rings,
    failedHosts,
    openExposures: Number(open.n),
    sla: assessSla(row.due_at, rollout?.created_at ?? null, ctx.clock.now()),
    halts,
    generatedAt: ctx.clock.now().toISOString(),
  };
  return { ...base, lessons: deriveLessons(base) };
}

// ---- The review summary in chat ----

const ReviewPostPayload = z.object({ caseId: z.number().int().positive(), rolloutId: z.number().int().positive() }).passthrough();

/** Stored chat messages of a rollout's review summary: the case thread's copy and the managers' channel's. */
export function reviewSummaryPurpose(rolloutId: number, where: 'thread' | 'managers'): string {
  return where === 'thread' ? `review_summary:${rolloutId}` : `review_summary:${rolloutId}:managers`;
}

/**
 * `review.post`, enqueued when a rollout completes: the review summary goes into the case's thread
 * (a reply under its latest alert where the platform has threads) and, when `routing.reviewChannel` is
 * set, to the managers' channel. One stored message per place and platform, so a job run twice, or
 * retried after one platform failed, posts each copy once.
 */
export function createReviewJobHandlers(deps: { notifiers: readonly Notifier[] }): JobHandlers {
  return {
    [JOB_KINDS.reviewPost]: async (ctx, job) => {
      const parsed = ReviewPostPayload.safeParse(job.payload);
      if (!parsed.success) throw new PatchdeckError('PD_JOB_PAYLOAD', `${job.kind} job payload needs a caseId and a rolloutId`);
      const { caseId, rolloutId } = parsed.data;
      const caseRow = await ctx.store.db.selectFrom('cases').select(['channel', 'severity']).where('id', '=', caseId).executeTakeFirst();
      if (!caseRow) {
        ctx.logger.warn({ caseId }, 'review.post: the case no longer exists; nothing to post');
        return;
      }
      const places = [
        { purpose: reviewSummaryPurpose(rolloutId, 'thread'), channel: caseRow.channel ?? ctx.config.routing.defaultChannel, threaded: true },
        ...(ctx.config.routing.reviewChannel === undefined ? [] : [{ purpose: reviewSummaryPurpose(rolloutId, 'managers'), channel: ctx.config.routing.reviewChannel, threaded: false }]),
      ];
      const stored = await ctx.store.db
        .selectFrom('chat_messages')
        .select(['purpose', 'platform'])
        .where('case_id', '=', caseId)
        .where('purpose', 'in', places.map((p) => p.purpose))
        .execute();
      const unsent = places.flatMap((place) => deps.notifiers.filter((n) => !stored.some((r) => r.purpose === place.purpose && r.platform === n.platform)).map((notifier) => ({ place, notifier })));
      if (unsent.length === 0) return;
      // A channel in its quiet hours gets its copy when they end; the others get theirs now.
      const quiet = new Map(places.map((place) => [place.channel, quietUntil(ctx, place.channel, caseRow.severity as Severity)]));
      const pending = unsent.filter(({ place }) => quiet.get(place.channel) === null);
      const held = unsent.filter(({ place }) => quiet.get(place.channel) !== null);
      if (held.length > 0) {
        const until = new Date(Math.min(...held.map(({ place }) => quiet.get(place.channel)!.getTime())));
        const channels = [...new Set(held.map(({ place }) => place.channel))];
        await requeueAfterQuietHours(ctx, { kind: job.kind, payload: job.payload, key: `rollout:${rolloutId}:review_summary` }, { until, channels, subjectType: 'case', subjectId: caseId, purpose: 'review_summary' });
      }
      if (pending.length === 0) return;
      const message = buildReviewSummaryMessage(await buildReview(ctx, caseId), {
        publicUrl: ctx.config.publicUrl.replace(/\/+$/, ''),
        timezone: ctx.config.timezone,
        now: ctx.clock.now(),
      });
      const failures: string[] = [];
      for (const { place, notifier } of pending) {
        try {
          const thread = place.threaded ? await alertTs(ctx, caseId, notifier.platform) : null;
          const sent = await notifier.post(place.channel, message, thread === null ? undefined : { threadTs: thread });
          const at = ctx.clock.now().toISOString();
          await ctx.store.transaction(async (trx) => {
            await trx
              .insertInto('chat_messages')
              .values({ case_id: caseId, purpose: place.purpose, platform: notifier.platform, channel: sent.channel, ts: sent.ts, payload: toJson(message), created_at: at, updated_at: at })
              .execute();
            await recordChange(trx, ctx, {
              audit: [
                {
                  actor: 'patchdeck',
                  action: 'chat.posted',
                  subjectType: 'case',
                  subjectId: caseId,
                  after: { purpose: 'review_summary', rolloutId, platform: notifier.platform, channel: sent.channel, ts: sent.ts, ...(thread === null ? {} : { threadTs: thread }) },
                },
              ],
            });
          });
        } catch (error) {
          failures.push(`${notifier.platform} ${place.channel}: ${(error as Error).message}`);
        }
      }
      // The retry posts only the copies still missing.
      if (failures.length > 0) throw new Error(failures.join('; '));
    },
  };
}
