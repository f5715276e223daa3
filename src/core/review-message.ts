import type { ChatMessage } from './messages.js';
import { describeSla, type Review } from './review.js';
import { formatInZone } from './time.js';

/**
 * The post-implementation review as a chat message, for the case thread and the managers' channel:
 * SLA met or missed, what happened to the hosts, which failed, and the lessons, with a link to the
 * full review page. Built from the same `Review` the CLI and the page show.
 */

/** Failures listed one by one; the rest are counted (the page lists them all). */
export const MAX_LISTED_FAILURES = 10;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `met: the rollout started …` → `Met: the rollout started …`. */
function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function slaLabel(review: Review): string {
  if (review.sla.met === true) return 'Met';
  if (review.sla.met === false) return 'Missed';
  return 'Pending';
}

export function buildReviewSummaryMessage(review: Review, opts: { publicUrl: string; timezone: string; now: Date }): ChatMessage {
  const o = review.outcomes;
  const rollout = review.rollout;
  const title = `Review: ${review.advisory.id}: ${review.title}`;
  const counts = `${o.installed} installed, ${o.failed} failed, ${o.rebooted} rebooted, ${o.rebootFailed} reboot failed`;
  const ended = review.timeline.rolloutEndedAt;
  const failures = review.failedHosts.slice(0, MAX_LISTED_FAILURES).map((f) => {
    const step = f.state === 'failed' ? 'install failed' : 'reboot failed';
    return `${f.host} · wave ${f.wave} (${f.ring}) · ${step}${f.detail ? `: ${f.detail}` : ''}`;
  });
  const moreFailures = review.failedHosts.length - failures.length;
  return {
    kind: 'review_summary',
    caseId: review.caseId,
    title,
    severity: review.severity,
    text: `${title}. ${rollout === null ? 'No rollout ran' : `Rollout #${rollout.id} ${rollout.state.replace(/_/g, ' ')}`}: ${plural(o.targets, 'host')}, ${counts}. SLA ${slaLabel(review).toLowerCase()}.`,
    facts: [
      { label: 'SLA', value: `${capitalize(describeSla(review.sla))} (due ${formatInZone(review.sla.dueAt, opts.timezone)})` },
      ...(rollout === null ? [] : [{ label: 'Rollout', value: `#${rollout.id} via ${rollout.connector}, ${plural(rollout.waves, 'wave')}, started by ${rollout.startedBy}` }]),
      { label: 'Hosts', value: String(o.targets) },
      { label: 'Installed', value: String(o.installed) },
      { label: 'Failed', value: String(o.failed) },
      { label: 'Rebooted', value: String(o.rebooted) },
      { label: 'Reboot failed', value: String(o.rebootFailed) },
      ...(o.notFinished > 0 ? [{ label: 'Not finished', value: String(o.notFinished) }] : []),
      ...(review.openExposures > 0 ? [{ label: 'Exposures still open', value: String(review.openExposures) }] : []),
    ],
    sections: [
      ...(failures.length === 0 ? [] : [{ heading: 'Failures', lines: [...failures, ...(moreFailures > 0 ? [`and ${moreFailures} more on the review page`] : [])] }]),
      { heading: 'Lessons', lines: review.lessons.length === 0 ? ['Nothing stood out.'] : review.lessons },
    ],
    actions: [],
    link: { label: 'Open the review', url: `${opts.publicUrl}/cases/${review.caseId}/review` },
    footer: ended === null ? null : `Rollout ended ${formatInZone(ended, opts.timezone)}`,
  };
}
