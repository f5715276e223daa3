import { describe, expect, it } from 'vitest';
import { renderSlackMessage } from '../../src/chat/slack/render.js';
import { renderTeamsCard } from '../../src/chat/teams/render.js';
import {
  buildCaseMessage,
  buildDigestMessage,
  buildFeedFailureMessage,
  buildRebootNoticeMessage,
  MESSAGE_KINDS,
  type CaseMessageView,
  type ChatMessage,
  type MessageKind,
} from '../../src/core/messages.js';
import { buildExemptionExpiredMessage } from '../../src/core/exemption-notice.js';
import { buildReviewSummaryMessage } from '../../src/core/review-message.js';
import { describeConsoleMessage } from '../../src/web/console-messages.js';
import { createViewRenderer } from '../../src/web/render.js';

/**
 * Every message kind renders on every face: Slack Block Kit, a Teams Adaptive Card and the web
 * console. The sample table is typed by kind, so a new kind does not compile until it has a sample here.
 */

const NOW = new Date('2026-11-23T10:00:00.000Z');
const OPTS = { publicUrl: 'https://patchdeck.example.com', timezone: 'Europe/Berlin', now: NOW };

const VIEW: CaseMessageView = {
  id: 42,
  advisoryId: 'USN-7001-1',
  title: 'OpenSSL vulnerabilities',
  severity: 'medium',
  state: 'deploying',
  reasons: ['CVSS 6.5'],
  dueAt: '2026-11-24T11:00:00.000Z',
  decidedAt: '2026-11-23T09:10:00.000Z',
  advisory: { cves: ['CVE-2026-1001'], cvssScore: 6.5, kev: null },
  affectedHosts: 12,
  votes: [{ stage: 'approval', person: 'alice', decision: 'approve', at: '2026-11-23T09:10:00.000Z' }],
  rollout: { id: 7, state: 'deploying', connector: 'simulator', currentWave: 1, waves: 3, haltedReason: null, targets: 12, byState: { rebooted: 4, queued: 8 } },
};

const SAMPLES: Record<MessageKind, ChatMessage> = {
  alert: buildCaseMessage({ ...VIEW, state: 'awaiting_approval', rollout: null, votes: [] }, 'alert', OPTS),
  signoff_request: buildCaseMessage({ ...VIEW, state: 'piloting', rollout: { ...VIEW.rollout!, state: 'awaiting_signoff', currentWave: 0 } }, 'signoff', OPTS),
  halt: buildCaseMessage({ ...VIEW, state: 'halted', rollout: { ...VIEW.rollout!, state: 'halted', haltedReason: 'wave 1: 3 of 4 hosts failed' } }, 'halt', OPTS),
  progress: buildCaseMessage(VIEW, 'progress', OPTS),
  review_summary: buildReviewSummaryMessage(
    {
      caseId: 42,
      title: 'OpenSSL vulnerabilities',
      severity: 'medium',
      caseState: 'completed',
      advisory: { id: 'USN-7001-1', source: 'osv', title: 'OpenSSL vulnerabilities', url: null, cves: ['CVE-2026-1001'] },
      packages: [{ ecosystem: 'Ubuntu:22.04:LTS', name: 'libssl3', fixed: '3.0.2-0ubuntu1.18', hosts: 12 }],
      timeline: { openedAt: '2026-11-23T08:00:00.000Z', decidedAt: '2026-11-23T09:10:00.000Z', rolloutStartedAt: '2026-11-23T09:11:00.000Z', pilotSignedOffAt: '2026-11-23T09:40:00.000Z', rolloutEndedAt: '2026-11-23T09:58:00.000Z' },
      approvals: [],
      signoffs: [],
      rollout: { id: 7, state: 'completed', connector: 'simulator', startedBy: 'Alice Example', waves: 3, haltedReason: null },
      outcomes: { targets: 12, installed: 6, failed: 1, rebooted: 4, rebootFailed: 1, notFinished: 0 },
      rings: [{ ring: 'pilot', targets: 2, failures: 0 }, { ring: 'broad', targets: 10, failures: 2 }],
      failedHosts: [
        { host: 'ws-004', wave: 1, ring: 'broad', state: 'failed', detail: 'E: Could not get lock /var/lib/dpkg/lock-frontend' },
        { host: 'ws-009', wave: 2, ring: 'broad', state: 'reboot_failed', detail: null },
      ],
      openExposures: 2,
      sla: { dueAt: '2026-11-24T11:00:00.000Z', startedAt: '2026-11-23T09:11:00.000Z', met: true, marginMs: 92_940_000 },
      halts: [],
      lessons: ['1 of 5 reboots failed (ws-009): check that these hosts come back after a reboot.'],
      generatedAt: NOW.toISOString(),
    },
    OPTS,
  ),
  feed_failure: buildFeedFailureMessage({ name: 'kev', kind: 'kev', source: 'https://example.com/kev.json', consecutiveFailures: 3, lastError: 'HTTP 503', lastSuccessAt: null, nextAttemptAt: null }, OPTS),
  reboot_notice: buildRebootNoticeMessage(
    {
      id: 5,
      caseId: 42,
      advisoryId: 'USN-7001-1',
      caseTitle: 'OpenSSL vulnerabilities',
      hostName: 'ws-017',
      ownerName: 'Dave Example',
      state: 'scheduled',
      postpones: 1,
      postponeLimit: 2,
      postponeBy: '2h',
      rebootAt: '2026-11-23T12:00:00.000Z',
      deadlineAt: '2026-11-24T10:00:00.000Z',
      lastDecision: 'postpone',
      decidedByName: 'Dave Example',
      decidedAt: '2026-11-23T09:50:00.000Z',
    },
    OPTS,
  ),
  sla_reminder: buildCaseMessage(VIEW, 'sla_reminder', OPTS),
  sla_breach: buildCaseMessage({ ...VIEW, dueAt: '2026-11-23T08:00:00.000Z' }, 'sla_breach', OPTS),
  withdrawn: buildCaseMessage(
    { ...VIEW, state: 'not_applicable', rollout: null, reasons: ['Advisory withdrawn by osv on 2026-11-23 10:00 (CET): exposures resolved, case closed'] },
    'withdrawn',
    OPTS,
  ),
  exemption_expired: buildExemptionExpiredMessage(
    {
      exemption: {
        id: 3,
        kind: 'exemption',
        scope: 'group legacy, advisory USN-7001-1',
        control: 'isolated VLAN',
        reason: 'vendor appliance, patch not certified',
        approvedBy: 'Alice Example',
        expiresAt: '2026-11-23T09:00:00.000Z',
        ended: 'expired',
        endedAt: '2026-11-23T09:15:00.000Z',
        endedBy: null,
      },
      case: { id: 42, advisoryId: 'USN-7001-1', title: 'OpenSSL vulnerabilities', severity: 'medium' },
      reopened: [
        { host: 'legacy-01', advisoryId: 'USN-7001-1', package: 'libssl3' },
        { host: 'legacy-02', advisoryId: 'USN-7001-1', package: 'libssl3' },
      ],
      reopenedTotal: 2,
      cases: [],
      audience: 'channel',
    },
    OPTS,
  ),
  digest: buildDigestMessage(
    '#patching',
    [
      { caseId: 42, advisoryId: 'USN-7001-1', title: 'OpenSSL vulnerabilities', severity: 'medium', affectedHosts: 12, dueAt: '2026-12-23T10:00:00.000Z' },
      { caseId: 43, advisoryId: 'GHSA-248v-346w-9cwc', title: 'Certifi removes GLOBALTRUST', severity: 'low', affectedHosts: 3, dueAt: '2027-02-21T10:00:00.000Z' },
    ],
    OPTS,
  ),
};

const views = createViewRenderer({ timezone: 'Europe/Berlin', now: () => NOW });

/** The web console's dashboard with only this message in its inbox, cut down to the message. */
function renderWeb(message: ChatMessage): string {
  const view = describeConsoleMessage({ id: 1, caseId: message.caseId, purpose: message.kind, channel: '#patching', payload: JSON.stringify(message), createdAt: NOW.toISOString(), updatedAt: NOW.toISOString() });
  expect(view).not.toBeNull();
  const html = views.render('dashboard', {
    title: 'Dashboard',
    viewer: { person: { id: 'dave', name: 'Dave Example' } },
    csrf: 'csrf-token',
    signedIn: true,
    showConsole: true,
    messages: [view],
    bySeverity: [],
    open: [],
    closed: [],
    overdue: [],
    dueSoon: [],
    openCount: 0,
    now: NOW.toISOString(),
  });
  const start = html.indexOf('<article class="message');
  return html.slice(start, html.indexOf('</article>', start) + '</article>'.length);
}

describe('every message kind on every face', () => {
  it('has a sample for every kind', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual([...MESSAGE_KINDS].sort());
    for (const kind of MESSAGE_KINDS) expect(SAMPLES[kind].kind).toBe(kind);
  });

  for (const kind of MESSAGE_KINDS) {
    describe(kind, () => {
      const message = SAMPLES[kind];

      it('renders to Block Kit with its title, facts and every button', () => {
        const slack = renderSlackMessage(message);
        expect(slack.blocks[0]).toMatchObject({ type: 'header', text: { text: message.title } });
        const buttons = slack.blocks.flatMap((b) => (b.type === 'actions' ? b.elements : []));
        expect(buttons.map((b) => ('value' in b ? [b.action_id, b.value] : null))).toEqual(message.actions.map((a) => [a.id, a.value]));
        expect(slack.text.length).toBeGreaterThan(0);
        expect(slack).toMatchSnapshot();
      });

      it('renders to an Adaptive Card with its title and every button', () => {
        const card = renderTeamsCard(message);
        const text = JSON.stringify(card);
        expect(text).toContain(JSON.stringify(message.title).slice(1, -1));
        type CardAction = { type: string; id?: string; verb?: string; data?: { value: string }; card?: { actions?: CardAction[] } };
        const set = (card.body as { type: string; actions?: CardAction[] }[]).find((b) => b.type === 'ActionSet');
        // A button with a form (Reject, Defer) is an Action.ShowCard whose form submits with the Action.Execute.
        const executes = (set?.actions ?? []).flatMap((a) => (a.type === 'Action.ShowCard' ? (a.card?.actions ?? []) : [a])).filter((a) => a.type === 'Action.Execute');
        expect(executes.map((a) => [a.id, a.data?.value])).toEqual(message.actions.map((a) => [a.id, a.value]));
        for (const a of executes) expect(a.verb).toBe(a.id?.startsWith('reboot_') ? 'patchdeck.reboot' : a.id === 'defer' ? 'patchdeck.defer' : 'patchdeck.vote');
        expect(card).toMatchSnapshot();
      });

      it('renders on the web console with its title and a form per button', () => {
        const html = renderWeb(message);
        expect(html).toContain('<article class="message');
        expect(html).toContain(message.title.replace(/&/g, '&amp;'));
        // Defer needs a reason and a day: the console offers it on the case page (linked), not as a dashboard button.
        expect(html.match(/<form /g)?.length ?? 0).toBe(message.caseId === null ? 0 : message.actions.filter((a) => a.id !== 'defer').length);
        expect(html).toMatchSnapshot();
      });
    });
  }

  it('posts reboot answers to the reboot route with the button value, never as votes', () => {
    const html = renderWeb(SAMPLES.reboot_notice);
    expect(html).toContain('action="/reboots/5"');
    expect(html).toContain('name="value" value="reboot:5:now"');
    expect(html).toContain('name="value" value="reboot:5:postpone:1"');
    expect(html).not.toContain('/votes');
  });
});
