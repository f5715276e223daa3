import type { Severity } from './types.js';
import { quietHoursEnd, type QuietHours } from './quiet-hours.js';

/**
 * What a channel wants: when a post may go out (quiet hours) and whether an alert is posted on its own
 * or listed in the daily digest. Pure: takes `now` and the channel's settings.
 */
export interface ChannelPolicy {
  quietHours: QuietHours | null;
  /** "HH:MM" of the daily digest, or null when every alert is posted on its own. */
  digestAt: string | null;
}

/** Severities always posted at once, even in a channel in digest mode. */
export const IMMEDIATE_SEVERITIES: readonly Severity[] = ['critical', 'high'];

/** A post goes out now (`now`), waits until quiet hours end (`delay`), or belongs in the digest (`digest`). */
export type PostTiming = { action: 'now' } | { action: 'delay'; until: Date } | { action: 'digest' };

/**
 * Decides a channel post. `critical` posts (a Critical case, a halted rollout) ignore quiet hours;
 * Medium and Low alerts in a digest channel wait for the digest.
 */
export function decidePostTiming(input: { now: Date; policy: ChannelPolicy; severity: Severity | null; critical: boolean; isAlert: boolean }): PostTiming {
  const { policy, severity } = input;
  if (input.isAlert && policy.digestAt !== null && severity !== null && !IMMEDIATE_SEVERITIES.includes(severity)) return { action: 'digest' };
  if (input.critical || policy.quietHours === null) return { action: 'now' };
  const until = quietHoursEnd(input.now, policy.quietHours);
  return until === null ? { action: 'now' } : { action: 'delay', until };
}

/** Whether a case's SLA reminder or breach notice is due, and which. Reminders come once `fraction` of the window has passed. */
export function slaNoticeDue(input: { now: Date; openedAt: string; dueAt: string; fraction: number }): 'breach' | 'reminder' | null {
  const now = input.now.getTime();
  const due = Date.parse(input.dueAt);
  if (now >= due) return 'breach';
  if (input.fraction <= 0) return null;
  const opened = Date.parse(input.openedAt);
  return now >= opened + (due - opened) * input.fraction ? 'reminder' : null;
}
