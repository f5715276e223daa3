import { describe, expect, it } from 'vitest';
import { assessSla, type Review } from '../../src/core/review.js';
import { buildReviewSummaryMessage, MAX_LISTED_FAILURES } from '../../src/core/review-message.js';

const OPTS = { publicUrl: 'https://patchdeck.example.com', timezone: 'Europe/Berlin', now: new Date('2026-11-23T14:00:00.000Z') };

function review(overrides: Partial<Review> = {}): Review {
  return {
    caseId: 4,
    title: 'OpenSSL vulnerabilities',
    severity: 'critical',
    caseState: 'completed',
    advisory: { id: 'USN-7001-1', source: 'osv', title: 'OpenSSL vulnerabilities', url: null, cves: [] },
    packages: [],
    timeline: { openedAt: '2026-11-23T08:00:00.000Z', decidedAt: '2026-11-23T09:00:00.000Z', rolloutStartedAt: '2026-11-23T09:01:00.000Z', pilotSignedOffAt: null, rolloutEndedAt: '2026-11-23T13:00:00.000Z' },
    approvals: [],
    signoffs: [],
    rollout: { id: 2, state: 'completed', connector: 'simulator', startedBy: 'Alice', waves: 3, haltedReason: null },
    outcomes: { targets: 40, installed: 20, failed: 0, rebooted: 20, rebootFailed: 0, notFinished: 0 },
    rings: [],
    failedHosts: [],
    openExposures: 0,
    sla: assessSla('2026-11-24T08:00:00.000Z', '2026-11-23T09:01:00.000Z', OPTS.now),
    halts: [],
    lessons: [],
    generatedAt: OPTS.now.toISOString(),
    ...overrides,
  };
}

describe('review summary message', () => {
  it('says the SLA was met, gives the counts and links to the review page', () => {
    const m = buildReviewSummaryMessage(review(), OPTS);
    expect(m).toMatchObject({ kind: 'review_summary', caseId: 4, severity: 'critical', actions: [], link: { label: 'Open the review', url: 'https://patchdeck.example.com/cases/4/review' } });
    expect(m.text).toBe('Review: USN-7001-1: OpenSSL vulnerabilities. Rollout #2 completed: 40 hosts, 20 installed, 0 failed, 20 rebooted, 0 reboot failed. SLA met.');
    expect(m.facts.find((f) => f.label === 'SLA')!.value).toBe('Met: the rollout started 22 hours 59 minutes before the deadline (due 2026-11-24 09:00 CET)');
    // Nothing failed: no failures section, and nothing else to report.
    expect(m.sections).toEqual([{ heading: 'Lessons', lines: ['Nothing stood out.'] }]);
    expect(m.facts.map((f) => f.label)).not.toContain('Not finished');
    expect(m.footer).toBe('Rollout ended 2026-11-23 14:00 CET');
  });

  it('says a missed SLA, lists failures up to a limit and the lessons, and what is still open', () => {
    const failedHosts = Array.from({ length: MAX_LISTED_FAILURES + 3 }, (_, i) => ({ host: `ws-${i}`, wave: 1, ring: 'broad', state: i % 2 === 0 ? ('failed' as const) : ('reboot_failed' as const), detail: i === 0 ? 'dpkg lock' : null }));
    const m = buildReviewSummaryMessage(
      review({
        sla: assessSla('2026-11-23T08:30:00.000Z', '2026-11-23T09:01:00.000Z', OPTS.now),
        outcomes: { targets: 40, installed: 20, failed: 7, rebooted: 7, rebootFailed: 6, notFinished: 0 },
        failedHosts,
        openExposures: 13,
        lessons: ['The SLA was missed by 31 minutes.'],
      }),
      OPTS,
    );
    expect(m.text.endsWith('SLA missed.')).toBe(true);
    expect(m.facts.find((f) => f.label === 'SLA')!.value).toMatch(/^Missed: the rollout started 31 minutes after the deadline/);
    expect(m.facts.find((f) => f.label === 'Exposures still open')!.value).toBe('13');
    const failures = m.sections.find((s) => s.heading === 'Failures')!.lines;
    expect(failures).toHaveLength(MAX_LISTED_FAILURES + 1);
    expect(failures[0]).toBe('ws-0 · wave 1 (broad) · install failed: dpkg lock');
    expect(failures[1]).toBe('ws-1 · wave 1 (broad) · reboot failed');
    expect(failures.at(-1)).toBe('and 3 more on the review page');
    expect(m.sections.find((s) => s.heading === 'Lessons')!.lines).toEqual(['The SLA was missed by 31 minutes.']);
  });
});
