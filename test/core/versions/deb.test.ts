import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PatchdeckError } from '../../../src/core/errors.js';
import { compareDebianVersions, parseDebianVersion } from '../../../src/core/versions/deb.js';
import { FIXTURES, readVectorFile } from './support.js';

interface DpkgVectors {
  't-version.c': {
    parse: { valid: [string, number, string, string][]; errors: string[]; warnings: string[] };
    compare: [string, string, -1 | 0 | 1][];
  };
  'Dpkg_Version.t': { invalid: string[]; sort: { unsorted: string[]; sorted: string[] } };
}

const vectors = JSON.parse(readFileSync(path.join(FIXTURES, 'dpkg-vectors.json'), 'utf8')) as DpkgVectors;

function invalidCode(version: string): string | null {
  try {
    parseDebianVersion(version);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(PatchdeckError);
    return (error as PatchdeckError).code;
  }
}

describe('compareDebianVersions against dpkg test vectors', () => {
  const compareVectors = readVectorFile('dpkg-compare.txt');

  it('has the vectors of Dpkg_Version.t', () => {
    expect(compareVectors.length).toBe(43);
  });

  it.each(compareVectors)('%s vs %s = %i (Dpkg_Version.t)', (a, b, expected) => {
    expect(compareDebianVersions(a, b)).toBe(expected);
    expect(compareDebianVersions(b, a)).toBe(-expected || 0);
  });

  it.each(vectors['t-version.c'].compare)('%s vs %s = %i (t-version.c)', (a, b, expected) => {
    expect(compareDebianVersions(a, b)).toBe(expected);
  });

  it('sorts the Dpkg_Version.t list the way dpkg does', () => {
    const { unsorted, sorted } = vectors['Dpkg_Version.t'].sort;
    expect([...unsorted].sort(compareDebianVersions)).toEqual(sorted);
  });
});

describe('parseDebianVersion against dpkg test vectors', () => {
  it.each(vectors['t-version.c'].parse.valid)('reads %j as dpkg does', (input, epoch, upstream, revision) => {
    expect(parseDebianVersion(input)).toEqual({ epoch, upstream, revision });
  });

  it.each(vectors['t-version.c'].parse.errors)('refuses %j, which dpkg refuses', (input) => {
    expect(invalidCode(input)).toBe('PD_VERSION_INVALID');
  });

  it.each(vectors['t-version.c'].parse.warnings)('refuses %j, which dpkg warns about', (input) => {
    expect(invalidCode(input)).toBe('PD_VERSION_INVALID');
  });

  it.each(vectors['Dpkg_Version.t'].invalid)('refuses %j (Dpkg_Version.t)', (input) => {
    expect(invalidCode(input)).toBe('PD_VERSION_INVALID');
  });
});

describe('compareDebianVersions rules', () => {
  it.each([
    // separators matter in dpkg: "+" sorts after "." (letters < non-letters, by code)
    ['1.0+1', '1.0.1', -1],
    // a trailing "." counts in dpkg
    ['1.0.', '1.0', 1],
    // "~" sorts before everything, even the end of the string
    ['1.0~rc1', '1.0', -1],
    ['1.0~~', '1.0~', -1],
    ['1.0~rc1-1', '1.0-0', -1],
    // letters before non-letters
    ['1.0a', '1.0+', -1],
    ['1.0a', '1.0.', -1],
    // a higher epoch wins whatever follows
    ['1:1.0', '9.9', 1],
    ['2:0.1', '1:99', 1],
    // only the last hyphen starts the revision
    ['1.0-1-2', '1.0-1-10', -1],
    ['1.0-5-1', '1.0-10', 1], // upstream 1.0-5 > 1.0; split at the first hyphen it would be -1
    // real Ubuntu strings (data/README.md)
    ['1:8.9p1-3ubuntu0.10', '1:8.9p1-3ubuntu0.9', 1],
    ['1.1.1-1ubuntu2.1~18.04.23+esm5', '1.1.1-1ubuntu2.1~18.04.23', 1],
    ['1.1.1-1ubuntu2.1~18.04.23', '1.1.1-1ubuntu2.1', -1],
  ] as const)('%s vs %s = %i', (a, b, expected) => {
    expect(compareDebianVersions(a, b)).toBe(expected);
    expect(compareDebianVersions(b, a)).toBe(-expected || 0);
  });

  it('compares digit runs of any length without rounding', () => {
    const big = '12345678901234567890123';
    expect(Number(`${big}4`) === Number(`${big}5`)).toBe(true); // why Number() is wrong here
    expect(compareDebianVersions(`1.${big}4`, `1.${big}5`)).toBe(-1);
    expect(compareDebianVersions(`1.000${big}`, `1.${big}`)).toBe(0);
    expect(compareDebianVersions(`1.${big}`, '1.99999999999999999999')).toBe(1);
  });

  it('accepts the largest epoch dpkg accepts and refuses one larger', () => {
    expect(compareDebianVersions('2147483647:1', '2147483646:9')).toBe(1);
    expect(invalidCode('2147483648:1')).toBe('PD_VERSION_INVALID');
  });

  it('trims spaces and tabs around the version, as dpkg does', () => {
    expect(compareDebianVersions(' 1.0-1\t', '1.0-1')).toBe(0);
  });

  it('refuses a signed epoch, which dpkg lets through by accident', () => {
    expect(invalidCode('+1:1.0')).toBe('PD_VERSION_INVALID');
    expect(invalidCode('-0:1.0')).toBe('PD_VERSION_INVALID');
  });

  it('says what is wrong in the message', () => {
    expect(() => compareDebianVersions('1.0_1', '1.0')).toThrow('"1.0_1" is not a valid deb version: the upstream version may only hold letters, digits and . + ~ - : (found "_")');
    expect(() => compareDebianVersions('1.0', 'abc')).toThrow('the upstream version must start with a digit');
    expect(() => compareDebianVersions('1.0-', '1.0')).toThrow("the revision after the last '-' is empty");
  });
});
