/**
 * Version ordering per scheme. Each comparator returns -1, 0 or 1 and throws a PatchdeckError
 * (PD_VERSION_INVALID) for a string its scheme cannot read.
 */
export type VersionScheme = 'deb' | 'rpm' | 'semver' | 'pep440';

export const VERSION_SCHEMES: readonly VersionScheme[] = ['deb', 'rpm', 'semver', 'pep440'];

export type Ordering = -1 | 0 | 1;
