import type { PersonRecord } from './people.js';
import { describeRelative, formatInZone } from './time.js';
import { TARGET_STATES, type CaseState, type KevFacts, type RolloutState, type Severity, type TargetState, type VoteDecision, type VoteStage } from './types.js';

/**
 * The message model: what an alert, approval request, pilot sign-off, halt notice, rollout progress,
 * review summary (core/review-message.ts) or exemption expiry (core/exemption-notice.ts) says, described once as data. Slack renders it to Block Kit, Teams to an
 * Adaptive Card, the web console to HTML. An action's `value` names the case and the action only;
 * who may do it is decided on the server.
 */
export type MessageKind = 'alert' | 'signoff_request' | 'halt' | 'progress' | 'review_summary' | 'feed_failure' | 'reboot_notice' | 'sla_reminder' | 'sla_breach' | 'digest' | 'withdrawn' | 'exemption_expired';

/** Every kind, so tests can check each one renders on every face. */
export const MESSAGE_KINDS: readonly MessageKind[] = ['alert', 'signoff_request', 'halt', 'progress', 'review_summary', 'feed_failure', 'reboot_notice', 'sla_reminder', 'sla_breach', 'digest', 'withdrawn', 'exemption_expired'];

export const ACTION_IDS = ['approve', 'reject', 'signoff', 'signoff_reject'] as const;
export type ActionId = (typeof ACTION_IDS)[number];

/** The host owner's answers to a reboot notice; values are `reboot:<notice>:now` and `reboot:<notice>:postpone:<n>`. */
export const REBOOT_ACTION_IDS = ['reboot_now', 'reboot_postpone'] as const;
export type RebootActionId = (typeof REBOOT_ACTION_IDS)[number];

/** Defer ("not now") on an approval request; value `case:<id>:defer[:<plan hash>]`. Not a vote: it parks the case. */
export const DEFER_ACTION_ID = 'defer';

/**
 * What a click asks for before it counts: `reason` (a reject says why), `defer` (a reason and the day the
 * case asks again, in the team's time zone). Slack opens a modal, Teams an inline form, the web a form.
 */
export const ACTION_FORMS = ['reason', 'defer'] as const;
export type ActionForm = (typeof ACTION_FORMS)[number];

export interface MessageAction {
  id: ActionId | RebootActionId | typeof DEFER_ACTION_ID;
  label: string;
  style: 'primary' | 'danger' | 'default';
  /** `case:<id>:<action>[:<plan hash>]`; carries no identity. */
  value: string;
  /** Set when the click opens a form first; absent for a plain button. */
  form?: ActionForm;
}

export interface MessageFact {
  label: string;
  value: string;
}

export interface MessageSection {
  heading: string | null;
  lines: string[];
}

export interface ChatMessage {
  kind: MessageKind;
  caseId: number | null;
  title: string;
  severity: Severity | null;
  /** Plain-text fallback for notifications and screen readers. */
  text: string;
  facts: MessageFact[];
  sections: MessageSection[];
  actions: MessageAction[];
  link: { label: string; url: string } | null;
  /** e.g. "Approved by Alice Example · 2026-11-23 12:00 CET": shown once the decision is sealed. */
  footer: string | null;
}

/** Why a case message is sent; one stored chat message per case and purpose. */
export const CASE_MESSAGE_PURPOSES = ['alert', 'signoff', 'halt', 'escalation', 'progress', 'sla_reminder', 'sla_breach', 'withdrawn'] as const;
export type CaseMessagePurpose = (typeof CASE_MESSAGE_PURPOSES)[number];

/**
 * What a case message is built from. The store's `CaseView` has this shape (and more); it is spelled
 * out here because core imports nothing from the layers above it.
 */
export interface CaseMessageView {
  id: number;
  advisoryId: string;
  title: string;
  severity: Severity;
  state: CaseState;
  /** The plan an approval would be bound to (approvals.ts); approval buttons carry it. */
  planHash?: string | null;
  reasons: string[];
  dueAt: string;
  decidedAt: string | null;
  advisory: { cves: string[]; cvssScore: number | null; kev: KevFacts | null };
  affectedHosts: number;
  votes: { stage: VoteStage; person: string; decision: VoteDecision; at: string }[];
  rollout: {
    id: number;
    state: RolloutState;
    connector: string;
    currentWave: number;
    waves: number;
    haltedReason: string | null;
    targets: number;
    byState: Partial<Record<TargetState, number>>;
  } | null;
}

export interface CaseMessageOptions {
  /** Base URL of the web console, without a trailing slash. */
  publicUrl: string;
  /** The team's IANA time zone; every time in a message is shown in it. */
  timezone: string;
  now: Date;
  /** Resolves vote person ids to names; unknown ids are shown as they are. */
  people?: readonly PersonRecord[];
}

/** Action ids and what they vote on; the faces map a click back through this table. */
export const ACTION_VOTES: Record<ActionId, { stage: VoteStage; decision: VoteDecision }> = {
  approve: { stage: 'approval', decision: 'approve' },
  reject: { stage: 'approval', decision: 'reject' },
  signoff: { stage: 'pilot_signoff', decision: 'approve' },
  signoff_reject: { stage: 'pilot_signoff', decision: 'reject' },
};

/**
 * `case:<id>:<action>`, or `case:<id>:<action>:<plan hash>` for an approval button: the hash names
 * the plan the message showed, so a click on a message posted for an older plan can be refused.
 */
export function actionValue(caseId: number, action: ActionId, planHash?: string | null): string {
  return planHash ? `case:${caseId}:${action}:${planHash}` : `case:${caseId}:${action}`;
}

/** Reads an action value back; null for anything Patchdeck would not have written. */
export function parseActionValue(value: string): { caseId: number; action: ActionId; planHash: string | null } | null {
  const match = /^case:([1-9][0-9]{0,14}):([a-z_]+)(?::([0-9a-f]{64}))?$/.exec(value);
  if (!match) return null;
  const action = match[2] as string;
  if (!(ACTION_IDS as readonly string[]).includes(action)) return null;
  return { caseId: Number(match[1]), action: action as ActionId, planHash: match[3] ?? null };
}

/** `case:<id>:defer[:<plan hash>]`: the plan the message showed, like an approval button. */
export function deferActionValue(caseId: number, planHash?: string | null): string {
  return planHash ? `case:${caseId}:${DEFER_ACTION_ID}:${planHash}` : `case:${caseId}:${DEFER_ACTION_ID}`;
}

/** Reads a defer value back; null for anything Patchdeck would not have written. */
export function parseDeferActionValue(value: string): { caseId: number; planHash: string | null } | null {
  const match = /^case:([1-9][0-9]{0,14}):defer(?::([0-9a-f]{64}))?$/.exec(value);
  return match ? { caseId: Number(match[1]), planHash: match[2] ?? null } : null;
}

const VOTES_SO_FAR = 'Votes so far';
const UNDECIDED_CASE_STATES: readonly CaseState[] = ['identified', 'assessed', 'awaiting_approval'];
const MAX_LISTED_CVES = 5;

const ROLLOUT_STATE_LABELS: Record<RolloutState, string> = {
  piloting: 'Piloting',
  awaiting_signoff: 'Awaiting sign-off',
  deploying: 'Deploying',
  completed: 'Completed',
  halted: 'Halted',
};

const TARGET_STATE_LABELS: Record<TargetState, string> = {
  queued: 'Queued',
  dispatched: 'Dispatched',
  installed: 'Installed',
  failed: 'Failed',
  reboot_pending: 'Reboot pending',
  rebooted: 'Rebooted',
  reboot_failed: 'Reboot failed',
  verified: 'Verified',
};

export function describeSeverity(severity: Severity): string {
  return severity.charAt(0).toUpperCase() + severity.slice(1);
}

/** `awaiting_approval` → `Awaiting approval`. */
export function describeState(state: string): string {
  const words = state.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** "Alice", "Alice and Bob", "Alice, Bob and Carol". */
function joinNames(names: string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

function personName(people: readonly PersonRecord[], id: string): string {
  return people.find((p) => p.id === id)?.name ?? id;
}

/** Builds the alert, sign-off request or halt notice of a case, from its current view. */
export function buildCaseMessage(view: CaseMessageView, purpose: CaseMessagePurpose, opts: CaseMessageOptions): ChatMessage {
  switch (purpose) {
    case 'alert':
      return buildAlert(view, opts);
    case 'signoff':
      return buildSignoff(view, opts);
    case 'halt':
      return buildHalt(view, opts);
    case 'escalation':
      return buildEscalation(view, opts);
    case 'progress':
      return buildProgress(view, opts);
    case 'sla_reminder':
    case 'sla_breach':
      return buildSlaNotice(view, purpose, opts);
    case 'withdrawn':
      return buildWithdrawn(view, opts);
  }
}

/**
 * An alert posted for an older plan, once the alert for the new plan is out: no buttons (they would
 * be refused as stale), the votes it listed are void, and it points to the new message.
 */
export function supersededMessage(message: ChatMessage): ChatMessage {
  return {
    ...message,
    title: `Replaced: ${message.title}`,
    text: `Replaced by a newer approval request (the plan changed): ${message.text}`,
    sections: [
      { heading: 'Replaced', lines: ['The plan changed since this message was posted (hosts, packages or fixed versions); use the new message. Votes cast here no longer count.'] },
      ...message.sections.filter((section) => section.heading !== VOTES_SO_FAR),
    ],
    actions: [],
    footer: 'Replaced by a newer approval request',
  };
}

/**
 * Posted in the case's thread when its advisory was withdrawn (OSV `withdrawn`, a rejected CVE): what
 * Patchdeck did about it. The reason line is the first of the case's reasons, written by the withdrawal.
 */
function buildWithdrawn(view: CaseMessageView, opts: CaseMessageOptions): ChatMessage {
  const closed = view.state === 'not_applicable';
  const title = `Advisory withdrawn: ${caseTitle(view)}`;
  const outcome = closed
    ? 'Its exposures were resolved and this case was closed; nothing will be rolled out for it.'
    : `Its exposures were resolved, but the case is ${describeState(view.state).toLowerCase()} and was left as it is: halt the rollout if the patch is no longer wanted.`;
  return {
    kind: 'withdrawn',
    caseId: view.id,
    title,
    severity: null,
    text: `${title}. ${outcome}`,
    facts: [cveFact(view.advisory.cves), { label: 'State', value: describeState(view.state) }],
    sections: [{ heading: 'What happened', lines: [...view.reasons.slice(0, 1), outcome] }],
    actions: [],
    link: { label: 'Open case', url: `${opts.publicUrl}/cases/${view.id}` },
    footer: null,
  };
}

/** The alert again, for the escalation channel, once an approval request has outlived its TTL. */
function buildEscalation(view: CaseMessageView, opts: CaseMessageOptions): ChatMessage {
  const alert = buildAlert(view, opts);
  return {
    ...alert,
    title: `Approval overdue: ${alert.title}`,
    text: `Approval overdue, escalated: ${alert.text}`,
    sections: [{ heading: 'Escalated', lines: ['This approval request passed its time limit without a decision.'] }, ...alert.sections],
  };
}

function caseTitle(view: CaseMessageView): string {
  return `${view.advisoryId}: ${view.title}`;
}

function severityFact(view: CaseMessageView): MessageFact {
  const cvss = view.advisory.cvssScore === null ? '' : ` (CVSS ${view.advisory.cvssScore.toFixed(1)})`;
  return { label: 'Severity', value: `${describeSeverity(view.severity)}${cvss}` };
}

function cveFact(cves: string[]): MessageFact {
  if (cves.length === 0) return { label: 'CVEs', value: 'None assigned' };
  const listed = cves.slice(0, MAX_LISTED_CVES).join(', ');
  const more = cves.length > MAX_LISTED_CVES ? ` and ${cves.length - MAX_LISTED_CVES} more` : '';
  return { label: 'CVEs', value: listed + more };
}

function kevFact(kev: KevFacts | null): MessageFact {
  if (kev === null) return { label: 'Known exploited (KEV)', value: 'No' };
  const ransomware = kev.knownRansomwareCampaignUse ? ', used in ransomware campaigns' : '';
  return { label: 'Known exploited (KEV)', value: `Yes, listed ${kev.dateAdded}${ransomware}` };
}

function dueFact(view: CaseMessageView, opts: CaseMessageOptions): MessageFact {
  return { label: 'SLA due', value: `${formatInZone(view.dueAt, opts.timezone)} (${describeRelative(view.dueAt, opts.now)})` };
}

function withFullStop(sentence: string): string {
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function votesOf(view: CaseMessageView, stage: VoteStage, decision?: VoteDecision) {
  return view.votes.filter((v) => v.stage === stage && (decision === undefined || v.decision === decision));
}

/** "Approved by Alice Example · 2026-11-23 12:00 CET"; names and time are left out when unknown. */
function sealedFooter(outcome: string, voters: string[], at: string | null, opts: CaseMessageOptions): string {
  const names = [...new Set(voters)].map((id) => personName(opts.people ?? [], id));
  const by = names.length > 0 ? ` by ${joinNames(names)}` : '';
  const when = at === null ? '' : ` · ${formatInZone(at, opts.timezone)}`;
  return `${outcome}${by}${when}`;
}

function latestAt(votes: { at: string }[]): string | null {
  return votes.reduce<string | null>((latest, v) => (latest === null || v.at > latest ? v.at : latest), null);
}

/** While a stage is still open, who has already voted and how. */
function pendingVotesSection(view: CaseMessageView, stage: VoteStage, opts: CaseMessageOptions): MessageSection[] {
  const votes = votesOf(view, stage);
  if (votes.length === 0) return [];
  return [
    {
      heading: VOTES_SO_FAR,
      lines: votes.map(
        (v) => `${personName(opts.people ?? [], v.person)} ${v.decision === 'approve' ? 'approved' : 'rejected'} · ${formatInZone(v.at, opts.timezone)}`,
      ),
    },
  ];
}

function alertFooter(view: CaseMessageView, opts: CaseMessageOptions): string | null {
  if (UNDECIDED_CASE_STATES.includes(view.state)) return null;
  switch (view.state) {
    case 'rejected': {
      const voters = votesOf(view, 'approval', 'reject');
      return sealedFooter('Rejected', voters.map((v) => v.person), view.decidedAt ?? latestAt(voters), opts);
    }
    case 'deferred':
      return sealedFooter('Deferred', [], view.decidedAt, opts);
    case 'not_applicable':
      return sealedFooter('Closed as not applicable', [], view.decidedAt, opts);
    case 'mitigated':
      return sealedFooter('Mitigated', [], view.decidedAt, opts);
    default: {
      // Every later state (testing … reviewed) went through approval.
      const voters = votesOf(view, 'approval', 'approve');
      return sealedFooter('Approved', voters.map((v) => v.person), view.decidedAt ?? latestAt(voters), opts);
    }
  }
}

function buildAlert(view: CaseMessageView, opts: CaseMessageOptions): ChatMessage {
  const awaiting = view.state === 'awaiting_approval';
  const footer = alertFooter(view, opts);
  const due = formatInZone(view.dueAt, opts.timezone);
  const status = awaiting ? 'Approval needed' : footer ?? describeState(view.state);
  return {
    kind: 'alert',
    caseId: view.id,
    title: caseTitle(view),
    severity: view.severity,
    text: `${describeSeverity(view.severity)}: ${caseTitle(view)}. ${plural(view.affectedHosts, 'affected host')}, due ${due}. ${status}.`,
    facts: [
      severityFact(view),
      cveFact(view.advisory.cves),
      { label: 'Affected hosts', value: String(view.affectedHosts) },
      dueFact(view, opts),
      kevFact(view.advisory.kev),
      { label: 'State', value: describeState(view.state) },
    ],
    sections: [
      ...(view.reasons.length > 0 ? [{ heading: 'Why this matters', lines: [...view.reasons] }] : []),
      ...(awaiting ? pendingVotesSection(view, 'approval', opts) : []),
    ],
    actions: awaiting
      ? [
          { id: 'approve', label: 'Approve', style: 'primary', value: actionValue(view.id, 'approve', view.planHash) },
          { id: 'reject', label: 'Reject', style: 'danger', value: actionValue(view.id, 'reject', view.planHash), form: 'reason' },
          { id: DEFER_ACTION_ID, label: 'Defer', style: 'default', value: deferActionValue(view.id, view.planHash), form: 'defer' },
        ]
      : [],
    link: { label: 'Open case', url: `${opts.publicUrl}/cases/${view.id}` },
    footer,
  };
}

type RolloutFacts = NonNullable<CaseMessageView['rollout']>;

function targetCountFacts(rollout: RolloutFacts): MessageFact[] {
  return TARGET_STATES.flatMap((state) => {
    const n = rollout.byState[state] ?? 0;
    return n > 0 ? [{ label: TARGET_STATE_LABELS[state], value: String(n) }] : [];
  });
}

function rolloutLink(rollout: RolloutFacts | null, view: CaseMessageView, opts: CaseMessageOptions): ChatMessage['link'] {
  return rollout
    ? { label: 'Open rollout', url: `${opts.publicUrl}/rollouts/${rollout.id}` }
    : { label: 'Open case', url: `${opts.publicUrl}/cases/${view.id}` };
}

function countsText(rollout: RolloutFacts): string {
  const parts = TARGET_STATES.flatMap((state) => {
    const n = rollout.byState[state] ?? 0;
    return n > 0 ? [`${n} ${TARGET_STATE_LABELS[state].toLowerCase()}`] : [];
  });
  return parts.length > 0 ? parts.join(', ') : 'no targets';
}

function signoffFooter(view: CaseMessageView, rollout: RolloutFacts, opts: CaseMessageOptions): string | null {
  if (rollout.state === 'deploying' || rollout.state === 'completed') {
    const voters = votesOf(view, 'pilot_signoff', 'approve');
    return sealedFooter('Signed off', voters.map((v) => v.person), latestAt(voters), opts);
  }
  if (rollout.state === 'halted') {
    const voters = votesOf(view, 'pilot_signoff', 'reject');
    if (voters.length > 0) return sealedFooter('Pilot rejected', voters.map((v) => v.person), latestAt(voters), opts);
    return 'Rollout halted before sign-off';
  }
  return null;
}

function buildSignoff(view: CaseMessageView, opts: CaseMessageOptions): ChatMessage {
  const rollout = view.rollout;
  const title = `Pilot sign-off: ${caseTitle(view)}`;
  if (rollout === null) {
    return {
      kind: 'signoff_request',
      caseId: view.id,
      title,
      severity: view.severity,
      text: `${title}. No rollout has started yet.`,
      facts: [severityFact(view), { label: 'State', value: describeState(view.state) }],
      sections: [{ heading: 'Pilot results', lines: ['No rollout has started for this case yet.'] }],
      actions: [],
      link: rolloutLink(null, view, opts),
      footer: null,
    };
  }
  const awaiting = rollout.state === 'awaiting_signoff';
  const remainingWaves = Math.max(rollout.waves - 1, 0);
  const queued = rollout.byState.queued ?? 0;
  const next = awaiting
    ? [{ heading: 'What happens next', lines: [`Signing off starts the remaining ${plural(remainingWaves, 'wave')} (${plural(queued, 'host')}).`] }]
    : [];
  return {
    kind: 'signoff_request',
    caseId: view.id,
    title,
    severity: view.severity,
    text: `${title}. Pilot results: ${countsText(rollout)}.${awaiting ? ' Sign-off needed.' : ''}`,
    facts: [
      severityFact(view),
      { label: 'Rollout', value: `#${rollout.id} via ${rollout.connector}` },
      { label: 'Rollout state', value: ROLLOUT_STATE_LABELS[rollout.state] },
      { label: 'Targets', value: String(rollout.targets) },
      ...targetCountFacts(rollout),
    ],
    sections: [...next, ...(awaiting ? pendingVotesSection(view, 'pilot_signoff', opts) : [])],
    actions: awaiting
      ? [
          { id: 'signoff', label: 'Sign off', style: 'primary', value: actionValue(view.id, 'signoff') },
          { id: 'signoff_reject', label: 'Reject pilot', style: 'danger', value: actionValue(view.id, 'signoff_reject'), form: 'reason' },
        ]
      : [],
    link: rolloutLink(rollout, view, opts),
    footer: signoffFooter(view, rollout, opts),
  };
}

function buildHalt(view: CaseMessageView, opts: CaseMessageOptions): ChatMessage {
  const rollout = view.rollout;
  const title = `Rollout halted: ${caseTitle(view)}`;
  const reason = rollout?.haltedReason ?? 'No reason was recorded.';
  return {
    kind: 'halt',
    caseId: view.id,
    title,
    severity: view.severity,
    text: `${title}. ${withFullStop(reason)}${rollout ? ` Targets: ${countsText(rollout)}.` : ''}`,
    facts: rollout
      ? [
          severityFact(view),
          { label: 'Rollout', value: `#${rollout.id} via ${rollout.connector}` },
          { label: 'Stopped in wave', value: `${rollout.currentWave + 1} of ${rollout.waves}` },
          { label: 'Targets', value: String(rollout.targets) },
          ...targetCountFacts(rollout),
        ]
      : [severityFact(view), { label: 'State', value: describeState(view.state) }],
    sections: [{ heading: 'Why it stopped', lines: [reason] }],
    actions: [],
    link: rolloutLink(rollout, view, opts),
    footer: null,
  };
}

/** A feed that keeps failing, as the ops notice shows it (the store's feed state plus its config). */
export interface FeedFailureView {
  name: string;
  kind: string;
  /** The feed's URL or file from config; null when it has neither. */
  source: string | null;
  consecutiveFailures: number;
  lastError: string | null;
  lastSuccessAt: string | null;
  /** When polls try again after a backoff; null when the schedule decides. */
  nextAttemptAt: string | null;
}

/** The ops notice for a feed that failed several runs in a row; sent once per run of failures. */
export function buildFeedFailureMessage(feed: FeedFailureView, opts: { publicUrl: string; timezone: string; now: Date }): ChatMessage {
  const title = `Feed ${feed.name} is failing`;
  const lastGood =
    feed.lastSuccessAt === null ? 'never' : `${formatInZone(feed.lastSuccessAt, opts.timezone)} (${describeRelative(feed.lastSuccessAt, opts.now)})`;
  const error = feed.lastError ?? 'No error was recorded.';
  return {
    kind: 'feed_failure',
    caseId: null,
    title,
    severity: null,
    text: `${title}: ${plural(feed.consecutiveFailures, 'failed run')} in a row. Last success: ${lastGood}. ${withFullStop(error)}`,
    facts: [
      { label: 'Kind', value: feed.kind },
      { label: 'Source', value: feed.source ?? 'None configured' },
      { label: 'Failed runs in a row', value: String(feed.consecutiveFailures) },
      { label: 'Last success', value: lastGood },
      ...(feed.nextAttemptAt === null ? [] : [{ label: 'Next attempt', value: formatInZone(feed.nextAttemptAt, opts.timezone) }]),
    ],
    sections: [
      { heading: 'Last error', lines: [error] },
      { heading: 'What to do', lines: [`Check the source, then run \`patchdeck feeds poll --feed ${feed.name}\`; \`patchdeck feeds status\` shows every feed.`] },
    ],
    actions: [],
    link: null,
    footer: 'Reported once; the next good run clears it.',
  };
}

/** Rollout progress: one message per case, rewritten in place as the waves go by. */
function buildProgress(view: CaseMessageView, opts: CaseMessageOptions): ChatMessage {
  const rollout = view.rollout;
  const title = `Rollout progress: ${caseTitle(view)}`;
  if (rollout === null) {
    return {
      kind: 'progress',
      caseId: view.id,
      title,
      severity: view.severity,
      text: `${title}. No rollout has started yet.`,
      facts: [severityFact(view), { label: 'State', value: describeState(view.state) }],
      sections: [],
      actions: [],
      link: rolloutLink(null, view, opts),
      footer: null,
    };
  }
  const finished = rollout.state === 'completed' || rollout.state === 'halted';
  const wave = finished ? null : `${rollout.currentWave + 1} of ${rollout.waves}`;
  return {
    kind: 'progress',
    caseId: view.id,
    title,
    severity: view.severity,
    text: `${title}. ${ROLLOUT_STATE_LABELS[rollout.state]}${wave === null ? '' : `, wave ${wave}`}: ${countsText(rollout)}.`,
    facts: [
      { label: 'Rollout', value: `#${rollout.id} via ${rollout.connector}` },
      { label: 'Rollout state', value: ROLLOUT_STATE_LABELS[rollout.state] },
      ...(wave === null ? [] : [{ label: 'Wave', value: wave }]),
      { label: 'Targets', value: String(rollout.targets) },
      ...targetCountFacts(rollout),
    ],
    sections: rollout.haltedReason === null ? [] : [{ heading: 'Why it stopped', lines: [rollout.haltedReason] }],
    actions: [],
    link: rolloutLink(rollout, view, opts),
    footer: `Updated ${formatInZone(opts.now.toISOString(), opts.timezone)}; this message is kept up to date.`,
  };
}

/** A reminder before the SLA ends, or the notice that it has passed (sent to the escalation target). */
function buildSlaNotice(view: CaseMessageView, purpose: 'sla_reminder' | 'sla_breach', opts: CaseMessageOptions): ChatMessage {
  const breach = purpose === 'sla_breach';
  const due = `${formatInZone(view.dueAt, opts.timezone)} (${describeRelative(view.dueAt, opts.now)})`;
  const title = `${breach ? 'SLA breached' : 'SLA due soon'}: ${caseTitle(view)}`;
  return {
    kind: purpose,
    caseId: view.id,
    title,
    severity: view.severity,
    text: `${title}. Due ${due}; the case is ${describeState(view.state).toLowerCase()}.`,
    facts: [severityFact(view), dueFact(view, opts), { label: 'State', value: describeState(view.state) }, { label: 'Affected hosts', value: String(view.affectedHosts) }],
    sections: [
      {
        heading: breach ? 'Escalated' : 'Reminder',
        lines: [breach ? 'The SLA for this case has passed and the hosts are still exposed.' : 'Most of the SLA window has passed; the case still needs work.'],
      },
    ],
    actions: [],
    link: { label: 'Open case', url: `${opts.publicUrl}/cases/${view.id}` },
    footer: breach ? 'Sent once, when the SLA passed.' : 'Sent once per case.',
  };
}

// ---- End-user reboot notices ----

export function rebootActionValue(noticeId: number, action: 'now'): string;
export function rebootActionValue(noticeId: number, action: 'postpone', postponesSoFar: number): string;
export function rebootActionValue(noticeId: number, action: 'now' | 'postpone', postponesSoFar = 0): string {
  return action === 'now' ? `reboot:${noticeId}:now` : `reboot:${noticeId}:postpone:${postponesSoFar}`;
}

export type RebootActionValue = { noticeId: number; decision: 'reboot_now' } | { noticeId: number; decision: 'postpone'; postponesSoFar: number };

/**
 * Reads a reboot button's value back; null for anything Patchdeck would not have written. The
 * postpone value carries the count it was shown with, so a double click postpones once.
 */
export function parseRebootActionValue(value: string): RebootActionValue | null {
  const match = /^reboot:([1-9][0-9]{0,14}):(now|postpone:(0|[1-9][0-9]{0,2}))$/.exec(value);
  if (!match) return null;
  const noticeId = Number(match[1]);
  return match[2] === 'now' ? { noticeId, decision: 'reboot_now' } : { noticeId, decision: 'postpone', postponesSoFar: Number(match[3]) };
}

/** Which reboot action id a value belongs to (the faces check a click's action id against its value). */
export function rebootActionIdOf(value: RebootActionValue): RebootActionId {
  return value.decision === 'reboot_now' ? 'reboot_now' : 'reboot_postpone';
}

export interface RebootNoticeView {
  id: number;
  caseId: number;
  advisoryId: string;
  caseTitle: string;
  hostName: string;
  ownerName: string;
  state: 'scheduled' | 'rebooting';
  postpones: number;
  postponeLimit: number;
  /** How far one postpone moves the reboot, e.g. "2h". */
  postponeBy: string;
  rebootAt: string;
  deadlineAt: string;
  lastDecision: 'reboot_now' | 'postpone' | 'due' | null;
  decidedByName: string | null;
  decidedAt: string | null;
}

/** Whether the notice still offers "Postpone": postpones left and room before the deadline. */
export function canPostpone(view: Pick<RebootNoticeView, 'state' | 'postpones' | 'postponeLimit' | 'rebootAt' | 'deadlineAt'>): boolean {
  return view.state === 'scheduled' && view.postpones < view.postponeLimit && view.rebootAt < view.deadlineAt;
}

function rebootFooter(view: RebootNoticeView, opts: { timezone: string }): string | null {
  const when = view.decidedAt === null ? '' : ` · ${formatInZone(view.decidedAt, opts.timezone)}`;
  switch (view.lastDecision) {
    case 'reboot_now':
      return `Reboot now chosen by ${view.decidedByName ?? 'the owner'}${when}`;
    case 'postpone':
      return `Postponed by ${view.decidedByName ?? 'the owner'} (${view.postpones} of ${view.postponeLimit})${when}`;
    case 'due':
      return `Rebooting: the scheduled time came${when}`;
    default:
      return null;
  }
}

/** The direct message to a host's owner before a rollout reboots the host. */
export function buildRebootNoticeMessage(view: RebootNoticeView, opts: { publicUrl: string; timezone: string; now: Date }): ChatMessage {
  const at = `${formatInZone(view.rebootAt, opts.timezone)} (${describeRelative(view.rebootAt, opts.now)})`;
  const deadline = formatInZone(view.deadlineAt, opts.timezone);
  const title = `Reboot of ${view.hostName} for ${view.advisoryId}`;
  const scheduled = view.state === 'scheduled';
  const postponable = canPostpone(view);
  const left = Math.max(view.postponeLimit - view.postpones, 0);
  const lines = scheduled
    ? [
        `${view.hostName} was patched for ${view.advisoryId} (${view.caseTitle}) and must restart to finish.`,
        `It restarts by itself at ${at} unless you choose "Reboot now".`,
        postponable
          ? `"Postpone" moves it by ${view.postponeBy}; you can postpone ${plural(left, 'more time')}, and never past ${deadline}.`
          : `It cannot be postponed any further (the limit or the ${deadline} deadline is reached).`,
        'Save your work before the restart.',
      ]
    : [`${view.hostName} is restarting now to finish the patch for ${view.advisoryId}.`];
  return {
    kind: 'reboot_notice',
    caseId: view.caseId,
    title,
    severity: null,
    text: scheduled ? `${title}: restarts at ${at}. Reboot now or postpone.` : `${title}: restarting now.`,
    facts: [
      { label: 'Host', value: view.hostName },
      { label: 'Owner', value: view.ownerName },
      { label: 'Reboot at', value: scheduled ? at : 'Now' },
      { label: 'Deadline', value: deadline },
      { label: 'Postponed', value: `${view.postpones} of ${view.postponeLimit}` },
    ],
    sections: [{ heading: scheduled ? 'What happens' : 'Restarting', lines }],
    actions: scheduled
      ? [
          { id: 'reboot_now', label: 'Reboot now', style: 'primary', value: rebootActionValue(view.id, 'now') },
          ...(postponable ? [{ id: 'reboot_postpone' as const, label: `Postpone ${view.postponeBy}`, style: 'default' as const, value: rebootActionValue(view.id, 'postpone', view.postpones) }] : []),
        ]
      : [],
    link: { label: 'Open case', url: `${opts.publicUrl}/cases/${view.caseId}` },
    footer: rebootFooter(view, opts),
  };
}

// ---- Daily digest ----

export interface DigestItem {
  caseId: number;
  advisoryId: string;
  title: string;
  severity: Severity;
  affectedHosts: number;
  dueAt: string;
}

/** One message a day for a channel in digest mode: every Medium/Low case since the last one, with links. */
export function buildDigestMessage(channel: string, items: readonly DigestItem[], opts: { publicUrl: string; timezone: string; now: Date }): ChatMessage {
  const title = `Daily patch digest for ${channel}: ${plural(items.length, 'case')}`;
  const line = (i: DigestItem) =>
    `${describeSeverity(i.severity)} · ${i.advisoryId}: ${i.title} · ${plural(i.affectedHosts, 'host')} · due ${formatInZone(i.dueAt, opts.timezone)} · ${opts.publicUrl}/cases/${i.caseId}`;
  return {
    kind: 'digest',
    caseId: null,
    title,
    severity: null,
    text: `${title}. ${items.map((i) => i.advisoryId).join(', ')}.`,
    facts: (['medium', 'low'] as const).flatMap((sev) => {
      const n = items.filter((i) => i.severity === sev).length;
      return n > 0 ? [{ label: describeSeverity(sev), value: String(n) }] : [];
    }),
    sections: [{ heading: 'Cases', lines: items.map(line) }],
    actions: [],
    link: { label: 'Open the dashboard', url: `${opts.publicUrl}/` },
    footer: `Critical and High cases are always posted at once. Digest of ${formatInZone(opts.now.toISOString(), opts.timezone)}.`,
  };
}
