import { describe, expect, it } from 'vitest';
import { compareVersions, isVersionScheme, schemeForEcosystem, VERSION_SCHEME_INFO, VERSION_SCHEMES } from '../../../src/core/versions/index.js';

describe('schemeForEcosystem', () => {
  it.each([
    ['Debian:12', 'deb'],
    ['Ubuntu:22.04:LTS', 'deb'],
    ['Ubuntu:Pro:16.04:LTS', 'deb'],
    ['Ubuntu:24.10', 'deb'],
    ['AlmaLinux:9', 'rpm'],
    ['Rocky Linux:9', 'rpm'],
    ['Red Hat:enterprise_linux:9::appstream', 'rpm'],
    ['npm', 'semver'],
    ['PyPI', 'pep440'],
    ['Go', 'go'],
    ['Maven', 'maven'],
    ['go', null],
    ['Maven:central', 'maven'],
    ['GIT', null],
    ['debian:12', null],
    ['', null],
  ] as const)('%j orders with %j', (ecosystem, scheme) => {
    expect(schemeForEcosystem(ecosystem)).toBe(scheme);
  });

  it('lists every ecosystem family under exactly one scheme', () => {
    const families = VERSION_SCHEMES.flatMap((scheme) => VERSION_SCHEME_INFO[scheme].ecosystems);
    expect(new Set(families).size).toBe(families.length);
    for (const scheme of VERSION_SCHEMES) {
      for (const family of VERSION_SCHEME_INFO[scheme].ecosystems) expect(schemeForEcosystem(`${family}:1`)).toBe(scheme);
    }
  });
});

describe('compareVersions', () => {
  it('orders by the rules of the scheme it is given', () => {
    // dpkg: "+" after "."; rpm: separators equal
    expect(compareVersions('deb', '1.0+1', '1.0.1')).toBe(-1);
    expect(compareVersions('rpm', '1.0+1', '1.0.1')).toBe(0);
    expect(compareVersions('semver', '1.0.0-rc.1', '1.0.0')).toBe(-1);
    expect(compareVersions('pep440', '1.0rc1', '1.0')).toBe(-1);
    expect(compareVersions('go', '1.2.3', 'v1.2.3+incompatible')).toBe(0);
    expect(compareVersions('maven', '1.0-SNAPSHOT', '1.0')).toBe(-1);
  });

  it('knows its schemes', () => {
    expect(VERSION_SCHEMES.every(isVersionScheme)).toBe(true);
    expect(isVersionScheme('dpkg')).toBe(false);
  });
});
