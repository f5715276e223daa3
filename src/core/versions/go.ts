import { compareDigitRuns, invalidVersion, type Ordering } from './index.js';

/**
 * Go module version ordering, as golang.org/x/mod/semver `Compare` does it, with the spellings OSV's
 * `Go` ecosystem and Go toolchains use:
 * - the leading `v` is optional (OSV writes `1.2.3`, go.mod writes `v1.2.3`);
 * - shorthands `v1` and `v1.2` mean v1.0.0 and v1.2.0 and take no prerelease or build;
 * - pseudo-versions (`v0.0.0-20210101000000-abcdef123456`, `v1.2.4-0.2021…`) are plain semver
 *   prereleases, so they order by base version, then timestamp;
 * - build metadata, `+incompatible` included, does not change the order;
 * - toolchain tags (`go1.21.3`, `go1.21`, `go1.21rc2`, `go1.20-pre4`) are read the way the Go
 *   vulnerability database converts them: v1.21.3, v1.21.0, v1.21.0-rc.2, v1.20.0-pre.4.
 * x/mod/semver orders an invalid string below every valid one; Patchdeck refuses it instead.
 */
export function compareGoVersions(a: string, b: string): Ordering {
  const x = parseGo(a);
  const y = parseGo(b);
  for (const part of ['major', 'minor', 'patch'] as const) {
    const order = compareDigitRuns(x[part], y[part]);
    if (order !== 0) return order;
  }
  return comparePrerelease(x.prerelease, y.prerelease);
}

interface GoVersion {
  major: string;
  minor: string;
  patch: string;
  /** Dot-separated identifiers, empty for a release. */
  prerelease: string[];
}

const NUMBER = '(0|[1-9][0-9]*)';
const IDENTIFIER = '[0-9A-Za-z-]+';
const FULL = new RegExp(`^${NUMBER}\\.${NUMBER}\\.${NUMBER}(?:-(${IDENTIFIER}(?:\\.${IDENTIFIER})*))?(?:\\+${IDENTIFIER}(?:\\.${IDENTIFIER})*)?$`);
const SHORT = new RegExp(`^${NUMBER}(?:\\.${NUMBER})?$`);
// x/vuln's GoTagToSemver pattern (go1.21, go1.21.3, go1.21rc2, go1.20-pre4).
const TOOLCHAIN = /^go(\d+)\.(\d+)(?:\.(\d+))?(?:(beta|rc|-pre)(\d+))?$/;

function parseGo(version: string): GoVersion {
  if (version === 'go1') return { major: '1', minor: '0', patch: '0', prerelease: [] };
  const tag = TOOLCHAIN.exec(version);
  if (tag !== null) {
    const [, major, minor, patch, kind, number] = tag;
    const prerelease = kind === undefined ? [] : [kind.replace('-', ''), number!];
    return { major: major!, minor: minor!, patch: patch ?? '0', prerelease };
  }
  const bare = version.startsWith('v') ? version.slice(1) : version;
  const full = FULL.exec(bare);
  if (full !== null) {
    const prerelease = full[4] === undefined ? [] : full[4].split('.');
    // Numeric prerelease identifiers may not have leading zeros (semver 2.0.0 §9).
    if (prerelease.every((id) => !/^0[0-9]+$/.test(id))) return { major: full[1]!, minor: full[2]!, patch: full[3]!, prerelease };
  }
  const short = SHORT.exec(bare);
  if (short !== null) return { major: short[1]!, minor: short[2] ?? '0', patch: '0', prerelease: [] };
  throw invalidVersion('go', version, 'expected a Go module version such as v1.2.3, 1.2.3, v0.0.0-20210101000000-abcdef123456, v2.0.0+incompatible or go1.21.3');
}

/** Semver 2.0.0 §11: a release is above its prereleases; identifiers compare left to right. */
function comparePrerelease(x: string[], y: string[]): Ordering {
  if (x.length === 0 || y.length === 0) return x.length === y.length ? 0 : x.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const a = x[i];
    const b = y[i];
    if (a === undefined) return -1;
    if (b === undefined) return 1;
    const aNumeric = /^[0-9]+$/.test(a);
    const bNumeric = /^[0-9]+$/.test(b);
    if (aNumeric && bNumeric) {
      const order = compareDigitRuns(a, b);
      if (order !== 0) return order;
    } else if (aNumeric !== bNumeric) {
      return aNumeric ? -1 : 1;
    } else if (a !== b) {
      return a < b ? -1 : 1;
    }
  }
  return 0;
}
