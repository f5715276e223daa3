import { PatchdeckError } from '../errors.js';
import { compareDebianVersions } from './deb.js';
import { comparePep440Versions } from './pep440.js';
import { compareRpmVersions } from './rpm.js';
import { compareSemverVersions } from './semver.js';

/**
 * Version ordering per scheme. Each comparator returns -1, 0 or 1 and throws a PatchdeckError
 * (PD_VERSION_INVALID) for a string its scheme cannot read.
 */
export type VersionScheme = 'deb' | 'rpm' | 'semver' | 'pep440';

export const VERSION_SCHEMES: readonly VersionScheme[] = ['deb', 'rpm', 'semver', 'pep440'];

export type Ordering = -1 | 0 | 1;

const COMPARATORS: Record<VersionScheme, (a: string, b: string) => Ordering> = {
  deb: compareDebianVersions,
  rpm: compareRpmVersions,
  semver: compareSemverVersions,
  pep440: comparePep440Versions,
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
 * `Ubuntu:Pro:16.04:LTS`, `AlmaLinux:9`, `Rocky Linux:9`, `Red Hat:…`, `npm`, `PyPI`.
 */
export function schemeForEcosystem(ecosystem: string): VersionScheme | null {
  const family = ecosystem.split(':')[0] ?? '';
  switch (family) {
    case 'Debian':
    case 'Ubuntu':
      return 'deb';
    case 'AlmaLinux':
    case 'Rocky Linux':
    case 'Red Hat':
    case 'openSUSE':
    case 'SUSE':
    case 'Mageia':
      return 'rpm';
    case 'npm':
      return 'semver';
    case 'PyPI':
      return 'pep440';
    default:
      return null;
  }
}

export function invalidVersion(scheme: VersionScheme, version: string, why: string): PatchdeckError {
  return new PatchdeckError('PD_VERSION_INVALID', `"${version}" is not a valid ${scheme} version: ${why}`);
}
