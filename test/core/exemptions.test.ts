import { describe, expect, it } from 'vitest';
import { exemptionState, holdExposure, resolveExemptionExpiry, withoutExemptionReasons, type Exemption } from '../../src/core/exemptions.js';

const NOW = new Date('2026-11-23T10:00:00.000Z');
const DAY = 86_400_000;

function exemption(overrides: Partial<Exemption>): Exemption {
  return {
    id: 1,
    kind: 'exemption',
    host: 'web-01',
    group: null,
    advisoryId: 'USN-1-1',
    package: null,
    control: 'isolated VLAN',
    reason: '',
    approvedBy: 'alice',
    createdBy: 'cli:bob',
    createdAt: '2026-11-01T00:00:00.000Z',
    expiresAt: '2026-12-01T00:00:00.000Z',
    expiredAt: null,
    revokedAt: null,
    ...overrides,
  };
}

const target = { host: 'web-01', groups: ['web', 'dmz'], advisoryId: 'USN-1-1', package: 'libssl3' };

describe('holdExposure', () => {
  it('holds an exposure covered by host and advisory, with the control, approver and expiry', () => {
    expect(holdExposure(target, [exemption({})], null, NOW)).toEqual({
      status: 'exempt',
      exemptionId: 1,
      reason: 'Exempt: exemption #1 (isolated VLAN), approved by alice, until 2026-12-01',
    });
  });

  it('matches by group and by package; mitigations mark the exposure mitigated', () => {
    const byGroup = exemption({ id: 2, host: null, group: 'dmz', advisoryId: null, package: 'libssl3', kind: 'mitigation', control: 'firewall rule' });
    expect(holdExposure(target, [byGroup], null, NOW)).toMatchObject({ status: 'mitigated', exemptionId: 2 });
    expect(holdExposure({ ...target, groups: ['web'] }, [byGroup], null, NOW).status).toBe('open');
    expect(holdExposure({ ...target, package: 'openssl' }, [byGroup], null, NOW).status).toBe('open');
    expect(holdExposure({ ...target, host: 'web-02' }, [exemption({})], null, NOW).status).toBe('open');
  });

  it('re-opens an exposure whose exemption expired or was ended, saying which and when', () => {
    const expired = exemption({ expiresAt: '2026-11-20T00:00:00.000Z' });
    expect(exemptionState(expired, NOW)).toBe('expired');
    expect(holdExposure(target, [expired], 1, NOW)).toEqual({ status: 'open', exemptionId: 1, reason: 'Re-opened: exemption #1 expired on 2026-11-20' });
    const revoked = exemption({ revokedAt: '2026-11-22T08:00:00.000Z' });
    expect(holdExposure(target, [revoked], 1, NOW).reason).toBe('Re-opened: exemption #1 was ended on 2026-11-22');
    expect(holdExposure(target, [expired], null, NOW)).toEqual({ status: 'open', exemptionId: null, reason: null });
  });

  it('replaces its own reason lines rather than stacking them', () => {
    expect(withoutExemptionReasons(['CVSS 8.1', 'Exempt: exemption #1 (x)', 'Re-opened: exemption #2 expired on 2026-11-20'])).toEqual(['CVSS 8.1']);
  });
});

describe('resolveExemptionExpiry', () => {
  const base = { kind: 'exemption' as const, host: 'web-01', advisoryId: 'USN-1-1', control: 'isolated VLAN', approvedBy: 'alice' };
  const max = 180 * DAY;

  it('takes a date (end of that day in the team zone), a date-time or a duration', () => {
    expect(resolveExemptionExpiry({ ...base, expires: '2026-12-31' }, NOW, max, '180d', 'UTC')).toBe('2026-12-31T23:59:59.999Z');
    expect(resolveExemptionExpiry({ ...base, expires: '2026-12-31' }, NOW, max, '180d', 'Europe/Berlin')).toBe('2026-12-31T22:59:59.999Z');
    expect(resolveExemptionExpiry({ ...base, expires: '2026-12-01T18:00' }, NOW, max, '180d', 'Europe/Berlin')).toBe('2026-12-01T17:00:00.000Z');
    expect(resolveExemptionExpiry({ ...base, expires: '2026-12-01T12:00:00Z' }, NOW, max, '180d', 'UTC')).toBe('2026-12-01T12:00:00.000Z');
    expect(resolveExemptionExpiry({ ...base, forMs: 30 * DAY }, NOW, max, '180d', 'UTC')).toBe('2026-12-23T10:00:00.000Z');
  });

  it('refuses exemptions without expiry, past or beyond the maximum, and ill-scoped ones', () => {
    expect(() => resolveExemptionExpiry(base, NOW, max, '180d', 'UTC')).toThrow(/exemptions always expire/);
    expect(() => resolveExemptionExpiry({ ...base, expires: '2026-11-01' }, NOW, max, '180d', 'UTC')).toThrow(/in the future/);
    expect(() => resolveExemptionExpiry({ ...base, forMs: 200 * DAY }, NOW, max, '180d', 'UTC')).toThrow(/at most 180d/);
    expect(() => resolveExemptionExpiry({ ...base, expires: 'soon' }, NOW, max, '180d', 'UTC')).toThrow(/not a date/);
    // Not rolled over into March, with or without a time.
    for (const expires of ['2026-02-30', '2026-02-30T12:00:00Z', '2026-02-31T12:00']) expect(() => resolveExemptionExpiry({ ...base, expires }, NOW, max, '180d', 'UTC')).toThrow(/not a date/);
    expect(() => resolveExemptionExpiry({ ...base, group: 'web', forMs: DAY }, NOW, max, '180d', 'UTC')).toThrow(/exactly one of --host or --group/);
    expect(() => resolveExemptionExpiry({ ...base, package: 'x', forMs: DAY }, NOW, max, '180d', 'UTC')).toThrow(/exactly one of --advisory or --package/);
    expect(() => resolveExemptionExpiry({ ...base, control: ' ', forMs: DAY }, NOW, max, '180d', 'UTC')).toThrow(/--control/);
  });
});
