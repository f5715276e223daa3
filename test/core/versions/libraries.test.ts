import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PatchdeckError } from '../../../src/core/errors.js';
import { comparePep440Versions } from '../../../src/core/versions/pep440.js';
import { compareSemverVersions } from '../../../src/core/versions/semver.js';
import { FIXTURES } from './support.js';

function readJson<T>(name: string): T {
  return JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as T;
}

function errorOf(work: () => unknown): PatchdeckError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(PatchdeckError);
    return error as PatchdeckError;
  }
  throw new Error('expected an error');
}

describe('compareSemverVersions with node-semver test vectors', () => {
  const vectors = readJson<{ greater: [string, string, boolean][]; equal: [string, string, boolean][] }>('node-semver-vectors.json');
  // "=1.2.3" and "v 1.2.3" are forms only node-semver's loose mode reads; the rest are strict.
  const looseOnly = (version: string) => /=|v\s/.test(version);
  const strict = (rows: [string, string, boolean][]) => rows.filter(([a, b]) => !looseOnly(a) && !looseOnly(b));
  const loose = (rows: [string, string, boolean][]) => rows.filter(([a, b]) => looseOnly(a) || looseOnly(b));

  it.each(strict(vectors.greater))('%j > %j', (a, b) => {
    expect(compareSemverVersions(a, b)).toBe(1);
    expect(compareSemverVersions(b, a)).toBe(-1);
  });

  it.each(strict(vectors.equal))('%j = %j', (a, b) => {
    expect(compareSemverVersions(a, b)).toBe(0);
  });

  it.each(loose(vectors.equal))('refuses the loose form in %j = %j, naming the strict spelling', (a, b) => {
    const error = errorOf(() => compareSemverVersions(a, b));
    expect(error.code).toBe('PD_VERSION_INVALID');
    expect(error.message).toMatch(/a loose form; write "1\.2\.3/);
  });

  it('covers both kinds of vectors', () => {
    expect(strict(vectors.greater)).toHaveLength(31);
    expect(strict(vectors.equal)).toHaveLength(11);
    expect(loose(vectors.equal)).toHaveLength(26);
  });

  it('accepts a leading v and ignores build metadata, as node-semver does', () => {
    expect(compareSemverVersions('v1.2.3', '1.2.3')).toBe(0);
    expect(compareSemverVersions('1.0.0+build.1', '1.0.0+build.2')).toBe(0);
    expect(compareSemverVersions('1.0.0-rc.1', '1.0.0')).toBe(-1);
  });

  it.each(['1.2', '01.2.3', 'V1.2.3', '1.2.3.4', '', 'latest'])('refuses %j', (version) => {
    expect(errorOf(() => compareSemverVersions(version, '1.0.0')).code).toBe('PD_VERSION_INVALID');
  });
});

describe('comparePep440Versions with packaging test vectors', () => {
  const vectors = readJson<{ sorted: string[]; invalid: string[]; equal: [string, string][] }>('packaging-pep440-vectors.json');

  it('orders every pair of the sorted VERSIONS list as listed', () => {
    const wrong: string[] = [];
    vectors.sorted.forEach((a, i) =>
      vectors.sorted.forEach((b, j) => {
        const expected = i < j ? -1 : i > j ? 1 : 0;
        if (comparePep440Versions(a, b) !== expected) wrong.push(`${a} vs ${b}`);
      }),
    );
    expect(vectors.sorted).toHaveLength(92);
    expect(wrong).toEqual([]);
  });

  it.each(vectors.equal)('%j = %j', (a, b) => {
    expect(comparePep440Versions(a, b)).toBe(0);
  });

  it.each(vectors.invalid)('refuses %j', (version) => {
    expect(errorOf(() => comparePep440Versions('1.0', version)).code).toBe('PD_VERSION_INVALID');
  });
});
