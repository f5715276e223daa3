import { formatInZone } from './time.js';
import type { CaseState, RolloutState, Severity, VoteDecision } from './types.js';

/**
 * The post-rollout review: what was patched, when, by whose decision, how each host fared, whether
 * the SLA held, and what to learn. Built from stored facts by the workflow; rendered here.
 */
export interface ReviewPackage {
  ecosystem: string;
  name: string;
  fixed: string | null;
  hosts: number;
}

export interface ReviewDecision {
  person: string;
  name: string;
  decision: VoteDecision;
  via: string;
  at: string;
  comment: string | null;
}

export interface ReviewHostFailure {
  host: string;
  wave: number;
  ring: string;
  state: 'failed' | 'reboot_failed';
  detail: string | null;
}

export interface ReviewOutcomes {
  targets: number;
  installed: number;
  failed: number;
  rebooted: number;
  rebootFailed: number;
  /** Never finished: still queued or running, or left behind by a halt. */
  notFinished: number;
}

export interface ReviewRingOutcome {
  ring: string;
  targets: number;
  failures: number;
}

export interface ReviewSla {
  dueAt: string;
  /** When the rollout started; null when it has not. */
  startedAt: string | null;
  /** true: started by the deadline; false: started late (or not started and overdue); null: not started, not yet due. */
  met: boolean | null;
  /** Deadline minus start (or minus now when not started): positive is time to spare, negative is lateness. */
  marginMs: number;
}

export interface ReviewHalt {
  at: string;
  by: string;
  reason: string;
}

export interface Review {
  caseId: number;
  title: string;
  severity: Severity;
  caseState: CaseState;
  advisory: { id: string; source: string; title: string; url: string | null; cves: string[] };
  packages: ReviewPackage[];
  timeline: {
    openedAt: string;
    decidedAt: string | null;
    rolloutStartedAt: string | null;
    pilotSignedOffAt: string | null;
    rolloutEndedAt: string | null;
  };
  approvals: ReviewDecision[];
  signoffs: ReviewDecision[];
  rollout: { id: number; state: RolloutState; connector: string; startedBy: string; waves: number; haltedReason: string | null } | null;
  outcomes: ReviewOutcomes;
  rings: ReviewRingOutcome[];
  failedHosts: ReviewHostFailure[];
  openExposures: number;
  sla: ReviewSla;
  halts: ReviewHalt[];
  lessons: string[];
  generatedAt: string;
}

export function assessSla(dueAt: string, startedAt: string | null, now: Date): ReviewSla {
  const due = new Date(dueAt).getTime();
  if (startedAt !== null) {
    const margin = due - new Date(startedAt).getTime();
    return { dueAt, startedAt, met: margin >= 0, marginMs: margin };
  }
  const margin = due - now.getTime();
  return { dueAt, startedAt: null, met: margin >= 0 ? null : false, marginMs: margin };
}

/** "2 days 3 hours", "45 minutes": the two largest units, for people. */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
  ];
  const parts: string[] = [];
  let rest = abs;
  for (const [size, name] of units) {
    const n = Math.floor(rest / size);
    if (n > 0 && parts.length < 2) {
      parts.push(`${n} ${name}${n === 1 ? '' : 's'}`);
      rest -= n * size;
    } else if (parts.length > 0) {
      break;
    }
  }
  return parts.length === 0 ? 'less than a minute' : parts.join(' ');
}

export function describeSla(sla: ReviewSla): string {
  if (sla.met === true) return `met: the rollout started ${formatDuration(sla.marginMs)} before the deadline`;
  if (sla.met === null) return `pending: not started yet, due in ${formatDuration(sla.marginMs)}`;
  if (sla.startedAt === null) return `missed: not started, ${formatDuration(sla.marginMs)} past the deadline`;
  return `missed: the rollout started ${formatDuration(sla.marginMs)} after the deadline`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function namesOf(failures: readonly ReviewHostFailure[], limit = 5): string {
  const names = failures.slice(0, limit).map((f) => f.host);
  return failures.length > limit ? `${names.join(', ')} and ${failures.length - limit} more` : names.join(', ');
}

/** Short lessons drawn only from the review's own figures. */
export function deriveLessons(review: Omit<Review, 'lessons'>): string[] {
  const lessons: string[] = [];
  const { outcomes, failedHosts, sla, timeline } = review;

  const rebootFailures = failedHosts.filter((f) => f.state === 'reboot_failed');
  const rebootsTried = outcomes.rebooted + outcomes.rebootFailed;
  if (outcomes.rebootFailed > 0) {
    lessons.push(
      `${outcomes.rebootFailed} of ${plural(rebootsTried, 'reboot')} failed (${namesOf(rebootFailures)}): check that these hosts come back after a reboot (console access, free space on /boot, failed units) before the next kernel or library update.`,
    );
  }

  const installFailures = failedHosts.filter((f) => f.state === 'failed');
  if (outcomes.failed > 0) {
    const byDetail = new Map<string, number>();
    for (const f of installFailures) {
      const key = (f.detail ?? '').trim();
      if (key !== '') byDetail.set(key, (byDetail.get(key) ?? 0) + 1);
    }
    const common = [...byDetail.entries()].sort((a, b) => b[1] - a[1])[0];
    if (common && common[1] >= 2) {
      lessons.push(`${common[1]} of ${outcomes.failed} failed installs ended with the same error ("${common[0].slice(0, 120)}"): fix that cause on the fleet before retrying.`);
    } else {
      lessons.push(`${outcomes.failed} of ${plural(outcomes.targets, 'install')} failed (${namesOf(installFailures)}): see each host's error below.`);
    }
  }

  const pilot = review.rings.find((r) => r.ring === 'pilot');
  const broad = review.rings.find((r) => r.ring === 'broad');
  if (pilot && broad && pilot.targets > 0 && broad.targets > 0) {
    const pilotRate = pilot.failures / pilot.targets;
    const broadRate = broad.failures / broad.targets;
    if (broad.failures > 0 && broadRate > pilotRate) {
      lessons.push(
        `The pilot ring failed on ${pct(pilotRate)} of its hosts but later waves on ${pct(broadRate)}: the pilot did not represent the fleet; add hosts like the failing ones to the pilot group.`,
      );
    }
  }

  for (const halt of review.halts) {
    lessons.push(`The rollout halted (${halt.reason}). Find the cause on the failed hosts before a new rollout; the rest of the fleet is still exposed.`);
  }
  if (outcomes.notFinished > 0 && review.rollout?.state === 'halted') {
    lessons.push(`${plural(outcomes.notFinished, 'host')} never got the patch because the rollout stopped.`);
  }

  if (sla.met === false) {
    const late = formatDuration(sla.marginMs);
    if (timeline.decidedAt !== null) {
      const waited = new Date(timeline.decidedAt).getTime() - new Date(timeline.openedAt).getTime();
      const window = new Date(sla.dueAt).getTime() - new Date(timeline.openedAt).getTime();
      const cause = waited > window
        ? `approval alone took ${formatDuration(waited)}, longer than the whole SLA window: add approvers or page them for this severity`
        : `approval took ${formatDuration(waited)}; the rest of the delay came after approval`;
      lessons.push(`The SLA was missed by ${late}: ${cause}.`);
    } else {
      lessons.push(`The SLA was missed by ${late} while the case waited for a decision.`);
    }
  }

  if (review.rollout?.state === 'completed' && outcomes.failed === 0 && outcomes.rebootFailed === 0 && outcomes.targets > 0) {
    lessons.push(`All ${plural(outcomes.targets, 'host')} were patched without a failed install or reboot.`);
  }
  if (review.rollout?.state === 'completed' && review.openExposures > 0) {
    lessons.push(`${plural(review.openExposures, 'exposure')} ${review.openExposures === 1 ? 'stays' : 'stay'} open after the rollout: plan a follow-up for the failed hosts.`);
  }
  return lessons;
}

function pct(rate: number): string {
  return `${Math.round(rate * 1000) / 10}%`;
}

/** Markdown pipe tables break on `|` and newlines inside cells. */
function cell(text: string | number | null): string {
  if (text === null) return '-';
  return String(text).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function renderReviewMarkdown(review: Review, timezone: string): string {
  const at = (iso: string | null) => (iso === null ? '-' : formatInZone(iso, timezone));
  const lines: string[] = [];
  lines.push(`# Review of case #${review.caseId}: ${review.title}`, '');
  lines.push(`- Severity: ${review.severity}`);
  lines.push(`- State: ${review.caseState.replace(/_/g, ' ')}`);
  lines.push(`- Advisory: ${review.advisory.url ? `[${review.advisory.id}](${review.advisory.url})` : review.advisory.id} (${review.advisory.source})`);
  lines.push(`- CVEs: ${review.advisory.cves.length > 0 ? review.advisory.cves.join(', ') : 'none listed'}`);
  lines.push('');

  lines.push('## What was patched', '');
  if (review.packages.length === 0) {
    lines.push('No packages recorded.');
  } else {
    lines.push('| Ecosystem | Package | Fixed version | Hosts |', '|---|---|---|---|');
    for (const p of review.packages) lines.push(`| ${cell(p.ecosystem)} | ${cell(p.name)} | ${cell(p.fixed ?? 'no fix published')} | ${p.hosts} |`);
  }
  lines.push('');

  lines.push('## When', '');
  lines.push(`- Opened: ${at(review.timeline.openedAt)}`);
  lines.push(`- Decided: ${at(review.timeline.decidedAt)}`);
  lines.push(`- Rollout started: ${at(review.timeline.rolloutStartedAt)}`);
  lines.push(`- Pilot signed off: ${at(review.timeline.pilotSignedOffAt)}`);
  lines.push(`- Rollout ended: ${at(review.timeline.rolloutEndedAt)}`);
  const slaText = review.caseState === 'rejected' && review.rollout === null ? 'not applicable: the change was rejected' : describeSla(review.sla);
  lines.push(`- SLA (due ${at(review.sla.dueAt)}): ${slaText}`);
  lines.push('');

  lines.push('## Who decided', '');
  const decisions = [...review.approvals.map((d) => ['approval', d] as const), ...review.signoffs.map((d) => ['pilot sign-off', d] as const)];
  if (decisions.length === 0) {
    lines.push('Nobody has voted.');
  } else {
    for (const [stage, d] of decisions) {
      lines.push(`- ${stage}: ${d.name} ${d.decision === 'approve' ? 'approved' : 'rejected'} via ${d.via} at ${at(d.at)}${d.comment ? ` — "${d.comment}"` : ''}`);
    }
  }
  lines.push('');

  lines.push('## Outcome per host', '');
  if (review.rollout === null) {
    lines.push('No rollout ran.');
  } else {
    const o = review.outcomes;
    lines.push(`Rollout #${review.rollout.id} through ${review.rollout.connector}, started by ${review.rollout.startedBy}, ${plural(review.rollout.waves, 'wave')}, now ${review.rollout.state.replace(/_/g, ' ')}.`, '');
    lines.push('| Hosts | Installed | Failed | Rebooted | Reboot failed | Not finished |', '|---|---|---|---|---|---|');
    lines.push(`| ${o.targets} | ${o.installed} | ${o.failed} | ${o.rebooted} | ${o.rebootFailed} | ${o.notFinished} |`);
  }
  lines.push('');
  if (review.failedHosts.length > 0) {
    lines.push('### Hosts that failed', '', '| Host | Wave | Step | Detail |', '|---|---|---|---|');
    for (const f of review.failedHosts) lines.push(`| ${cell(f.host)} | ${f.wave} (${f.ring}) | ${f.state === 'failed' ? 'install' : 'reboot'} | ${cell(f.detail)} |`);
    lines.push('');
  }
  if (review.halts.length > 0) {
    lines.push('## Halts', '');
    for (const h of review.halts) lines.push(`- ${at(h.at)} by ${h.by}: ${h.reason}`);
    lines.push('');
  }
  lines.push('## Lessons', '');
  if (review.lessons.length === 0) lines.push('Nothing stood out.');
  for (const lesson of review.lessons) lines.push(`- ${lesson}`);
  lines.push('', `_Generated ${at(review.generatedAt)}._`, '');
  return lines.join('\n');
}
