import type { types } from '@slack/bolt';
import { actionValue, buildCaseMessage, describeSeverity, describeState, type CaseMessageView } from '../../core/messages.js';
import type { PersonRecord } from '../../core/people.js';
import { describeRelative, formatInZone } from '../../core/time.js';
import { SEVERITIES, TARGET_STATES, type CaseState, type RolloutState, type Severity, type TargetState } from '../../core/types.js';
import type { HostReboot, OpenDecision, StartedRollout } from '../../store/queries/my-work.js';
import { BLOCK_KIT_LIMITS, escapeMrkdwn, renderSlackMessage, truncateText } from './render.js';

/**
 * Pure Block Kit builders for what /patchdeck answers and what the App Home tab shows. They take data
 * and `now`, and read nothing, so each reply is tested as data; commands.ts and home.ts load and send.
 */

type KnownBlock = types.KnownBlock;

export interface SlackReply {
  /** Fallback text for notifications. */
  text: string;
  blocks: KnownBlock[];
}

export interface ReplyOptions {
  /** Base URL of the web console, without a trailing slash. */
  publicUrl: string;
  timezone: string;
  now: Date;
  people: readonly PersonRecord[];
}

/** What waits for one person; loaded by my-work.ts. */
export interface MyWork {
  person: PersonRecord | null;
  approvals: OpenDecision[];
  signoffs: OpenDecision[];
  rollouts: StartedRollout[];
  reboots: HostReboot[];
}

/** The same split as the web dashboard: these states need nobody's attention any more. */
const CLOSED_CASE_STATES: ReadonlySet<CaseState> = new Set(['completed', 'reviewed', 'rejected', 'not_applicable', 'mitigated']);

const SEVERITY_EMOJI: Record<Severity, string> = {
  critical: ':red_circle:',
  high: ':large_orange_circle:',
  medium: ':large_yellow_circle:',
  low: ':large_green_circle:',
};

const REBOOT_LABELS: Partial<Record<TargetState, string>> = { reboot_pending: 'reboot pending', reboot_failed: 'reboot failed' };

/** The Home tab's limit; list sections stop well before it. */
const HOME_BLOCKS_LIMIT = 100;

export const COMMAND_USAGE = [
  '`/patchdeck status`: open cases by severity and how many are overdue',
  '`/patchdeck case 12`: one case, with its buttons if it awaits approval',
  '`/patchdeck approve 12` or `/patchdeck reject 12 the reason`: vote on case 12 (a reject says why)',
  '`/patchdeck defer 12 until 2026-12-01 reason…`: park case 12 (approvers only)',
  '`/patchdeck rollout 7`: progress of rollout 7',
  '`/patchdeck mine`: cases awaiting your vote and rollouts you started',
  '`/patchdeck help`: this list',
];

function section(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncateText(text, BLOCK_KIT_LIMITS.sectionText) } };
}

function context(text: string): KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncateText(text, BLOCK_KIT_LIMITS.contextText) }] };
}

function header(text: string): KnownBlock {
  return { type: 'header', text: { type: 'plain_text', text: truncateText(text, BLOCK_KIT_LIMITS.headerText), emoji: true } };
}

function caseLink(opts: ReplyOptions, caseId: number): string {
  return `<${opts.publicUrl}/cases/${caseId}|#${caseId}>`;
}

function due(opts: ReplyOptions, dueAt: string): string {
  const overdue = Date.parse(dueAt) < opts.now.getTime();
  return `${overdue ? ':warning: overdue, was due' : 'due'} ${formatInZone(dueAt, opts.timezone)} (${describeRelative(dueAt, opts.now)})`;
}

/** A short answer: a refusal, a confirmation or a usage hint. */
export function buildNoticeReply(text: string): SlackReply {
  return { text: truncateText(text, BLOCK_KIT_LIMITS.fallbackText), blocks: [section(text)] };
}

export function buildHelpReply(unknown: string | null): SlackReply {
  const lead = unknown === null ? '*Patchdeck commands*' : `*\`${escapeMrkdwn(truncateText(unknown, 40))}\` is not a Patchdeck command.* These are:`;
  return { text: 'Patchdeck commands', blocks: [section([lead, ...COMMAND_USAGE.map((line) => `• ${line}`)].join('\n'))] };
}

export interface StatusCase {
  id: number;
  severity: Severity;
  state: CaseState;
  dueAt: string;
}

/** Open cases counted by severity, with the overdue ones and those waiting for a decision. */
export function buildStatusReply(cases: readonly StatusCase[], opts: ReplyOptions): SlackReply {
  const open = cases.filter((c) => !CLOSED_CASE_STATES.has(c.state));
  const overdue = open.filter((c) => Date.parse(c.dueAt) < opts.now.getTime());
  const awaiting = open.filter((c) => c.state === 'awaiting_approval');
  const bySeverity = [...SEVERITIES].reverse().map((severity) => {
    const ofSeverity = open.filter((c) => c.severity === severity);
    const late = ofSeverity.filter((c) => Date.parse(c.dueAt) < opts.now.getTime()).length;
    return { type: 'mrkdwn' as const, text: `${SEVERITY_EMOJI[severity]} *${describeSeverity(severity)}*\n${ofSeverity.length} open${late > 0 ? `, ${late} overdue` : ''}` };
  });
  const summary = `${open.length} open case${open.length === 1 ? '' : 's'} · ${overdue.length} overdue · ${awaiting.length} awaiting approval`;
  return {
    text: `Patchdeck: ${summary}`,
    blocks: [
      section(`*Patchdeck status* · ${summary}`),
      { type: 'section', fields: bySeverity },
      context(`<${opts.publicUrl}/|Open the dashboard> · as of ${formatInZone(opts.now, opts.timezone)}`),
    ],
  };
}

/** One case as its alert renders it, buttons included while it awaits approval. */
export function buildCaseReply(view: CaseMessageView, opts: ReplyOptions): SlackReply {
  return renderSlackMessage(buildCaseMessage(view, 'alert', opts));
}

export interface RolloutReplyInput {
  id: number;
  caseId: number;
  caseTitle: string;
  state: RolloutState;
  startedBy: string;
  currentWave: number;
  waves: number;
  haltedReason: string | null;
  targets: number;
  byState: Partial<Record<TargetState, number>>;
}

export function buildRolloutReply(rollout: RolloutReplyInput, opts: ReplyOptions): SlackReply {
  const starter = opts.people.find((p) => p.id === rollout.startedBy)?.name ?? rollout.startedBy;
  const counts = TARGET_STATES.filter((state) => (rollout.byState[state] ?? 0) > 0)
    .map((state) => `${describeState(state)}: ${rollout.byState[state]}`)
    .join(' · ');
  const lines = [
    `*Rollout ${rollout.id}* of case ${caseLink(opts, rollout.caseId)} ${escapeMrkdwn(rollout.caseTitle)}`,
    `${describeState(rollout.state)} · wave ${Math.min(rollout.currentWave + 1, Math.max(rollout.waves, 1))} of ${rollout.waves} · started by ${escapeMrkdwn(starter)}`,
    `${rollout.targets} host${rollout.targets === 1 ? '' : 's'}${counts ? `: ${counts}` : ''}`,
  ];
  if (rollout.haltedReason !== null) lines.push(`:octagonal_sign: Halted: ${escapeMrkdwn(rollout.haltedReason)}`);
  const blocks: KnownBlock[] = [section(lines.join('\n'))];
  if (rollout.state === 'awaiting_signoff') blocks.push(signoffButtons(rollout.caseId));
  blocks.push(context(`<${opts.publicUrl}/rollouts/${rollout.id}|Open the rollout>`));
  return { text: `Rollout ${rollout.id}: ${describeState(rollout.state)}`, blocks };
}

function approvalButtons(caseId: number, planHash: string | null): KnownBlock {
  return {
    type: 'actions',
    block_id: `patchdeck_case_${caseId}`,
    elements: [
      { type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve', emoji: true }, value: actionValue(caseId, 'approve', planHash), style: 'primary' },
      { type: 'button', action_id: 'reject', text: { type: 'plain_text', text: 'Reject', emoji: true }, value: actionValue(caseId, 'reject', planHash), style: 'danger' },
    ],
  };
}

function signoffButtons(caseId: number): KnownBlock {
  return {
    type: 'actions',
    block_id: `patchdeck_signoff_${caseId}`,
    elements: [
      { type: 'button', action_id: 'signoff', text: { type: 'plain_text', text: 'Sign off', emoji: true }, value: actionValue(caseId, 'signoff'), style: 'primary' },
      { type: 'button', action_id: 'signoff_reject', text: { type: 'plain_text', text: 'Reject pilot', emoji: true }, value: actionValue(caseId, 'signoff_reject'), style: 'danger' },
    ],
  };
}

function decisionLine(d: OpenDecision, opts: ReplyOptions): string {
  const what = d.stage === 'pilot_signoff' && d.rollout ? `pilot of rollout ${d.rollout.id} awaits sign-off` : 'awaits approval';
  return `${SEVERITY_EMOJI[d.severity]} ${caseLink(opts, d.caseId)} ${escapeMrkdwn(d.title)}\n${what} · ${due(opts, d.dueAt)}`;
}

function rolloutLine(r: StartedRollout, opts: ReplyOptions): string {
  return `<${opts.publicUrl}/rollouts/${r.rolloutId}|Rollout ${r.rolloutId}> of ${caseLink(opts, r.caseId)} ${escapeMrkdwn(r.title)}: ${describeState(r.state)}, wave ${r.currentWave + 1}`;
}

function rebootLine(r: HostReboot, opts: ReplyOptions): string {
  const label = REBOOT_LABELS[r.state] ?? describeState(r.state);
  return `\`${escapeMrkdwn(r.hostName)}\`: ${label} (<${opts.publicUrl}/rollouts/${r.rolloutId}|rollout ${r.rolloutId}>, since ${formatInZone(r.updatedAt, opts.timezone)})`;
}

function notKnown(slackUserId: string): string {
  return `:grey_question: Patchdeck does not know Slack user \`${escapeMrkdwn(slackUserId)}\`. Ask an admin to add you to \`people\` in the config (with \`slack: ${escapeMrkdwn(slackUserId)}\`).`;
}

/** `/patchdeck mine`: a compact list, no buttons (the Home tab has them). */
export function buildMineReply(work: MyWork, slackUserId: string, opts: ReplyOptions): SlackReply {
  if (work.person === null) return buildNoticeReply(notKnown(slackUserId));
  const decisions = [...work.approvals, ...work.signoffs];
  const lines: string[] = [`*Waiting for your vote* (${decisions.length})`];
  lines.push(...(decisions.length === 0 ? ['Nothing: you are up to date.'] : decisions.map((d) => `• ${decisionLine(d, opts).replace('\n', ' · ')}`)));
  lines.push('', `*Rollouts you started* (${work.rollouts.length})`);
  lines.push(...(work.rollouts.length === 0 ? ['None in progress.'] : work.rollouts.map((r) => `• ${rolloutLine(r, opts)}`)));
  return { text: `${decisions.length} case(s) waiting for your vote`, blocks: [section(lines.join('\n')), context('Open the Patchdeck app\'s Home tab to vote with buttons.')] };
}

/** The App Home tab: the person's pending decisions with the same buttons as the channel alerts. */
export function buildHomeView(work: MyWork, slackUserId: string, opts: ReplyOptions, notice: string | null): types.HomeView {
  const blocks: KnownBlock[] = [header('Patchdeck')];
  if (notice !== null) blocks.push(section(notice));
  if (work.person === null) {
    blocks.push(section(notKnown(slackUserId)));
    return { type: 'home', blocks };
  }
  blocks.push(context(`Hello ${escapeMrkdwn(work.person.name)} · updated ${formatInZone(opts.now, opts.timezone)}`));
  // Each list gets a share of the block budget, so a long backlog cannot push the others off the tab.
  const perList = Math.floor((HOME_BLOCKS_LIMIT - 15) / 4);
  const list = (title: string, items: KnownBlock[][], empty: string) => {
    blocks.push({ type: 'divider' }, section(`*${title}*`));
    if (items.length === 0) {
      blocks.push(context(empty));
      return;
    }
    const shown = Math.min(items.length, Math.floor(perList / items[0]!.length));
    for (const item of items.slice(0, shown)) blocks.push(...item);
    if (shown < items.length) blocks.push(context(`and ${items.length - shown} more in the web console`));
  };
  list(
    `Approvals waiting for you (${work.approvals.length})`,
    work.approvals.map((d) => [section(decisionLine(d, opts)), approvalButtons(d.caseId, d.planHash)]),
    'No case waits for your approval.',
  );
  list(
    `Pilots waiting for your sign-off (${work.signoffs.length})`,
    work.signoffs.map((d) => [section(decisionLine(d, opts)), signoffButtons(d.caseId)]),
    'No pilot waits for your sign-off.',
  );
  list(`Rollouts you started (${work.rollouts.length})`, work.rollouts.map((r) => [section(rolloutLine(r, opts))]), 'None in progress.');
  list(`Reboots of your hosts (${work.reboots.length})`, work.reboots.map((r) => [section(rebootLine(r, opts))]), 'None of your hosts waits for a reboot.');
  return { type: 'home', blocks };
}
