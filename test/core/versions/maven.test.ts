import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PatchdeckError } from '../../../src/core/errors.js';
import type { Ordering } from '../../../src/core/versions/index.js';
import { compareMavenVersions } from '../../../src/core/versions/maven.js';
import { picker, type Picker } from './support.js';

/**
 * Vectors from Maven's own ComparableVersionTest.java (apache/maven,
 * maven-artifact/src/test/java/org/apache/maven/artifact/versioning/ComparableVersionTest.java):
 * each list is strictly increasing.
 */
const VERSIONS_QUALIFIER = ['1-alpha2snapshot', '1-alpha2', '1-alpha-123', '1-beta-2', '1-beta123', '1-m2', '1-m11', '1-rc', '1-cr2',
  '1-rc123', '1-SNAPSHOT', '1', '1-sp', '1-sp2', '1-sp123', '1-abc', '1-def', '1-pom-1', '1-1-snapshot', '1-1', '1-2', '1-123'];
// Maven 3.8 reads ".X" after other items as "-X", so 2.0.a = 2.0.0.a = 2-a and sorts below 2-1; the
// older list in that file put 2-1 first and kept 2.0.0.a apart. This is the 3.8 order (checked below).
const VERSIONS_NUMBER = ['2.0', '2.0.a', '2-1', '2.0.2', '2.0.123', '2.1.0', '2.1-a', '2.1b', '2.1-c', '2.1-1', '2.1.0.1',
  '2.2', '2.123', '11.a2', '11.a11', '11.b2', '11.b11', '11.m2', '11.m11', '11', '11.a', '11b', '11c', '11m'];
// testVersionsEqual of the same file.
const EQUAL: [string, string][] = [
  ['1', '1'], ['1', '1.0'], ['1', '1.0.0'], ['1.0', '1.0.0'], ['1', '1-0'], ['1', '1.0-0'], ['1.0', '1.0-0'],
  ['1a', '1.a'], ['1a', '1-a'], ['1a', '1.0-a'], ['1a', '1.0.0-a'], ['1.0a', '1.0.a'], ['1.0.0a', '1.0.0.a'],
  ['1x', '1.x'], ['1x', '1-x'], ['1x', '1.0-x'], ['1x', '1.0.0-x'], ['1.0x', '1.0.x'], ['1.0.0x', '1.0.0.x'],
  ['1ga', '1'], ['1final', '1'], ['1cr', '1rc'], ['1a1', '1alpha1'], ['1b2', '1beta2'], ['1m3', '1milestone3'],
  ['1X', '1x'], ['1A', '1a'], ['1B', '1b'], ['1M', '1m'], ['1Ga', '1'], ['1GA', '1'], ['1Final', '1'], ['1FinaL', '1'],
  ['1FINAL', '1'], ['1Cr', '1Rc'], ['1cR', '1rC'], ['1m3', '1Milestone3'], ['1m3', '1MileStone3'], ['1m3', '1MILESTONE3'],
  ['1-abcdefghijklmnopqrstuvwxyz', '1-ABCDEFGHIJKLMNOPQRSTUVWXYZ'], ['2.0.a', '2.0.0.a'],
];
// testVersionComparing of the same file: each pair is (lower, higher).
const ORDERED: [string, string][] = [
  ['1', '2'], ['1.5', '2'], ['1', '2.5'], ['1.0', '1.1'], ['1.1', '1.2'], ['1.0.0', '1.1'], ['1.0.1', '1.1'], ['1.1', '1.2.0'],
  ['1.0-alpha-1', '1.0'], ['1.0-alpha-1', '1.0-alpha-2'], ['1.0-alpha-1', '1.0-beta-1'], ['1.0-beta-1', '1.0-SNAPSHOT'],
  ['1.0-SNAPSHOT', '1.0'], ['1.0-alpha-1-SNAPSHOT', '1.0-alpha-1'], ['1.0', '1.0-1'], ['1.0-1', '1.0-2'], ['1.0.0', '1.0-1'],
  ['2.0-1', '2.0.1'], ['2.0.1-klm', '2.0.1-lmn'], ['2.0.1', '2.0.1-xyz'], ['2.0.1', '2.0.1-123'], ['2.0.1-xyz', '2.0.1-123'],
];

function expectIncreasing(versions: string[]): void {
  const wrong: string[] = [];
  versions.forEach((a, i) =>
    versions.forEach((b, j) => {
      const expected = i < j ? -1 : i > j ? 1 : 0;
      if (compareMavenVersions(a, b) !== expected) wrong.push(`${a} vs ${b}`);
    }),
  );
  expect(wrong).toEqual([]);
}

describe('compareMavenVersions with Maven ComparableVersionTest vectors', () => {
  it('orders VERSIONS_QUALIFIER as listed (every pair)', () => expectIncreasing(VERSIONS_QUALIFIER));
  it('orders VERSIONS_NUMBER as listed (every pair)', () => expectIncreasing(VERSIONS_NUMBER));

  it.each(EQUAL)('%j = %j', (a, b) => {
    expect(compareMavenVersions(a, b)).toBe(0);
    expect(compareMavenVersions(b, a)).toBe(0);
  });

  it.each(ORDERED)('%j < %j', (a, b) => {
    expect(compareMavenVersions(a, b)).toBe(-1);
    expect(compareMavenVersions(b, a)).toBe(1);
  });
});

describe('compareMavenVersions on what Maven advisories carry', () => {
  it('keeps the qualifier order alpha < beta < milestone < rc = cr < snapshot < release = ga = final < sp', () => {
    expectIncreasing(['2.0-alpha1', '2.0-beta9', '2.0-M2', '2.0-rc1', '2.0-SNAPSHOT', '2.0', '2.0-sp1']);
    expect(compareMavenVersions('2.0-rc1', '2.0-CR1')).toBe(0);
    expect(compareMavenVersions('2.0.RELEASE', '2.0')).toBe(0);
    expect(compareMavenVersions('2.0.Final', '2.0-GA')).toBe(0);
  });

  it('pads with zeros and compares numbers as numbers, however long', () => {
    expect(compareMavenVersions('2.15', '2.15.0.0')).toBe(0);
    expect(compareMavenVersions('2.9', '2.10')).toBe(-1);
    expect(compareMavenVersions('1.20230101000000123', '1.20230101000000124')).toBe(-1);
    expect(compareMavenVersions('1.99999999999999999999', '1.100000000000000000000')).toBe(-1);
  });

  it('orders Spring- and Jackson-style spellings the way Maven does', () => {
    expectIncreasing(['5.3.0-M1', '5.3.0-RC2', '5.3.0', '5.3.0.1', '5.3.1']);
    expectIncreasing(['2.12.7', '2.12.7.1', '2.13.0-rc1', '2.13.0']);
    // a dash opens a sub-list: 2.0-1 (a build of 2.0) sorts below 2.0.1
    expect(compareMavenVersions('2.0-1', '2.0.1')).toBe(-1);
  });

  it.each(['', ' ', '1.0 beta', 'ä1', '1.0\t'])('refuses %j', (version) => {
    let error: unknown;
    try {
      compareMavenVersions(version, '1.0');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PatchdeckError);
    expect((error as PatchdeckError).code).toBe('PD_VERSION_INVALID');
  });
});

/**
 * Differential test against the real ComparableVersion: the maven-artifact jar of the Maven on this
 * machine (Debian's maven 3.8.7). Its main method prints, for each adjacent pair of arguments,
 * "   A op B" with op one of <, ==, >. Arguments go straight to the JVM (no shell).
 */
const JAR = '/usr/share/maven/lib/maven-artifact-3.x.jar';
const JAVA = '/usr/bin/java';
const oracleMissing = !existsSync(JAVA) ? `${JAVA} is not installed` : !existsSync(JAR) ? `${JAR} is not installed (Debian package maven)` : null;
if (oracleMissing) console.warn(`skipping the Maven ComparableVersion differential tests: ${oracleMissing}`);

const QUALIFIERS = ['alpha', 'a', 'b', 'm', 'beta', 'milestone', 'rc', 'cr', 'snapshot', 'SNAPSHOT', 'ga', 'final', 'release', 'sp',
  'abc', 'xyz', 'RELEASE', 'Final', 'RC', 'M', 'pom', 'Beta', 'jre', 'android'];

function numberToken(p: Picker): string {
  const roll = p.int(10);
  if (roll === 0) return '0'.repeat(1 + p.int(12)); // all zeros, sometimes wide enough to be a Java long
  if (roll === 1) return p.digits();
  if (roll === 2) return '1' + '0'.repeat(8 + p.int(3)); // around the int/long boundary (9 and 10 digits)
  return String(p.int(20));
}

function randomMavenVersion(p: Picker): string {
  let version = '';
  const tokens = 1 + p.int(5);
  for (let i = 0; i < tokens; i++) {
    if (i > 0) version += p.pick(['.', '.', '-', '', '-']);
    version += p.chance(0.6) ? numberToken(p) : p.pick(QUALIFIERS);
  }
  if (p.chance(0.05)) version = p.pick(['.', '-']) + version;
  if (p.chance(0.05)) version += p.pick(['.', '-']);
  return version;
}

function respell(p: Picker, version: string): string {
  return p.pick([`${version}.0`, `${version}-0`, version.toUpperCase(), `${version}-ga`, `${version}.final`, version.replace('-', '.'), `0${version}`]);
}

function askMaven(versions: string[]): Promise<Ordering[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(JAVA, ['-cp', JAR, 'org.apache.maven.artifact.versioning.ComparableVersion', ...versions], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`java exited with ${code}: ${err}`));
      const lines = out.split('\n').filter((line) => /^ {3}\S/.test(line));
      if (lines.length !== versions.length - 1) return reject(new Error(`expected ${versions.length - 1} comparisons, read ${lines.length}`));
      resolve(lines.map((line, i) => {
        const op = line.slice(3 + versions[i]!.length + 1).split(' ')[0];
        return op === '<' ? -1 : op === '>' ? 1 : 0;
      }));
    });
  });
}

describe.skipIf(oracleMissing !== null)('compareMavenVersions against Maven 3.8.7 ComparableVersion', () => {
  it('agrees on 1,200 adjacent pairs of generated versions', { timeout: 60_000 }, async () => {
    const p = picker(0x4d617665);
    const versions: string[] = [];
    while (versions.length < 1201) {
      const previous = versions.at(-1);
      // Now and then a respelling of the previous version, so that "equal" is asked often too.
      versions.push(previous !== undefined && p.chance(0.15) ? respell(p, previous) : randomMavenVersion(p));
    }
    const expected = await askMaven(versions);
    const disagree = expected.flatMap((want, i) => {
      const got = compareMavenVersions(versions[i]!, versions[i + 1]!);
      return got === want ? [] : [`${versions[i]} vs ${versions[i + 1]}: Maven ${want}, Patchdeck ${got}`];
    });
    expect(disagree).toEqual([]);
    // The generator must reach all three answers, or the test proves little.
    expect(new Set(expected)).toEqual(new Set([-1, 0, 1]));
    expect(expected.filter((o) => o === 0).length).toBeGreaterThan(60);
  });

  it('agrees that a list sorted by Patchdeck is sorted for Maven too', { timeout: 60_000 }, async () => {
    const p = picker(0x536f7274);
    const sorted = Array.from({ length: 400 }, () => randomMavenVersion(p)).sort(compareMavenVersions);
    const expected = await askMaven(sorted);
    const wrong = expected.flatMap((want, i) => (want === compareMavenVersions(sorted[i]!, sorted[i + 1]!) ? [] : [`${sorted[i]} vs ${sorted[i + 1]}`]));
    expect(wrong).toEqual([]);
  });

  it('agrees on the Maven test vectors and the qualifier spellings of real advisories', { timeout: 60_000 }, async () => {
    const versions = [...VERSIONS_QUALIFIER, ...VERSIONS_NUMBER, ...EQUAL.flat(), ...ORDERED.flat(),
      '2.0-beta9', '2.3.1', '2.4', '2.12.2', '2.13.0', '2.15.0', '2.14.1', '2.17.0', '1.2.17', '5.3.0.RELEASE', '5.3.18', '2.13.4.2', '9.4.51.v20230217', '1.0.0.Final', '31.1-jre', '32.0.0-android'];
    const expected = await askMaven(versions);
    const wrong = expected.flatMap((want, i) => (want === compareMavenVersions(versions[i]!, versions[i + 1]!) ? [] : [`${versions[i]} vs ${versions[i + 1]}`]));
    expect(wrong).toEqual([]);
  });
});
