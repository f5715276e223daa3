import { describe, expect, it } from 'vitest';
import { matchAdvisory, matchPackageTriples } from '../../src/core/matching.js';
import type { AffectedPackage, HostPackage } from '../../src/core/types.js';

const entry = (name: string, fixed: string, binaries: string[] = []): AffectedPackage => ({
  ecosystem: 'Debian:12',
  name,
  binaries,
  ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }],
  versions: [],
});

describe('matching distinct package triples', () => {
  const advisories = [
    { id: 'DSA-1', affected: [entry('openssl', '3.0.11-1~deb12u2', ['libssl3', 'openssl'])] },
    { id: 'DSA-2', affected: [entry('bash', '5.2.15-2+b2')] },
    { id: 'DSA-3', affected: [entry('openssl', '3.0.9-1', ['libssl3'])] },
    { id: 'MS-1', affected: [{ ecosystem: 'Windows', name: 'KB5032190', binaries: [], ranges: [], versions: [], supersedes: ['KB5031354'] }] },
  ];

  it('version-checks each triple only against advisories naming its package, with the same verdicts as matchAdvisory', () => {
    const triples: HostPackage[] = [
      { ecosystem: 'Debian:12', name: 'libssl3', version: '3.0.11-1~deb12u1' },
      { ecosystem: 'Debian:12', name: 'libssl3', version: '3.0.11-1~deb12u2' },
      { ecosystem: 'Debian:12', name: 'bash', version: '5.2.15-2+b1' },
      { ecosystem: 'Debian:12', name: 'zlib1g', version: '1:1.2.13.dfsg-1' },
      { ecosystem: 'Ubuntu:22.04:LTS', name: 'bash', version: '5.1-6ubuntu1' },
      { ecosystem: 'Windows', name: 'KB5031354', version: '' },
    ];
    const matches = matchPackageTriples(advisories, triples);
    expect(matches.map((m) => [m.advisoryId, m.triple.name, m.triple.version, m.result.fixed])).toEqual([
      ['DSA-1', 'libssl3', '3.0.11-1~deb12u1', '3.0.11-1~deb12u2'],
      ['DSA-2', 'bash', '5.2.15-2+b1', '5.2.15-2+b2'],
    ]);
    for (const m of matches) expect(m.result).toEqual(matchAdvisory(advisories.find((a) => a.id === m.advisoryId)!.affected, m.triple));
  });

  it('keeps undetermined pairs so callers leave earlier findings alone', () => {
    const matches = matchPackageTriples(advisories, [{ ecosystem: 'Debian:12', name: 'bash', version: '!!' }]);
    expect(matches).toEqual([{ advisoryId: 'DSA-2', triple: { ecosystem: 'Debian:12', name: 'bash', version: '!!' }, result: expect.objectContaining({ undetermined: true }) }]);
  });
});
