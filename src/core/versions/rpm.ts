import { compareDigitRuns, invalidVersion, type Ordering } from './index.js';

/**
 * RPM ordering of whole EVRs (`[epoch:]version[-release]`), equal to rpm's labelCompare /
 * rpm.vercmp (rpmverCmp in rpmio/rpmver.c): the epoch (missing = 0) first, then the version, then
 * the release, each with rpmvercmp. Running rpmvercmp over the whole string instead would let
 * `1.9.13p3-1.el9` sort before `1.9.13-1.el9` and ignore a higher epoch.
 *
 * rpm itself reads any non-empty string. Patchdeck refuses what no real package carries: spaces or
 * control characters, an empty or non-numeric epoch, a `:` anywhere but after the epoch, an empty
 * version or release, and characters other than ASCII letters, digits and . _ + ~ ^ -.
 */
export interface RpmVersion {
  /** Digits only (any length); '0' when the string has none. */
  epoch: string;
  version: string;
  /** null when there is no release: an EVR with a release sorts after the same one without. */
  release: string | null;
}

const EVR_CHARS = /^[A-Za-z0-9._+~^:-]+$/;

export function parseRpmVersion(evr: string): RpmVersion {
  const fail = (why: string) => invalidVersion('rpm', evr, why);
  if (evr === '') throw fail('it is empty');
  if (!EVR_CHARS.test(evr)) {
    const bad = [...evr].find((c) => !EVR_CHARS.test(c)) ?? '';
    throw fail(`it may only hold letters, digits and . _ + ~ ^ - : (found ${JSON.stringify(bad)})`);
  }
  let epoch = '0';
  let rest = evr;
  const colon = evr.indexOf(':');
  if (colon >= 0) {
    epoch = evr.slice(0, colon);
    if (!/^[0-9]+$/.test(epoch)) throw fail("the epoch before ':' must be a number");
    rest = evr.slice(colon + 1);
    if (rest.includes(':')) throw fail("only the epoch may be followed by ':'");
  }
  // As in rpm, the LAST hyphen starts the release.
  const hyphen = rest.lastIndexOf('-');
  const version = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  const release = hyphen >= 0 ? rest.slice(hyphen + 1) : null;
  if (version === '') throw fail('the version is empty');
  if (release === '') throw fail("the release after the last '-' is empty");
  return { epoch, version, release };
}

export function compareRpmVersions(a: string, b: string): Ordering {
  const x = parseRpmVersion(a);
  const y = parseRpmVersion(b);
  return (
    rpmvercmp(x.epoch, y.epoch) ||
    rpmvercmp(x.version, y.version) ||
    (x.release === null || y.release === null ? compareMissing(x.release, y.release) : rpmvercmp(x.release, y.release))
  );
}

function compareMissing(a: string | null, b: string | null): Ordering {
  if (a === b) return 0;
  return a === null ? -1 : 1;
}

/**
 * rpmvercmp (rpmio/rpmvercmp.c). Strings split into runs of ASCII digits and runs of ASCII
 * letters; everything else separates runs and all separators are equal (`1.0` = `1_0`, a trailing
 * `.` is ignored). Rules, in the order rpm applies them at each step:
 * - `~` sorts before anything, even the end of the string (`1.0~rc1` < `1.0`);
 * - `^` sorts after the end of the string but before anything else (`1.0` < `1.0^git1` < `1.0.1`);
 * - digit runs compare as numbers of any length; letter runs compare as bytes;
 * - a digit run is newer than a letter run at the same place;
 * - when all runs are equal, the string with something left over is newer.
 */
export function rpmvercmp(a: string, b: string): Ordering {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && isSeparator(a[i]!)) i++;
    while (j < b.length && isSeparator(b[j]!)) j++;
    const ca = a[i];
    const cb = b[j];

    if (ca === '~' || cb === '~') {
      if (ca !== '~') return 1;
      if (cb !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (ca === '^' || cb === '^') {
      if (ca === undefined) return -1;
      if (cb === undefined) return 1;
      if (ca !== '^') return 1;
      if (cb !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (ca === undefined || cb === undefined) break;

    // The run type is set by `a`; `b` contributes a run of the same type, possibly empty.
    const numeric = isDigit(ca);
    const inRun = numeric ? isDigit : isLetter;
    const ra = runAt(a, i, inRun);
    const rb = runAt(b, j, inRun);
    if (rb === '') return numeric ? 1 : -1;
    const order = numeric ? compareDigitRuns(ra, rb) : ra === rb ? 0 : ra < rb ? -1 : 1;
    if (order !== 0) return order;
    i += ra.length;
    j += rb.length;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

function isLetter(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

function isSeparator(c: string): boolean {
  return !isDigit(c) && !isLetter(c) && c !== '~' && c !== '^';
}

function runAt(s: string, from: number, inRun: (c: string) => boolean): string {
  let end = from;
  while (end < s.length && inRun(s[end]!)) end++;
  return s.slice(from, end);
}
