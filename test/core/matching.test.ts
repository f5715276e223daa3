import { describe, expect, it } from 'vitest';
import { affectedPackageNames, matchAdvisory, matchAffectedPackage, normalizePackageName } from '../../src/core/matching.js';
import type { AffectedPackage } from '../../src/core/types.js';
import { osvFixture } from '../helpers/advisories.js';

const usn6859 = osvFixture('USN-6859-1.json');
const usn6986 = osvFixture('USN-6986-1.json');
const usn4705 = osvFixture('USN-4705-1.json');
const jinja = osvFixture('GHSA-h75v-3vvj-5mfj.json');
const ws = osvFixture('GHSA-3h5v-q93c-6h6q.json');
const express = osvFixture('GHSA-rv95-896h-c2vc.json');

function entry(advisory: { affected: AffectedPackage[] }, ecosystem: string): AffectedPackage {
  const found = advisory.affected.find((a) => a.ecosystem === ecosystem);
  if (!found) throw new Error(`fixture has no ${ecosystem} entry`);
  return found;
}

function synthetic(ecosystem: string, events: Record<string, string>[], extra: Partial<AffectedPackage> = {}): AffectedPackage {
  return { ecosystem, name: 'pkg', binaries: [], ranges: [{ type: 'ECOSYSTEM', events }], versions: [], ...extra };
}

describe('matchAffectedPackage on Ubuntu USNs (dpkg ordering, source vs binary names)', () => {
  const jammy = entry(usn6859, 'Ubuntu:22.04:LTS');

  it('finds an openssh-server below the backported fix and names the fixed version and range', () => {
    const result = matchAffectedPackage(jammy, { ecosystem: 'Ubuntu:22.04:LTS', name: 'openssh-server', version: '1:8.9p1-3ubuntu0.6' });
    expect(result.affected).toBe(true);
    expect(result.fixed).toBe('1:8.9p1-3ubuntu0.10');
    expect(result.reason).toContain('openssh-server 1:8.9p1-3ubuntu0.6 (built from openssh)');
    expect(result.reason).toContain('fixed 1:8.9p1-3ubuntu0.10');
  });

  it('does not flag the fixed version or a later Ubuntu revision (backport trap)', () => {
    for (const version of ['1:8.9p1-3ubuntu0.10', '1:8.9p1-3ubuntu0.11', '1:8.9p1-3ubuntu0.13']) {
      const result = matchAffectedPackage(jammy, { ecosystem: 'Ubuntu:22.04:LTS', name: 'openssh-server', version });
      expect(result, version).toMatchObject({ affected: false, fixed: null, undetermined: false });
    }
  });

  it('does not read "ubuntu0.10" as lower than "ubuntu0.9" (digit runs are numbers, not text)', () => {
    expect(matchAffectedPackage(jammy, { ecosystem: 'Ubuntu:22.04:LTS', name: 'ssh', version: '1:8.9p1-3ubuntu0.9' }).affected).toBe(true);
    expect(matchAffectedPackage(jammy, { ecosystem: 'Ubuntu:22.04:LTS', name: 'ssh', version: '1:8.9p1-3ubuntu0.10' }).affected).toBe(false);
  });

  it('compares the epoch first: a version without an epoch is epoch 0', () => {
    const result = matchAffectedPackage(jammy, { ecosystem: 'Ubuntu:22.04:LTS', name: 'openssh-server', version: '9.9p1-1' });
    expect(result.affected).toBe(true);
    expect(matchAffectedPackage(jammy, { ecosystem: 'Ubuntu:22.04:LTS', name: 'openssh-server', version: '2:8.0p1-1' }).affected).toBe(false);
  });

  it('requires the exact ecosystem string', () => {
    for (const ecosystem of ['Ubuntu:22.04', 'ubuntu:22.04:LTS', 'Ubuntu:Pro:22.04:LTS', 'Debian:12']) {
      const result = matchAffectedPackage(jammy, { ecosystem, name: 'openssh-server', version: '1:8.9p1-3ubuntu0.1' });
      expect(result.affected, ecosystem).toBe(false);
    }
  });

  it('matches the source name and every binary name, but not other packages', () => {
    expect(affectedPackageNames(jammy)).toEqual(expect.arrayContaining(['openssh', 'openssh-client', 'openssh-server', 'openssh-sftp-server']));
    expect(matchAffectedPackage(jammy, { ecosystem: 'Ubuntu:22.04:LTS', name: 'openssh', version: '1:8.9p1-3ubuntu0.1' }).affected).toBe(true);
    const other = matchAffectedPackage(jammy, { ecosystem: 'Ubuntu:22.04:LTS', name: 'openssh-server-udeb', version: '1:8.9p1-3ubuntu0.1' });
    expect(other.affected).toBe(false);
    expect(other.reason).toContain('neither openssh nor one of its binary packages');
  });

  it('keeps renamed binaries apart: libssl3 on 22.04, libssl3t64 on 24.04', () => {
    const jammySsl = entry(usn6986, 'Ubuntu:22.04:LTS');
    const nobleSsl = entry(usn6986, 'Ubuntu:24.04:LTS');
    expect(matchAffectedPackage(jammySsl, { ecosystem: 'Ubuntu:22.04:LTS', name: 'libssl3', version: '3.0.2-0ubuntu1.15' })).toMatchObject({
      affected: true,
      fixed: '3.0.2-0ubuntu1.18',
    });
    expect(matchAffectedPackage(jammySsl, { ecosystem: 'Ubuntu:22.04:LTS', name: 'libssl3t64', version: '3.0.2-0ubuntu1.15' }).affected).toBe(false);
    expect(matchAffectedPackage(nobleSsl, { ecosystem: 'Ubuntu:24.04:LTS', name: 'libssl3t64', version: '3.0.13-0ubuntu3.1' })).toMatchObject({
      affected: true,
      fixed: '3.0.13-0ubuntu3.4',
    });
    expect(matchAffectedPackage(nobleSsl, { ecosystem: 'Ubuntu:24.04:LTS', name: 'libssl3', version: '3.0.13-0ubuntu3.1' }).affected).toBe(false);
  });

  it('treats a version in the `versions` list as affected even outside the ranges, with the next fix from the ranges', () => {
    const xenial = entry(usn4705, 'Ubuntu:16.04:LTS');
    const listedOnly = { ...xenial, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '1.8.16-0ubuntu1' }, { fixed: '1.8.16-0ubuntu1.10' }] }] };
    const result = matchAffectedPackage(listedOnly, { ecosystem: 'Ubuntu:16.04:LTS', name: 'sudo', version: '1.8.12-1ubuntu3' });
    expect(result).toMatchObject({ affected: true, fixed: '1.8.16-0ubuntu1.10' });
    expect(result.reason).toContain('listed as an affected version');
    const inRange = matchAffectedPackage(xenial, { ecosystem: 'Ubuntu:16.04:LTS', name: 'sudo-ldap', version: '1.8.16-0ubuntu1.9' });
    expect(inRange).toMatchObject({ affected: true, fixed: '1.8.16-0ubuntu1.10' });
  });

  it('orders `~` before everything, even the end of the version', () => {
    const pkg = synthetic('Debian:12', [{ introduced: '0' }, { fixed: '2.0~rc1-1' }]);
    const at = (version: string) => matchAffectedPackage(pkg, { ecosystem: 'Debian:12', name: 'pkg', version }).affected;
    expect(at('2.0~beta2-1')).toBe(true);
    expect(at('2.0~~-1')).toBe(true);
    expect(at('2.0~rc1-1')).toBe(false);
    expect(at('2.0-1')).toBe(false);
    const backport = synthetic('Debian:12', [{ introduced: '0' }, { fixed: '1.1.1-1ubuntu2.1~18.04.23+esm5' }]);
    const bp = (version: string) => matchAffectedPackage(backport, { ecosystem: 'Debian:12', name: 'pkg', version }).affected;
    expect(bp('1.1.1-1ubuntu2.1~18.04.23+esm4')).toBe(true);
    expect(bp('1.1.1-1ubuntu2.1~18.04.23')).toBe(true);
    expect(bp('1.1.1-1ubuntu2.1')).toBe(false);
  });
});

describe('matchAffectedPackage on OSV range semantics', () => {
  it('handles several introduced/fixed pairs in one range', () => {
    const pkg = synthetic('npm', [{ introduced: '1.0.0' }, { fixed: '1.0.2' }, { introduced: '3.0.0' }, { fixed: '3.2.5' }]);
    const at = (version: string) => matchAffectedPackage(pkg, { ecosystem: 'npm', name: 'pkg', version });
    expect(at('0.9.0').affected).toBe(false);
    expect(at('1.0.1')).toMatchObject({ affected: true, fixed: '1.0.2' });
    expect(at('2.0.0').affected).toBe(false);
    expect(at('3.1.0')).toMatchObject({ affected: true, fixed: '3.2.5' });
    expect(at('3.2.5').affected).toBe(false);
  });

  it('does not depend on the order events are listed in', () => {
    const pkg = synthetic('npm', [{ fixed: '3.2.5' }, { introduced: '3.0.0' }, { fixed: '1.0.2' }, { introduced: '0' }]);
    const at = (version: string) => matchAffectedPackage(pkg, { ecosystem: 'npm', name: 'pkg', version });
    expect(at('0.0.1')).toMatchObject({ affected: true, fixed: '1.0.2' });
    expect(at('2.0.0').affected).toBe(false);
    expect(at('3.0.0')).toMatchObject({ affected: true, fixed: '3.2.5' });
  });

  it('treats a range without a fixed event as "no fix yet"', () => {
    const pkg = synthetic('Debian:12', [{ introduced: '0' }]);
    const result = matchAffectedPackage(pkg, { ecosystem: 'Debian:12', name: 'pkg', version: '99:1.0-1' });
    expect(result).toMatchObject({ affected: true, fixed: null });
    expect(result.reason).toContain('no fixed version published');
  });

  it('includes last_affected itself and excludes what comes after', () => {
    const pkg = synthetic('npm', [{ introduced: '0' }, { last_affected: '2.1.214' }]);
    const at = (version: string) => matchAffectedPackage(pkg, { ecosystem: 'npm', name: 'pkg', version });
    expect(at('2.1.214')).toMatchObject({ affected: true, fixed: null });
    expect(at('2.1.215').affected).toBe(false);
  });

  it('stops at a limit, and "*" is no limit', () => {
    const limited = synthetic('npm', [{ introduced: '0' }, { limit: '2.0.0' }]);
    expect(matchAffectedPackage(limited, { ecosystem: 'npm', name: 'pkg', version: '1.9.9' }).affected).toBe(true);
    expect(matchAffectedPackage(limited, { ecosystem: 'npm', name: 'pkg', version: '2.0.0' }).affected).toBe(false);
    const star = synthetic('npm', [{ introduced: '1.0.0' }, { limit: '*' }]);
    expect(matchAffectedPackage(star, { ecosystem: 'npm', name: 'pkg', version: '9.0.0' }).affected).toBe(true);
  });

  it('never matches a version against a GIT range, even one introduced at "0"', () => {
    const git: AffectedPackage = {
      ecosystem: 'npm',
      name: 'pkg',
      binaries: [],
      ranges: [{ type: 'GIT', events: [{ introduced: '0' }, { fixed: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678' }] }],
      versions: [],
    };
    const result = matchAffectedPackage(git, { ecosystem: 'npm', name: 'pkg', version: '1.0.0' });
    expect(result).toMatchObject({ affected: false, undetermined: false });
    expect(result.reason).toContain('GIT range');
  });

  it('uses semver order for SEMVER ranges whatever the ecosystem', () => {
    const pkg: AffectedPackage = { ecosystem: 'Go', name: 'pkg', binaries: [], ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.10.0' }] }], versions: [] };
    expect(matchAffectedPackage(pkg, { ecosystem: 'Go', name: 'pkg', version: '1.9.0' }).affected).toBe(true);
    expect(matchAffectedPackage(pkg, { ecosystem: 'Go', name: 'pkg', version: '1.10.0' }).affected).toBe(false);
  });

  it('matches only exact `versions` in an ecosystem Patchdeck cannot order', () => {
    const alpine: AffectedPackage = {
      ecosystem: 'Alpine:v3.18',
      name: 'busybox',
      binaries: [],
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.36.1-r2' }] }],
      versions: ['1.36.1-r0'],
    };
    expect(matchAffectedPackage(alpine, { ecosystem: 'Alpine:v3.18', name: 'busybox', version: '1.36.1-r0' })).toMatchObject({ affected: true, fixed: null });
    const unlisted = matchAffectedPackage(alpine, { ecosystem: 'Alpine:v3.18', name: 'busybox', version: '1.36.1-r1' });
    expect(unlisted).toMatchObject({ affected: false, undetermined: false });
    expect(unlisted.reason).toContain('cannot order');
  });

  it('reports a version its scheme cannot read as undetermined, not as safe', () => {
    const pkg = synthetic('npm', [{ introduced: '0' }, { fixed: '2.0.0' }]);
    const result = matchAffectedPackage(pkg, { ecosystem: 'npm', name: 'pkg', version: 'not-a-version' });
    expect(result).toMatchObject({ affected: false, undetermined: true });
    expect(result.reason).toContain('cannot compare');
  });
});

describe('matchAdvisory on GitHub advisories (npm, PyPI)', () => {
  it('checks every affected entry of a package (ws has one per major line)', () => {
    const at = (version: string) => matchAdvisory(ws.affected, { ecosystem: 'npm', name: 'ws', version });
    expect(at('8.17.0')).toMatchObject({ affected: true, fixed: '8.17.1' });
    expect(at('7.5.9')).toMatchObject({ affected: true, fixed: '7.5.10' });
    expect(at('6.2.2')).toMatchObject({ affected: true, fixed: '6.2.3' });
    expect(at('8.17.1').affected).toBe(false);
    expect(at('2.0.0').affected).toBe(false);
    expect(at('5.2.4').affected).toBe(false);
  });

  it('orders semver pre-releases (express 5.0.0-alpha.1 up to 5.0.0-beta.3)', () => {
    const at = (version: string) => matchAdvisory(express.affected, { ecosystem: 'npm', name: 'express', version });
    expect(at('5.0.0-beta.1')).toMatchObject({ affected: true, fixed: '5.0.0-beta.3' });
    expect(at('5.0.0-beta.3').affected).toBe(false);
    expect(at('5.0.0').affected).toBe(false);
    expect(at('4.19.1')).toMatchObject({ affected: true, fixed: '4.19.2' });
    expect(at('4.19.2').affected).toBe(false);
  });

  it('normalises PyPI names as PEP 503 says', () => {
    expect(normalizePackageName('PyPI', 'Zope_Interface..x')).toBe('zope-interface-x');
    expect(normalizePackageName('npm', 'Foo_Bar')).toBe('Foo_Bar');
    for (const name of ['Jinja2', 'jinja2', 'JINJA2']) {
      expect(matchAdvisory(jinja.affected, { ecosystem: 'PyPI', name, version: '3.1.3' }), name).toMatchObject({ affected: true, fixed: '3.1.4' });
    }
    expect(matchAdvisory(jinja.affected, { ecosystem: 'PyPI', name: 'jinja2', version: '3.1.4' }).affected).toBe(false);
    expect(matchAdvisory(jinja.affected, { ecosystem: 'npm', name: 'jinja2', version: '3.1.3' }).affected).toBe(false);
  });

  it('prefers an undetermined result over a miss, so callers keep what they knew', () => {
    const result = matchAdvisory(ws.affected, { ecosystem: 'npm', name: 'ws', version: 'garbage' });
    expect(result.undetermined).toBe(true);
  });
});
