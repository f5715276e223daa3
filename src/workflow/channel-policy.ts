import type { Config } from '../config/schema.js';
import { decidePostTiming, type ChannelPolicy } from '../core/notification-policy.js';
import type { Severity } from '../core/types.js';
import { recordChange, type WorkflowContext } from './context.js';
import { JOB_KINDS } from './jobs.js';

/** `#Patching`, `patching` and ` Patching ` name the same channel. */
function sameChannel(a: string, b: string): boolean {
  const norm = (name: string) => name.trim().replace(/^#/, '').toLowerCase();
  return norm(a) === norm(b);
}

/** The channel's settings from `routing.channels`, if it has any. */
export function channelSettings(config: Config, channel: string) {
  return Object.entries(config.routing.channels).find(([name]) => sameChannel(name, channel))?.[1] ?? null;
}

/** The channel's own time zone: its `timezone`, else its quiet hours', else the team's. */
export function channelTimeZone(config: Config, channel: string): string {
  const settings = channelSettings(config, channel);
  return settings?.timezone ?? settings?.quietHours?.timezone ?? config.timezone;
}

export function channelPolicy(config: Config, channel: string): ChannelPolicy {
  const settings = channelSettings(config, channel);
  const timeZone = channelTimeZone(config, channel);
  return {
    quietHours: settings?.quietHours ? { start: settings.quietHours.start, end: settings.quietHours.end, timeZone: settings.quietHours.timezone ?? timeZone } : null,
    digestAt: settings?.digest?.at ?? null,
  };
}

/**
 * Called by `chat.post` before it posts a case message to `target`: a Medium/Low alert for a channel
 * in digest mode is left for the daily digest, and a non-critical post during the channel's quiet
 * hours is enqueued again for when they end (audited). Answers true when the post must not go out now.
 */
export async function holdForChannel(
  ctx: WorkflowContext,
  post: { caseId: number; purpose: string; target: string; severity: Severity; payload: Record<string, unknown> },
): Promise<boolean> {
  const now = ctx.clock.now();
  const timing = decidePostTiming({
    now,
    policy: channelPolicy(ctx.config, post.target),
    severity: post.severity,
    // A Critical case and a halted rollout are never held back.
    critical: post.severity === 'critical' || post.purpose === 'halt',
    isAlert: post.purpose === 'alert',
  });
  if (timing.action === 'now') return false;
  if (timing.action === 'digest') {
    ctx.logger.info({ caseId: post.caseId, channel: post.target }, 'alert left for the channel\'s daily digest');
    return true;
  }
  const until = timing.until.toISOString();
  await ctx.store.transaction((trx) =>
    recordChange(trx, ctx, {
      audit: [{ actor: 'patchdeck', action: 'chat.delayed', subjectType: 'case', subjectId: post.caseId, after: { purpose: post.purpose, channel: post.target, until, reason: 'quiet_hours' } }],
      jobs: [{ kind: JOB_KINDS.chatPost, payload: post.payload, runAt: timing.until, uniqueKey: `case:${post.caseId}:${post.purpose}:after-quiet:${until}` }],
    }),
  );
  return true;
}
