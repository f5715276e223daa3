import { describe, expect, it } from 'vitest';
import { PatchdeckError } from '../../../src/core/errors.js';
import { compareGoVersions } from '../../../src/core/versions/go.js';

/**
 * The `tests` table of golang.org/x/mod/semver's semver_test.go (golang/mod, semver/semver_test.go):
 * inputs in increasing order with their canonical form ("" = invalid). TestCompare there expects
 * Compare(i, j) to be 0 when the canonical forms are equal, else the sign of i - j.
 */
const X_MOD_TESTS: [string, string][] = [
  ['bad', ''],
  ['v1-alpha.beta.gamma', ''],
  ['v1-pre', ''],
  ['v1+meta', ''],
  ['v1-pre+meta', ''],
  ['v1.2-pre', ''],
  ['v1.2+meta', ''],
  ['v1.2-pre+meta', ''],
  ['v1.0.0-alpha', 'v1.0.0-alpha'],
  ['v1.0.0-alpha.1', 'v1.0.0-alpha.1'],
  ['v1.0.0-alpha.beta', 'v1.0.0-alpha.beta'],
  ['v1.0.0-beta', 'v1.0.0-beta'],
  ['v1.0.0-beta.2', 'v1.0.0-beta.2'],
  ['v1.0.0-beta.11', 'v1.0.0-beta.11'],
  ['v1.0.0-rc.1', 'v1.0.0-rc.1'],
  ['v1', 'v1.0.0'],
  ['v1.0', 'v1.0.0'],
  ['v1.0.0', 'v1.0.0'],
  ['v1.2', 'v1.2.0'],
  ['v1.2.0', 'v1.2.0'],
  ['v1.2.3-456', 'v1.2.3-456'],
  ['v1.2.3-456.789', 'v1.2.3-456.789'],
  ['v1.2.3-456-789', 'v1.2.3-456-789'],
  ['v1.2.3-456a', 'v1.2.3-456a'],
  ['v1.2.3-pre', 'v1.2.3-pre'],
  ['v1.2.3-pre+meta', 'v1.2.3-pre'],
  ['v1.2.3-pre.1', 'v1.2.3-pre.1'],
  ['v1.2.3-zzz', 'v1.2.3-zzz'],
  ['v1.2.3', 'v1.2.3'],
  ['v1.2.3+meta', 'v1.2.3'],
  ['v1.2.3+meta-pre', 'v1.2.3'],
  ['v1.2.3+meta-pre.sha.256a', 'v1.2.3'],
];

function errorCode(work: () => unknown): string | null {
  try {
    work();
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(PatchdeckError);
    return (error as PatchdeckError).code;
  }
}

describe('compareGoVersions with golang.org/x/mod/semver test vectors', () => {
  const valid = X_MOD_TESTS.filter(([, canonical]) => canonical !== '');
  const invalid = X_MOD_TESTS.filter(([, canonical]) => canonical === '');

  it('orders every pair of valid versions as TestCompare expects', () => {
    const wrong: string[] = [];
    valid.forEach(([a, ca], i) =>
      valid.forEach(([b, cb], j) => {
        const expected = ca === cb ? 0 : i < j ? -1 : 1;
        if (compareGoVersions(a, b) !== expected) wrong.push(`${a} vs ${b}`);
      }),
    );
    expect(valid).toHaveLength(24);
    expect(wrong).toEqual([]);
  });

  it('and its explicit cases: v1 = v1, v2 > v1, v1.19 < v1.2 is false (numbers, not text)', () => {
    expect(compareGoVersions('v1', 'v1')).toBe(0);
    expect(compareGoVersions('v2', 'v1')).toBe(1);
    expect(compareGoVersions('v1', 'v2')).toBe(-1);
    expect(compareGoVersions('v1.19', 'v1.2')).toBe(1);
  });

  // x/mod/semver orders invalid strings lowest; Patchdeck refuses them instead of guessing.
  it.each(invalid)('refuses %j', (version) => {
    expect(errorCode(() => compareGoVersions(version, 'v1.0.0'))).toBe('PD_VERSION_INVALID');
  });

  it.each(['v01.2.3', 'v1.2.3-01', 'v1.2.3.4', 'V1.2.3', 'v1.2.3-', 'v1.2.3+', 'v1.2.3-a..b', '', 'latest'])('refuses %j', (version) => {
    expect(errorCode(() => compareGoVersions(version, 'v1.0.0'))).toBe('PD_VERSION_INVALID');
  });
});

describe('compareGoVersions on the spellings of the OSV Go ecosystem and Go toolchains', () => {
  it('takes the v as optional: OSV writes 1.2.3, go.mod writes v1.2.3', () => {
    expect(compareGoVersions('1.2.3', 'v1.2.3')).toBe(0);
    expect(compareGoVersions('0.3.6', 'v0.3.7')).toBe(-1);
  });

  it('orders pseudo-versions as prereleases: by base version, then by timestamp', () => {
    const ordered = [
      'v0.0.0-20190308221718-c2843e01d9a2',
      '0.0.0-20201216223049-8b5274cf687f', // the fix of GO-2021-0227 (golang.org/x/crypto)
      'v0.0.0-20201217014255-9d1352758620',
      'v0.1.0',
      'v1.2.3',
      'v1.2.4-0.20210101000000-abcdef123456', // a pseudo-version after v1.2.3 sorts before v1.2.4
      'v1.2.4',
    ];
    ordered.forEach((a, i) => ordered.forEach((b, j) => expect(compareGoVersions(a, b), `${a} vs ${b}`).toBe(i < j ? -1 : i > j ? 1 : 0)));
  });

  it('ignores +incompatible and other build metadata', () => {
    expect(compareGoVersions('v20.10.14+incompatible', '20.10.14')).toBe(0);
    expect(compareGoVersions('v20.10.13+incompatible', '20.10.14+incompatible')).toBe(-1);
    expect(compareGoVersions('v2.0.3-0.20180322193309-b565731e1464+incompatible', 'v2.0.3')).toBe(-1);
  });

  // golang/vuln internal/semver TestGoTagToSemver and TestLess.
  it('reads toolchain tags as the Go vulnerability database does', () => {
    expect(compareGoVersions('go1.19', 'v1.19.0')).toBe(0);
    expect(compareGoVersions('go1.20-pre4', 'v1.20.0-pre.4')).toBe(0);
    expect(compareGoVersions('go1.21rc2', '1.21.0-rc.2')).toBe(0);
    expect(compareGoVersions('go1.21rc2', 'go1.21')).toBe(-1);
    expect(compareGoVersions('go1', 'v1.0.0')).toBe(0);
    expect(compareGoVersions('go1.19.1', 'go1.19')).toBe(1);
    expect(compareGoVersions('go1.12.2', 'go1.18')).toBe(-1);
    expect(compareGoVersions('v0.2.1', 'v0.3.0')).toBe(-1);
    expect(compareGoVersions('v1.20.0-pre4', 'v1.20.0-pre4.4')).toBe(-1);
    expect(compareGoVersions('v1.20.0-pre4', 'v1.20.0-pre.4')).toBe(1);
  });

  it('compares long numbers exactly', () => {
    expect(compareGoVersions('v1.99999999999999999998.0', 'v1.99999999999999999999.0')).toBe(-1);
  });
});
