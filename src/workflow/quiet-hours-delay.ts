import { decidePostTiming } from '../core/notification-policy.js';
import type { Severity } from '../core/types.js';
import { channelPolicy } from './channel-policy.js';
import { recordChange, type WorkflowContext } from './context.js';

/**
 * Quiet hours for channel notices that are not `chat.post` case messages (an exemption's end, a
 * review summary): while `channel` is in its quiet hours, answers the time they end, else null.
 * Critical cases go through. Digest mode is for alerts only, so it never holds these.
 */
export function quietUntil(ctx: WorkflowContext, channel: string, severity: Severity | null): Date | null {
  const timing = decidePostTiming({ now: ctx.clock.now(), policy: channelPolicy(ctx.config, channel), severity, critical: severity === 'critical', isAlert: false });
  return timing.action === 'delay' ? timing.until : null;
}

/**
 * Enqueues the same job again for when quiet hours end, audited `chat.delayed` like held case posts.
 * The key names the time, so a job run twice in the same quiet hours enqueues one re-run.
 */
export async function requeueAfterQuietHours(
  ctx: WorkflowContext,
  job: { kind: string; payload: Record<string, unknown>; key: string },
  held: { until: Date; channels: string[]; subjectType: string; subjectId: number; purpose: string },
): Promise<void> {
  const until = held.until.toISOString();
  await ctx.store.transaction((trx) =>
    recordChange(trx, ctx, {
      audit: [{ actor: 'patchdeck', action: 'chat.delayed', subjectType: held.subjectType, subjectId: held.subjectId, after: { purpose: held.purpose, channels: held.channels, until, reason: 'quiet_hours' } }],
      jobs: [{ kind: job.kind, payload: job.payload, runAt: held.until, uniqueKey: `${job.key}:after-quiet:${until}` }],
    }),
  );
}
