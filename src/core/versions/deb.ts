import { compareDigitRuns, invalidVersion, type Ordering } from './index.js';

/**
 * Debian version ordering, equal to `dpkg --compare-versions` (dpkg's parseversion and verrevcmp in
 * lib/dpkg/parsehelp.c and lib/dpkg/version.c).
 *
 * Form: `[epoch:]upstream[-revision]`. Where dpkg only warns (upstream not starting with a digit,
 * characters outside its set) and where it is laxer than any real package (a signed epoch such as
 * `+1:2`, which strtol lets through), Patchdeck refuses the string: a package version like that is
 * a data error, not something to order.
 */
export interface DebianVersion {
  epoch: number;
  upstream: string;
  /** '' when there is no revision; dpkg orders that the same as `0`. */
  revision: string;
}

// dpkg stores the epoch in an int and refuses anything larger.
const MAX_EPOCH = 2147483647;
const UPSTREAM_CHARS = /^[A-Za-z0-9.+~:-]*$/;
const REVISION_CHARS = /^[A-Za-z0-9.+~]*$/;

export function parseDebianVersion(version: string): DebianVersion {
  const fail = (why: string) => invalidVersion('deb', version, why);
  // dpkg trims spaces and tabs around the version, nothing else.
  const text = version.replace(/^[ \t]+|[ \t]+$/g, '');
  if (text === '') throw fail('it is empty');
  if (/[ \t]/.test(text)) throw fail('it contains a space or tab');

  let epoch = 0;
  let rest = text;
  // Any colon means an epoch: dpkg reads the text before the FIRST colon as the epoch, so a colon
  // inside the upstream version is only possible after an epoch.
  const colon = text.indexOf(':');
  if (colon >= 0) {
    const epochText = text.slice(0, colon);
    if (epochText === '') throw fail("the epoch before ':' is empty");
    if (!/^[0-9]+$/.test(epochText)) throw fail(`the epoch "${epochText}" is not a number`);
    if (compareDigitRuns(epochText, String(MAX_EPOCH)) > 0) throw fail(`the epoch is larger than ${MAX_EPOCH}`);
    epoch = Number(epochText);
    rest = text.slice(colon + 1);
    if (rest === '') throw fail("nothing follows the epoch's ':'");
  }

  // Only the LAST hyphen starts the revision; earlier ones belong to the upstream version.
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  const revision = hyphen >= 0 ? rest.slice(hyphen + 1) : '';
  if (hyphen >= 0 && revision === '') throw fail("the revision after the last '-' is empty");
  if (upstream === '') throw fail('the upstream version is empty');
  if (!/^[0-9]/.test(upstream)) throw fail('the upstream version must start with a digit');
  if (!UPSTREAM_CHARS.test(upstream)) {
    throw fail(`the upstream version may only hold letters, digits and . + ~ - : (found "${firstOutside(upstream, UPSTREAM_CHARS)}")`);
  }
  if (!REVISION_CHARS.test(revision)) {
    throw fail(`the revision may only hold letters, digits and . + ~ (found "${firstOutside(revision, REVISION_CHARS)}")`);
  }
  return { epoch, upstream, revision };
}

export function compareDebianVersions(a: string, b: string): Ordering {
  const x = parseDebianVersion(a);
  const y = parseDebianVersion(b);
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  return compareDebianPart(x.upstream, y.upstream) || compareDebianPart(x.revision, y.revision);
}

/**
 * dpkg's verrevcmp: alternate non-digit and digit stretches. Non-digits compare character by
 * character by weight (below); digit stretches compare as numbers of any length. A missing
 * character weighs 0, so `~` (weight -1) sorts before the end of the string and letters before
 * all other punctuation.
 */
function compareDebianPart(a: string, b: string): Ordering {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a[i]!)) || (j < b.length && !isDigit(b[j]!))) {
      const wa = weight(a[i]);
      const wb = weight(b[j]);
      if (wa !== wb) return wa < wb ? -1 : 1;
      // Equal weights here mean the same character on both sides, never the end of either.
      i++;
      j++;
    }
    const da = digitRunAt(a, i);
    const db = digitRunAt(b, j);
    const order = compareDigitRuns(da, db);
    if (order !== 0) return order;
    i += da.length;
    j += db.length;
  }
  return 0;
}

/** dpkg's order(): end of string and digits 0, `~` -1, letters their code, anything else after letters. */
function weight(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (c === '~') return -1;
  const code = c.charCodeAt(0);
  return /[A-Za-z]/.test(c) ? code : code + 256;
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

function digitRunAt(s: string, from: number): string {
  let end = from;
  while (end < s.length && isDigit(s[end]!)) end++;
  return s.slice(from, end);
}

function firstOutside(s: string, allowed: RegExp): string {
  return [...s].find((c) => !allowed.test(c)) ?? '';
}
