import { PatchdeckError } from '../errors.js';
import { compareDebianVersions } from './deb.js';
import { compareGoVersions } from './go.js';
import { compareMavenVersions } from './maven.js';
import { comparePep440Versions } from './pep440.js';
import { compareRpmVersions } from './rpm.js';
import { compareSemverVersions } from './semver.js';

/**
 * Version ordering per scheme. Each comparator returns -1, 0 or 1 and throws a PatchdeckError
 * (PD_VERSION_INVALID) for a string its scheme cannot read.
 */
export const VERSION_SCHEMES = ['deb', 'rpm', 'semver', 'pep440', 'go', 'maven'] as const;

export type VersionScheme = (typeof VERSION_SCHEMES)[number];

export type Ordering = -1 | 0 | 1;

const COMPARATORS: Record<VersionScheme, (a: string, b: string) => Ordering> = {
  deb: compareDebianVersions,
  rpm: compareRpmVersions,
  semver: compareSemverVersions,
  pep440: comparePep440Versions,
  go: compareGoVersions,
  maven: compareMavenVersions,
};

/**
 * What each scheme follows, and the OSV ecosystem families (the part of the ecosystem string before
 * the first `:`) whose versions it orders. `schemeForEcosystem` and `patchdeck versions schemes`
 * both read this table.
 */
export const VERSION_SCHEME_INFO: Record<VersionScheme, { rules: string; ecosystems: readonly string[] }> = {
  deb: { rules: 'dpkg --compare-versions', ecosystems: ['Debian', 'Ubuntu'] },
  rpm: { rules: 'rpm labelCompare: epoch, then rpmvercmp on version and release', ecosystems: ['AlmaLinux', 'Rocky Linux', 'Red Hat', 'openSUSE', 'SUSE', 'Mageia'] },
  semver: { rules: 'node-semver compare (strict; leading v allowed; build metadata ignored)', ecosystems: ['npm'] },
  pep440: { rules: 'PEP 440 (packaging.version)', ecosystems: ['PyPI'] },
  go: { rules: 'golang.org/x/mod/semver Compare (v optional; pseudo-versions are prereleases; +incompatible ignored; go1.21rc2 toolchain tags)', ecosystems: ['Go'] },
  maven: { rules: 'Maven 3.8 ComparableVersion (alpha < beta < milestone < rc = cr < snapshot < ga = final = release < sp)', ecosystems: ['Maven'] },
};

export function compareVersions(scheme: VersionScheme, a: string, b: string): Ordering {
  return COMPARATORS[scheme](a, b);
}

export function isVersionScheme(value: string): value is VersionScheme {
  return (VERSION_SCHEMES as readonly string[]).includes(value);
}

/**
 * The ordering an OSV ecosystem uses, or null when Patchdeck cannot order its versions (then only
 * exact `versions` lists can match). Ecosystem strings are exact: `Debian:12`, `Ubuntu:22.04:LTS`,
 * `Ubuntu:Pro:16.04:LTS`, `AlmaLinux:9`, `Rocky Linux:9`, `Red Hat:…`, `npm`, `PyPI`, `Go`, `Maven`.
 */
export function schemeForEcosystem(ecosystem: string): VersionScheme | null {
  const family = ecosystem.split(':')[0] ?? '';
  return VERSION_SCHEMES.find((scheme) => VERSION_SCHEME_INFO[scheme].ecosystems.includes(family)) ?? null;
}

export function invalidVersion(scheme: VersionScheme, version: string, why: string): PatchdeckError {
  return new PatchdeckError('PD_VERSION_INVALID', `"${version}" is not a valid ${scheme} version: ${why}`);
}

/**
 * Orders two runs of ASCII digits of any length as numbers. Distro versions carry 20+ digit runs
 * (dates with times, git hashes of digits) that Number() would round, so compare the digit strings:
 * without leading zeros, the longer one is larger; equal lengths compare character by character.
 */
export function compareDigitRuns(a: string, b: string): Ordering {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x === y ? 0 : x < y ? -1 : 1;
}
