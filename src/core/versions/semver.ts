import { compare, parse } from 'semver';
import { invalidVersion, type Ordering } from './index.js';

/**
 * Semantic Versioning 2.0.0 ordering, equal to node-semver's `compare` in strict mode: what it
 * accepts, Patchdeck accepts — including a leading `v` (`v1.2.3`) and surrounding whitespace, which
 * node-semver trims. Build metadata (`+build.5`) does not change the order. Loose forms that only
 * `{ loose: true }` reads (`=1.2.3`, `1.2.3beta`, `v 1.2.3`) are refused, naming the strict
 * spelling so the caller can fix the data instead of Patchdeck guessing.
 */
export function compareSemverVersions(a: string, b: string): Ordering {
  return compare(checkSemver(a), checkSemver(b));
}

function checkSemver(version: string): string {
  if (parse(version) !== null) return version;
  const loose = parse(version, { loose: true });
  const hint = loose === null ? 'expected MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]' : `a loose form; write "${loose.version}"`;
  throw invalidVersion('semver', version, hint);
}
