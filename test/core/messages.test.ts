import { describe, expect, it } from 'vitest';
import { buildCaseMessage, parseActionValue, type CaseMessageOptions } from '../../src/core/messages.js';
import type { CaseView } from '../../src/store/queries/cases.js';

const NOW = new Date('2026-11-23T10:00:00.000Z');
const OPTS: CaseMessageOptions = {
  publicUrl: 'https://patchdeck.example.com',
  timezone: 'Europe/Berlin',
  now: NOW,
  people: [
    { id: 'alice', name: 'Alice Example', groups: ['approvers'], slack: 'UALICE' },
    { id: 'bob', name: 'Bob Example', groups: ['approvers'] },
  ],
};

function caseView(overrides: Partial<CaseView> = {}): CaseView {
  return {
    id: 42,
    advisoryId: 'USN-7001-1',
    title: 'OpenSSL vulnerabilities',
    severity: 'critical',
    state: 'awaiting_approval',
    reasons: ['Critical CVSS 9.8 on internet-facing servers', 'Listed in CISA KEV'],
    requestedBy: 'patchdeck',
    dueAt: '2026-11-24T11:00:00.000Z',
    createdAt: '2026-11-23T09:00:00.000Z',
    updatedAt: '2026-11-23T09:00:00.000Z',
    decidedAt: null,
    planHash: null,
    channel: null,
    advisory: {
      id: 'USN-7001-1',
      source: 'osv',
      title: 'OpenSSL vulnerabilities',
      summary: 'Several security issues were fixed in OpenSSL.',
      url: null,
      cves: ['CVE-2026-1001', 'CVE-2026-1002'],
      cvssScore: 9.8,
      kev: { dateAdded: '2026-11-20', dueDate: '2026-12-11', knownRansomwareCampaignUse: true, requiredAction: 'Apply updates', vendor: 'OpenSSL', product: 'OpenSSL' },
    },
    affectedHosts: 12,
    openExposures: 12,
    votes: [],
    rollout: null,
    ...overrides,
  };
}

const rollout = (overrides: Partial<NonNullable<CaseView['rollout']>> = {}): NonNullable<CaseView['rollout']> => ({
  id: 7,
  state: 'awaiting_signoff',
  connector: 'simulator',
  startedBy: 'alice',
  currentWave: 0,
  waves: 3,
  haltedReason: null,
  createdAt: '2026-11-23T09:30:00.000Z',
  completedAt: null,
  targets: 20,
  byState: { verified: 4, failed: 1, queued: 15 },
  ...overrides,
});

describe('buildCaseMessage: alert', () => {
  it('describes a case awaiting approval, with Approve/Reject buttons that carry only the case and action', () => {
    const message = buildCaseMessage(caseView(), 'alert', OPTS);
    expect(message).toEqual({
      kind: 'alert',
      caseId: 42,
      title: 'USN-7001-1: OpenSSL vulnerabilities',
      severity: 'critical',
      text: 'Critical: USN-7001-1: OpenSSL vulnerabilities. 12 affected hosts, due 2026-11-24 12:00 CET. Approval needed.',
      facts: [
        { label: 'Severity', value: 'Critical (CVSS 9.8)' },
        { label: 'CVEs', value: 'CVE-2026-1001, CVE-2026-1002' },
        { label: 'Affected hosts', value: '12' },
        { label: 'SLA due', value: '2026-11-24 12:00 CET (in 1 day)' },
        { label: 'Known exploited (KEV)', value: 'Yes, listed 2026-11-20, used in ransomware campaigns' },
        { label: 'State', value: 'Awaiting approval' },
      ],
      sections: [{ heading: 'Why this matters', lines: ['Critical CVSS 9.8 on internet-facing servers', 'Listed in CISA KEV'] }],
      actions: [
        { id: 'approve', label: 'Approve', style: 'primary', value: 'case:42:approve' },
        { id: 'reject', label: 'Reject', style: 'danger', value: 'case:42:reject', form: 'reason' },
        { id: 'defer', label: 'Defer', style: 'default', value: 'case:42:defer', form: 'defer' },
      ],
      link: { label: 'Open case', url: 'https://patchdeck.example.com/cases/42' },
      footer: null,
    });
  });

  it('says "No" for KEV, lists at most five CVEs and shows overdue SLAs as past', () => {
    const cves = Array.from({ length: 7 }, (_, i) => `CVE-2026-200${i}`);
    const message = buildCaseMessage(
      caseView({ dueAt: '2026-11-22T10:00:00.000Z', advisory: { ...caseView().advisory, kev: null, cves, cvssScore: null } }),
      'alert',
      OPTS,
    );
    expect(message.facts).toEqual(
      expect.arrayContaining([
        { label: 'Severity', value: 'Critical' },
        { label: 'CVEs', value: 'CVE-2026-2000, CVE-2026-2001, CVE-2026-2002, CVE-2026-2003, CVE-2026-2004 and 2 more' },
        { label: 'Known exploited (KEV)', value: 'No' },
        { label: 'SLA due', value: '2026-11-22 11:00 CET (1 day ago)' },
      ]),
    );
  });

  it('lists votes so far while approval is open and keeps the buttons', () => {
    const message = buildCaseMessage(
      caseView({ votes: [{ stage: 'approval', person: 'alice', decision: 'approve', via: 'slack', comment: null, at: '2026-11-23T09:40:00.000Z' }] }),
      'alert',
      OPTS,
    );
    expect(message.sections).toContainEqual({ heading: 'Votes so far', lines: ['Alice Example approved · 2026-11-23 10:40 CET'] });
    expect(message.actions.map((a) => a.id)).toEqual(['approve', 'reject', 'defer']);
  });

  it('drops the buttons and seals the message once approved, naming the approver', () => {
    const message = buildCaseMessage(
      caseView({
        state: 'approved',
        decidedAt: '2026-11-23T11:00:00.000Z',
        votes: [{ stage: 'approval', person: 'alice', decision: 'approve', via: 'slack', comment: null, at: '2026-11-23T11:00:00.000Z' }],
      }),
      'alert',
      OPTS,
    );
    expect(message).toMatchObject({
      actions: [],
      footer: 'Approved by Alice Example · 2026-11-23 12:00 CET',
      facts: expect.arrayContaining([{ label: 'State', value: 'Approved' }]),
    });
    expect(message.sections.map((s) => s.heading)).toEqual(['Why this matters']);
  });

  it('names the people who rejected, with unknown ids shown as they are', () => {
    const message = buildCaseMessage(
      caseView({
        state: 'rejected',
        decidedAt: '2026-11-23T11:05:00.000Z',
        votes: [
          { stage: 'approval', person: 'alice', decision: 'approve', via: 'web', comment: null, at: '2026-11-23T11:00:00.000Z' },
          { stage: 'approval', person: 'bob', decision: 'reject', via: 'slack', comment: null, at: '2026-11-23T11:04:00.000Z' },
          { stage: 'approval', person: 'carol', decision: 'reject', via: 'slack', comment: null, at: '2026-11-23T11:05:00.000Z' },
        ],
      }),
      'alert',
      OPTS,
    );
    expect(message.actions).toEqual([]);
    expect(message.footer).toBe('Rejected by Bob Example and carol · 2026-11-23 12:05 CET');
  });

  it('keeps saying "Approved" in later states, without names when no vote is on record', () => {
    const message = buildCaseMessage(
      caseView({ state: 'deploying', decidedAt: '2026-11-23T11:00:00.000Z', votes: [] }),
      'alert',
      OPTS,
    );
    expect(message.footer).toBe('Approved · 2026-11-23 12:00 CET');
    expect(message.actions).toEqual([]);
  });
});

describe('buildCaseMessage: signoff', () => {
  it('shows pilot results per target state and asks for sign-off while the rollout waits', () => {
    const message = buildCaseMessage(caseView({ state: 'piloting', rollout: rollout() }), 'signoff', OPTS);
    expect(message).toMatchObject({
      kind: 'signoff_request',
      caseId: 42,
      title: 'Pilot sign-off: USN-7001-1: OpenSSL vulnerabilities',
      facts: [
        { label: 'Severity', value: 'Critical (CVSS 9.8)' },
        { label: 'Rollout', value: '#7 via simulator' },
        { label: 'Rollout state', value: 'Awaiting sign-off' },
        { label: 'Targets', value: '20' },
        { label: 'Queued', value: '15' },
        { label: 'Failed', value: '1' },
        { label: 'Verified', value: '4' },
      ],
      sections: [{ heading: 'What happens next', lines: ['Signing off starts the remaining 2 waves (15 hosts).'] }],
      actions: [
        { id: 'signoff', label: 'Sign off', style: 'primary', value: 'case:42:signoff' },
        { id: 'signoff_reject', label: 'Reject pilot', style: 'danger', value: 'case:42:signoff_reject' },
      ],
      link: { label: 'Open rollout', url: 'https://patchdeck.example.com/rollouts/7' },
      footer: null,
    });
    expect(message.text).toContain('4 verified');
  });

  it('seals the sign-off with who signed once the rollout deploys', () => {
    const message = buildCaseMessage(
      caseView({
        state: 'deploying',
        rollout: rollout({ state: 'deploying', currentWave: 1 }),
        votes: [{ stage: 'pilot_signoff', person: 'alice', decision: 'approve', via: 'slack', comment: null, at: '2026-11-23T13:00:00.000Z' }],
      }),
      'signoff',
      OPTS,
    );
    expect(message.actions).toEqual([]);
    expect(message.footer).toBe('Signed off by Alice Example · 2026-11-23 14:00 CET');
  });

  it('says who rejected the pilot when the rollout halted on a rejection', () => {
    const message = buildCaseMessage(
      caseView({
        state: 'halted',
        rollout: rollout({ state: 'halted', haltedReason: 'Pilot rejected' }),
        votes: [{ stage: 'pilot_signoff', person: 'bob', decision: 'reject', via: 'slack', comment: null, at: '2026-11-23T13:00:00.000Z' }],
      }),
      'signoff',
      OPTS,
    );
    expect(message).toMatchObject({ actions: [], footer: 'Pilot rejected by Bob Example · 2026-11-23 14:00 CET' });
  });

  it('offers no buttons while the pilot is still running', () => {
    const message = buildCaseMessage(caseView({ state: 'piloting', rollout: rollout({ state: 'piloting' }) }), 'signoff', OPTS);
    expect(message.actions).toEqual([]);
    expect(message.footer).toBeNull();
  });
});

describe('buildCaseMessage: halt', () => {
  it('says why the rollout stopped, with counts and a link to the rollout page', () => {
    const message = buildCaseMessage(
      caseView({
        state: 'halted',
        rollout: rollout({ state: 'halted', currentWave: 1, haltedReason: 'Failure rate 30% in wave 2 exceeded the 20% threshold', byState: { verified: 8, failed: 3, queued: 9 } }),
      }),
      'halt',
      OPTS,
    );
    expect(message).toMatchInlineSnapshot(`
      {
        "actions": [],
        "caseId": 42,
        "facts": [
          {
            "label": "Severity",
            "value": "Critical (CVSS 9.8)",
          },
          {
            "label": "Rollout",
            "value": "#7 via simulator",
          },
          {
            "label": "Stopped in wave",
            "value": "2 of 3",
          },
          {
            "label": "Targets",
            "value": "20",
          },
          {
            "label": "Queued",
            "value": "9",
          },
          {
            "label": "Failed",
            "value": "3",
          },
          {
            "label": "Verified",
            "value": "8",
          },
        ],
        "footer": null,
        "kind": "halt",
        "link": {
          "label": "Open rollout",
          "url": "https://patchdeck.example.com/rollouts/7",
        },
        "sections": [
          {
            "heading": "Why it stopped",
            "lines": [
              "Failure rate 30% in wave 2 exceeded the 20% threshold",
            ],
          },
        ],
        "severity": "critical",
        "text": "Rollout halted: USN-7001-1: OpenSSL vulnerabilities. Failure rate 30% in wave 2 exceeded the 20% threshold. Targets: 9 queued, 3 failed, 8 verified.",
        "title": "Rollout halted: USN-7001-1: OpenSSL vulnerabilities",
      }
    `);
  });
});

describe('parseActionValue', () => {
  it('reads only values Patchdeck writes', () => {
    expect(parseActionValue('case:42:approve')).toEqual({ caseId: 42, action: 'approve', planHash: null });
    expect(parseActionValue('case:7:signoff_reject')).toEqual({ caseId: 7, action: 'signoff_reject', planHash: null });
    const hash = 'ab'.repeat(32);
    expect(parseActionValue(`case:42:approve:${hash}`)).toEqual({ caseId: 42, action: 'approve', planHash: hash });
    const forgedHashes = [`case:1:approve:${hash.toUpperCase()}`, `case:1:approve:${hash.slice(1)}`, `case:1:approve:${hash}0`, `case:1:approve:${hash}:x`];
    for (const forged of ['case:abc:approve', 'case:0:approve', 'case:-1:approve', 'case:1:approve:alice', 'case:1:delete', 'case:1e3:approve', 'case:99999999999999999999:approve', '', ...forgedHashes]) {
      expect(parseActionValue(forged)).toBeNull();
    }
  });
});
