import { describe, expect, it } from 'vitest';
import { assessSla, deriveLessons, describeSla, formatDuration, renderReviewMarkdown, type Review } from '../../src/core/review.js';

function review(overrides: Partial<Omit<Review, 'lessons'>> = {}): Omit<Review, 'lessons'> {
  return {
    caseId: 4,
    title: 'OpenSSL vulnerabilities',
    severity: 'critical',
    caseState: 'completed',
    advisory: { id: 'USN-7001-1', source: 'osv', title: 'OpenSSL vulnerabilities', url: 'https://ubuntu.com/security/notices/USN-7001-1', cves: ['CVE-2026-1001'] },
    packages: [{ ecosystem: 'Ubuntu:22.04:LTS', name: 'libssl3', fixed: '3.0.2-0ubuntu1.18', hosts: 40 }],
    timeline: {
      openedAt: '2026-11-23T08:00:00.000Z',
      decidedAt: '2026-11-23T09:00:00.000Z',
      rolloutStartedAt: '2026-11-23T09:01:00.000Z',
      pilotSignedOffAt: '2026-11-23T11:00:00.000Z',
      rolloutEndedAt: '2026-11-23T13:00:00.000Z',
    },
    approvals: [{ person: 'alice', name: 'Alice Approver', decision: 'approve', via: 'slack', at: '2026-11-23T09:00:00.000Z', comment: 'urgent | go' }],
    signoffs: [{ person: 'bob', name: 'Bob Approver', decision: 'approve', via: 'web', at: '2026-11-23T11:00:00.000Z', comment: null }],
    rollout: { id: 2, state: 'completed', connector: 'simulator', startedBy: 'Alice Approver', waves: 3, haltedReason: null },
    outcomes: { targets: 40, installed: 20, failed: 0, rebooted: 20, rebootFailed: 0, notFinished: 0 },
    rings: [{ ring: 'pilot', targets: 4, failures: 0 }, { ring: 'broad', targets: 36, failures: 0 }],
    failedHosts: [],
    openExposures: 0,
    sla: assessSla('2026-11-24T08:00:00.000Z', '2026-11-23T09:01:00.000Z', new Date('2026-11-23T14:00:00.000Z')),
    halts: [],
    generatedAt: '2026-11-23T14:00:00.000Z',
    ...overrides,
  };
}

describe('review', () => {
  it('judges the SLA by when the rollout started, and says by how much', () => {
    const met = assessSla('2026-11-24T08:00:00.000Z', '2026-11-23T09:01:00.000Z', new Date('2026-11-30T00:00:00.000Z'));
    expect(met).toMatchObject({ met: true, marginMs: (22 * 60 + 59) * 60_000 });
    expect(describeSla(met)).toBe('met: the rollout started 22 hours 59 minutes before the deadline');
    const late = assessSla('2026-11-23T08:30:00.000Z', '2026-11-23T09:01:00.000Z', new Date());
    expect(describeSla(late)).toBe('missed: the rollout started 31 minutes after the deadline');
    const pending = assessSla('2026-11-24T08:00:00.000Z', null, new Date('2026-11-23T08:00:00.000Z'));
    expect([pending.met, describeSla(pending)]).toEqual([null, 'pending: not started yet, due in 1 day']);
    const overdue = assessSla('2026-11-24T08:00:00.000Z', null, new Date('2026-11-26T10:00:00.000Z'));
    expect([overdue.met, describeSla(overdue)]).toEqual([false, 'missed: not started, 2 days 2 hours past the deadline']);
    expect(assessSla('2026-11-24T08:00:00.000Z', '2026-11-24T08:00:00.000Z', new Date()).met).toBe(true);
  });

  it('formats durations with the two largest units', () => {
    expect(formatDuration(0)).toBe('less than a minute');
    expect(formatDuration(-90_000)).toBe('1 minute');
    expect(formatDuration(2 * 86_400_000 + 5 * 60_000)).toBe('2 days');
    expect(formatDuration(86_400_000 + 3_600_000 + 60_000)).toBe('1 day 1 hour');
  });

  it('draws lessons only from the figures', () => {
    expect(deriveLessons(review())).toEqual(['All 40 hosts were patched without a failed install or reboot.']);
    const troubled = review({
      outcomes: { targets: 40, installed: 17, failed: 3, rebooted: 17, rebootFailed: 3, notFinished: 0 },
      rings: [{ ring: 'pilot', targets: 4, failures: 0 }, { ring: 'broad', targets: 36, failures: 6 }],
      failedHosts: [
        { host: 'ws-1', wave: 1, ring: 'broad', state: 'failed', detail: 'E: Could not get lock /var/lib/dpkg/lock-frontend' },
        { host: 'ws-2', wave: 1, ring: 'broad', state: 'failed', detail: 'E: Could not get lock /var/lib/dpkg/lock-frontend' },
        { host: 'ws-3', wave: 2, ring: 'broad', state: 'failed', detail: 'disk full' },
        { host: 'ws-4', wave: 2, ring: 'broad', state: 'reboot_failed', detail: 'no answer' },
        { host: 'ws-5', wave: 2, ring: 'broad', state: 'reboot_failed', detail: 'no answer' },
        { host: 'ws-6', wave: 2, ring: 'broad', state: 'reboot_failed', detail: 'no answer' },
      ],
      openExposures: 6,
    });
    const lessons = deriveLessons(troubled);
    expect(lessons[0]).toMatch(/^3 of 20 reboots failed \(ws-4, ws-5, ws-6\): check that these hosts come back/);
    expect(lessons[1]).toBe('2 of 3 failed installs ended with the same error ("E: Could not get lock /var/lib/dpkg/lock-frontend"): fix that cause on the fleet before retrying.');
    expect(lessons[2]).toMatch(/pilot ring failed on 0% of its hosts but later waves on 16\.7%/);
    expect(lessons).toContain('6 exposures stay open after the rollout: plan a follow-up for the failed hosts.');
    expect(lessons.some((l) => l.startsWith('All'))).toBe(false);
  });

  it('explains a missed SLA and a halt', () => {
    const lessons = deriveLessons(
      review({
        caseState: 'halted',
        rollout: { id: 2, state: 'halted', connector: 'simulator', startedBy: 'Alice', waves: 3, haltedReason: 'wave 1: 3 of 4 hosts failed' },
        outcomes: { targets: 12, installed: 1, failed: 3, rebooted: 0, rebootFailed: 0, notFinished: 8 },
        failedHosts: [],
        halts: [{ at: '2026-11-23T10:00:00.000Z', by: 'patchdeck', reason: 'wave 1: 3 of 4 hosts failed' }],
        timeline: { openedAt: '2026-11-23T08:00:00.000Z', decidedAt: '2026-11-25T08:00:00.000Z', rolloutStartedAt: '2026-11-25T08:00:00.000Z', pilotSignedOffAt: null, rolloutEndedAt: null },
        sla: assessSla('2026-11-24T08:00:00.000Z', '2026-11-25T08:00:00.000Z', new Date()),
      }),
    );
    expect(lessons).toContain('The rollout halted (wave 1: 3 of 4 hosts failed). Find the cause on the failed hosts before a new rollout; the rest of the fleet is still exposed.');
    expect(lessons).toContain('8 hosts never got the patch because the rollout stopped.');
    expect(lessons).toContain('The SLA was missed by 1 day: approval alone took 2 days, longer than the whole SLA window: add approvers or page them for this severity.');
  });

  it('renders Markdown with times in the team zone and safe table cells', () => {
    const text = renderReviewMarkdown({ ...review(), lessons: ['Check reboots.'] }, 'Europe/Berlin');
    expect(text).toContain('# Review of case #4: OpenSSL vulnerabilities');
    expect(text).toContain('- Advisory: [USN-7001-1](https://ubuntu.com/security/notices/USN-7001-1) (osv)');
    expect(text).toContain('| Ubuntu:22.04:LTS | libssl3 | 3.0.2-0ubuntu1.18 | 40 |');
    expect(text).toContain('- Opened: 2026-11-23 09:00 CET');
    expect(text).toContain('- approval: Alice Approver approved via slack at 2026-11-23 10:00 CET — "urgent | go"');
    expect(text).toContain('- pilot sign-off: Bob Approver approved via web at 2026-11-23 12:00 CET');
    expect(text).toContain('- SLA (due 2026-11-24 09:00 CET): met: the rollout started 22 hours 59 minutes before the deadline');
    expect(text).toContain('| 40 | 20 | 0 | 20 | 0 | 0 |');
    expect(text).toContain('- Check reboots.');
    expect(text).not.toContain('### Hosts that failed');
    const failing = renderReviewMarkdown(
      { ...review({ failedHosts: [{ host: 'ws|1', wave: 1, ring: 'broad', state: 'reboot_failed', detail: 'line one\nline two' }] }), lessons: [] },
      'UTC',
    );
    expect(failing).toContain('| ws\\|1 | 1 (broad) | reboot | line one line two |');
    expect(failing).toContain('Nothing stood out.');
  });
});
