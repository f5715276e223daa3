import { describe, expect, it } from 'vitest';
import { checkHostBaseline, type Baseline } from '../../src/core/baselines.js';
import type { Exemption } from '../../src/core/exemptions.js';

const NOW = new Date('2026-11-23T10:00:00.000Z');
const U = 'Ubuntu:22.04:LTS';
const baseline: Baseline = {
  group: 'web',
  packages: [
    { ecosystem: U, name: 'openssl', minVersion: '3.0.2-0ubuntu1.12' },
    { ecosystem: U, name: 'sudo', minVersion: '1.9.9-1ubuntu2.4' },
  ],
};
const host = (packages: [string, string][]) => ({ name: 'web-01', groups: ['web'], packages: packages.map(([name, version]) => ({ ecosystem: U, name, version })) });
const mitigation: Exemption = {
  id: 7,
  kind: 'mitigation',
  host: null,
  group: 'web',
  advisoryId: null,
  package: 'sudo',
  control: 'sudo restricted to admins',
  reason: '',
  approvedBy: 'alice',
  createdBy: 'cli:bob',
  createdAt: '2026-11-01T00:00:00.000Z',
  expiresAt: '2026-12-01T00:00:00.000Z',
  expiredAt: null,
  revokedAt: null,
};

describe('checkHostBaseline', () => {
  it('meets when every package is at least the minimum and one is exactly at it', () => {
    const result = checkHostBaseline(host([['openssl', '3.0.2-0ubuntu1.12'], ['sudo', '1.9.9-1ubuntu2.5']]), baseline, [], NOW);
    expect(result.status).toBe('meets');
    expect(result.faults).toEqual([]);
  });

  it('exceeds when every installed package is above the minimum (dpkg ordering, not text)', () => {
    expect(checkHostBaseline(host([['openssl', '3.0.2-0ubuntu1.13'], ['sudo', '1.9.10-1']]), baseline, [], NOW).status).toBe('exceeds');
  });

  it('is below when a package is under the minimum, naming it; the lowest of two installed versions decides', () => {
    const result = checkHostBaseline(host([['openssl', '3.0.2-0ubuntu1.12'], ['openssl', '3.0.2-0ubuntu1.9'], ['sudo', '1.9.9-1ubuntu2.4']]), baseline, [], NOW);
    expect(result.status).toBe('below');
    expect(result.faults).toMatchObject([{ name: 'openssl', installed: '3.0.2-0ubuntu1.9', standing: 'below', detail: '3.0.2-0ubuntu1.9 is below 3.0.2-0ubuntu1.12' }]);
  });

  it('is exempt when every fault is covered by an active exemption or mitigation for that package', () => {
    const packages = host([['openssl', '3.0.2-0ubuntu1.12'], ['sudo', '1.9.9-1ubuntu2']]);
    const result = checkHostBaseline(packages, baseline, [mitigation], NOW);
    expect(result.status).toBe('exempt');
    expect(result.faults[0]).toMatchObject({ name: 'sudo', exemptionId: 7 });
    expect(checkHostBaseline(packages, baseline, [{ ...mitigation, expiresAt: '2026-11-22T00:00:00.000Z' }], NOW).status).toBe('below');
  });

  it('ignores packages the host lacks, and counts a version it cannot order as a fault', () => {
    expect(checkHostBaseline(host([['openssl', '3.0.2-0ubuntu1.12']]), baseline, [], NOW).status).toBe('meets');
    const odd = checkHostBaseline(
      { name: 'x', groups: ['web'], packages: [{ ecosystem: 'Gentoo', name: 'openssl', version: '3' }] },
      { group: 'web', packages: [{ ecosystem: 'Gentoo', name: 'openssl', minVersion: '3' }] },
      [],
      NOW,
    );
    expect(odd.status).toBe('below');
    expect(odd.faults[0]!.standing).toBe('uncomparable');
  });
});
