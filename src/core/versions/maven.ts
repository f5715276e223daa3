import { compareDigitRuns, invalidVersion, type Ordering } from './index.js';

/**
 * Maven's version ordering: org.apache.maven.artifact.versioning.ComparableVersion as shipped in
 * Maven 3.8.7 (checked item by item against that jar's bytecode and, in the tests, against the jar
 * itself). A version is a list of items split at `.`, at `-` (which opens a sub-list) and at every
 * switch between digits and letters; trailing "null" items (0, "", "ga", "final", "release") are
 * dropped from each list, so `1.0.0` = `1` and `1-ga` = `1`. Qualifiers order
 * alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp < anything else
 * (others compare as text, lower-cased); `a1`/`b1`/`m1` mean alpha-1/beta-1/milestone-1.
 *
 * Maven reads any string; Patchdeck refuses the empty string and anything outside printable ASCII
 * (Java's Unicode digit rules and case folding are not worth guessing at for advisory data).
 */
export function compareMavenVersions(a: string, b: string): Ordering {
  return sign(compareItems(parseMaven(a), parseMaven(b)));
}

/** Digit items keep Maven's three widths: the type, not only the value, takes part in the order. */
type NumberKind = 'int' | 'long' | 'big';

type Item =
  | { type: 'number'; kind: NumberKind; digits: string }
  | { type: 'string'; value: string }
  | { type: 'list'; items: Item[] };

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'] as const;
const ALIASES: Record<string, string> = { ga: '', final: '', release: '', cr: 'rc' };
const RELEASE_INDEX = String(QUALIFIERS.indexOf(''));
const KIND_RANK: Record<NumberKind, number> = { int: 0, long: 1, big: 2 };

function sign(value: number): Ordering {
  return value < 0 ? -1 : value > 0 ? 1 : 0;
}

function parseMaven(version: string): Item & { type: 'list' } {
  if (version === '') throw invalidVersion('maven', version, 'the version is empty');
  if (!/^[\x21-\x7e]+$/.test(version)) throw invalidVersion('maven', version, 'expected printable ASCII without spaces, such as 2.17.1 or 1.0-RC2');
  const text = version.toLowerCase();
  const root: Item & { type: 'list' } = { type: 'list', items: [] };
  let list = root;
  const stack = [root];
  const openList = () => {
    const child: Item & { type: 'list' } = { type: 'list', items: [] };
    list.items.push(child);
    list = child;
    stack.push(child);
  };
  let isDigit = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '.' || c === '-') {
      list.items.push(i === start ? numberItem('0') : parseItem(isDigit, text.slice(start, i)));
      start = i + 1;
      if (c === '-') openList();
    } else if (c >= '0' && c <= '9') {
      if (!isDigit && i > start) {
        // "1.0.0.X1" < "1.0.0-X2": a qualifier after other items starts its own sub-list.
        if (list.items.length > 0) openList();
        list.items.push(stringItem(text.slice(start, i), true));
        start = i;
        openList();
      }
      isDigit = true;
    } else {
      if (isDigit && i > start) {
        list.items.push(parseItem(true, text.slice(start, i)));
        start = i;
        openList();
      }
      isDigit = false;
    }
  }
  if (text.length > start) {
    if (!isDigit && list.items.length > 0) openList();
    list.items.push(parseItem(isDigit, text.slice(start)));
  }
  // Innermost lists first, as Maven pops its stack.
  for (let i = stack.length - 1; i >= 0; i--) normalize(stack[i]!);
  return root;
}

function parseItem(isDigit: boolean, text: string): Item {
  return isDigit ? numberItem(text) : stringItem(text, false);
}

function numberItem(text: string): Item {
  // Maven strips leading zeros but keeps an all-zero run whole, and picks the width from the length.
  const firstNonZero = text.search(/[^0]/);
  const digits = firstNonZero === -1 ? text : text.slice(firstNonZero);
  const kind: NumberKind = digits.length <= 9 ? 'int' : digits.length <= 18 ? 'long' : 'big';
  return { type: 'number', kind, digits };
}

function stringItem(text: string, followedByDigit: boolean): Item {
  let value = text;
  if (followedByDigit && value.length === 1) {
    if (value === 'a') value = 'alpha';
    else if (value === 'b') value = 'beta';
    else if (value === 'm') value = 'milestone';
  }
  return { type: 'string', value: ALIASES[value] ?? value };
}

function comparableQualifier(value: string): string {
  const index = (QUALIFIERS as readonly string[]).indexOf(value);
  return index === -1 ? `${QUALIFIERS.length}-${value}` : String(index);
}

function isNull(item: Item): boolean {
  if (item.type === 'number') return /^0+$/.test(item.digits);
  if (item.type === 'string') return comparableQualifier(item.value) === RELEASE_INDEX;
  return item.items.length === 0;
}

function normalize(list: Item & { type: 'list' }): void {
  for (let i = list.items.length - 1; i >= 0; i--) {
    const last = list.items[i]!;
    if (isNull(last)) list.items.splice(i, 1);
    else if (last.type !== 'list') break;
  }
}

/** Java's String.compareTo sign: UTF-16 code units, which is what JS `<` compares. */
function compareText(a: string, b: string): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

/** `Item.compareTo(other)`, with `null` standing for "the other list has run out". */
function compareItem(item: Item, other: Item | null): number {
  if (item.type === 'number') {
    if (other === null) return isNull(item) ? 0 : 1;
    if (other.type === 'number') {
      const rank = KIND_RANK[item.kind] - KIND_RANK[other.kind];
      return rank !== 0 ? rank : compareDigitRuns(item.digits, other.digits);
    }
    return 1; // 1.1 > 1-sp and 1.1 > 1-1
  }
  if (item.type === 'string') {
    if (other === null) return compareText(comparableQualifier(item.value), RELEASE_INDEX);
    if (other.type === 'string') return compareText(comparableQualifier(item.value), comparableQualifier(other.value));
    return -1; // 1.any < 1.1 and 1.any < 1-1
  }
  if (other === null) {
    for (const child of item.items) {
      const result = compareItem(child, null);
      if (result !== 0) return result;
    }
    return 0;
  }
  if (other.type === 'number') return -1; // 1-1 < 1.0.x
  if (other.type === 'string') return 1; // 1-1 > 1-sp
  return compareItems(item, other);
}

function compareItems(left: Item & { type: 'list' }, right: Item & { type: 'list' }): number {
  const length = Math.max(left.items.length, right.items.length);
  for (let i = 0; i < length; i++) {
    const l = left.items[i] ?? null;
    const r = right.items[i] ?? null;
    const result = l === null ? (r === null ? 0 : -compareItem(r, null)) : compareItem(l, r);
    if (result !== 0) return result;
  }
  return 0;
}
