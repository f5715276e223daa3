import { describe, expect, it } from 'vitest';
import { buildExemptionExpiredMessage, MAX_LISTED_REOPENED, type ExemptionNoticeView } from '../../src/core/exemption-notice.js';

const OPTS = { publicUrl: 'https://patchdeck.example.com', timezone: 'UTC', now: new Date('2026-11-23T10:00:00.000Z') };

const view = (overrides: Partial<ExemptionNoticeView> = {}): ExemptionNoticeView => ({
  exemption: {
    id: 7,
    kind: 'mitigation',
    scope: 'group legacy, package sudo',
    control: 'sudo removed from PATH',
    reason: 'no patch for the appliance',
    approvedBy: 'Alice',
    expiresAt: '2026-12-01T00:00:00.000Z',
    ended: 'revoked',
    endedAt: '2026-11-23T09:00:00.000Z',
    endedBy: 'cli:bob',
  },
  case: null,
  reopened: [],
  reopenedTotal: 0,
  cases: [],
  audience: 'approver',
  ...overrides,
});

describe('exemption expired message', () => {
  it('tells the approver which cases it touched and what to do, with no buttons', () => {
    const m = buildExemptionExpiredMessage(view({ cases: [{ id: 3, advisoryId: 'USN-4705-1' }], reopenedTotal: 1, reopened: [{ host: 'legacy-01', advisoryId: 'USN-4705-1', package: 'sudo' }] }), OPTS);
    expect(m).toMatchObject({ kind: 'exemption_expired', caseId: null, severity: null, actions: [], link: { url: 'https://patchdeck.example.com/compliance' } });
    expect(m.title).toBe('Mitigation #7 ended: group legacy, package sudo');
    expect(m.facts).toContainEqual({ label: 'Ended', value: '2026-11-23 09:00 UTC (1 hour ago) by cli:bob' });
    expect(m.facts).toContainEqual({ label: 'Cases', value: '#3 USN-4705-1' });
    expect(m.sections.find((s) => s.heading === 'What to do')!.lines[0]).toMatch(/^You approved it\. If the control still holds, record a new mitigation/);
  });

  it('lists re-opened exposures up to a limit and counts the rest', () => {
    const reopened = Array.from({ length: MAX_LISTED_REOPENED }, (_, i) => ({ host: `h-${i}`, advisoryId: 'USN-4705-1', package: 'sudo' }));
    const m = buildExemptionExpiredMessage(
      view({ audience: 'channel', case: { id: 3, advisoryId: 'USN-4705-1', title: 'sudo vulnerabilities', severity: 'high' }, reopened, reopenedTotal: 45, exemption: { ...view().exemption, ended: 'expired', endedBy: null } }),
      OPTS,
    );
    expect(m.title).toBe('Mitigation #7 expired: USN-4705-1: sudo vulnerabilities');
    expect(m).toMatchObject({ caseId: 3, severity: 'high', link: { url: 'https://patchdeck.example.com/cases/3' } });
    const lines = m.sections.find((s) => s.heading === 'Re-opened exposures')!.lines;
    expect(lines).toHaveLength(MAX_LISTED_REOPENED + 1);
    expect(lines.at(-1)).toBe('and 25 more');
    expect(m.facts).toContainEqual({ label: 'Re-opened', value: '45 exposures' });
    expect(m.facts.map((f) => f.label)).not.toContain('Cases');
  });
});
