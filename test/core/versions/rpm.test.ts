import { describe, expect, it } from 'vitest';
import { PatchdeckError } from '../../../src/core/errors.js';
import { compareRpmVersions, parseRpmVersion, rpmvercmp } from '../../../src/core/versions/rpm.js';
import { readVectorFile } from './support.js';

function invalidCode(evr: string): string | null {
  try {
    parseRpmVersion(evr);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(PatchdeckError);
    return (error as PatchdeckError).code;
  }
}

describe('compareRpmVersions against rpm test vectors (tests/rpmvercmp.at)', () => {
  const vectors = readVectorFile('rpmvercmp.txt');

  it('has all the vectors', () => {
    expect(vectors.length).toBe(97); // 91 active upstream + 6 documented oddities
  });

  it.each(vectors)('%s vs %s = %i', (a, b, expected) => {
    // rpm's test calls rpm.vercmp, which parses each side as an EVR, as compareRpmVersions does.
    expect(compareRpmVersions(a, b)).toBe(expected);
    expect(rpmvercmp(a, b)).toBe(expected);
  });
});

describe('compareRpmVersions on whole EVRs', () => {
  it.each([
    // FIELD-NOTES traps: plain rpmvercmp over the whole string gets these wrong.
    ['1.9.13p3-1.el9', '1.9.13-1.el9', 1],
    ['1:1.0-1.el9', '2.0-1.el9', 1],
    ['0:2.0-1', '2.0-1', 0],
    ['32:9.16.23-1.el9', '9.18.0-1.el9', 1],
    // "^" sorts after the base version but before any further segment
    ['1.0^', '1.0.1', -1],
    ['1.0^', '1.0', 1],
    // all separators are equal and a trailing "." is ignored (unlike dpkg)
    ['1.0+1', '1.0.1', 0],
    ['1.0.', '1.0', 0],
    ['1.0_1-1', '1.0.1-1', 0],
    // "~" sorts before the end of the string
    ['1.0~rc1-1', '1.0-1', -1],
    // real distro strings
    ['1:8.9p1-3.el9', '8.9p1-10.el9', 1],
    ['1:8.7p1-38.el9_4.1', '1:8.7p1-38.el9', 1],
    ['2.9.13-6.el9_4.alma.1', '2.9.13-6.el9_4', 1],
    ['3.0.7-27.el9.alma.1', '3.0.7-28.el9', -1],
    ['1:3.0.7-27.el9', '3.0.7-28.el9', 1],
    ['5.14.0-427.13.1.el9_4', '5.14.0-427.2.1.el9_4', 1],
    // the last hyphen starts the release
    ['1.0-1-2', '1.0-1-10', -1],
    // a release beats none
    ['1.0-0', '1.0', 1],
  ] as const)('%s vs %s = %i', (a, b, expected) => {
    expect(compareRpmVersions(a, b)).toBe(expected);
    expect(compareRpmVersions(b, a)).toBe(-expected || 0);
  });

  it('shows why whole-string rpmvercmp is wrong for packages', () => {
    expect(rpmvercmp('1.9.13p3-1.el9', '1.9.13-1.el9')).toBe(-1);
    expect(rpmvercmp('1:1.0-1', '2.0-1')).toBe(-1);
  });

  it('compares epochs and digit runs of any length without rounding', () => {
    const big = '98765432109876543210987';
    expect(compareRpmVersions(`${big}1:1.0`, `${big}2:0.1`)).toBe(-1);
    expect(compareRpmVersions(`000${big}:1.0`, `${big}:1.0`)).toBe(0);
    expect(compareRpmVersions(`1.${big}1-1`, `1.${big}2-1`)).toBe(-1);
  });

  it('splits the EVR as rpm does', () => {
    expect(parseRpmVersion('1:8.9p1-3.el9')).toEqual({ epoch: '1', version: '8.9p1', release: '3.el9' });
    expect(parseRpmVersion('8.9p1')).toEqual({ epoch: '0', version: '8.9p1', release: null });
    expect(parseRpmVersion('1.0-1-2')).toEqual({ epoch: '0', version: '1.0-1', release: '2' });
  });

  it.each(['', ' 1.0', '1.0 ', ':1.0', 'a:1.0', '1:', '1:1:1', '1.0-', '-1', '1.0%{dist}', '1.1.α', '1.0\n'])('refuses %j', (evr) => {
    expect(invalidCode(evr)).toBe('PD_VERSION_INVALID');
  });

  it('says what is wrong in the message', () => {
    expect(() => compareRpmVersions('1.0', 'x:1.0')).toThrow(`"x:1.0" is not a valid rpm version: the epoch before ':' must be a number`);
  });
});
