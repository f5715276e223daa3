import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareDebianVersions, parseDebianVersion } from '../../../src/core/versions/deb.js';
import type { Ordering } from '../../../src/core/versions/index.js';
import { inBatches, picker, runLines, type Picker } from './support.js';

/**
 * Differential test: our ordering against the real `dpkg --compare-versions` over generated
 * versions. dpkg answers one pair per process, so a shell loop per batch feeds it pairs from stdin
 * (the versions never pass through shell parsing) and batches run side by side.
 */
const DPKG = '/usr/bin/dpkg';
const dpkgMissing = existsSync(DPKG) ? null : `${DPKG} is not installed`;
if (dpkgMissing) console.warn(`skipping the dpkg differential tests: ${dpkgMissing}`);

const COMPARE_LOOP = `while read -r a b; do
  if ${DPKG} --compare-versions -- "$a" lt "$b"; then echo -1
  elif ${DPKG} --compare-versions -- "$a" eq "$b"; then echo 0
  else echo 1; fi
done`;

// "bad" when dpkg prints anything (an error or a warning about the syntax) for the version.
const VALIDITY_LOOP = `while IFS= read -r v; do
  if [ -n "$(${DPKG} --compare-versions -- "$v" eq "$v" 2>&1 >/dev/null)" ]; then echo bad; else echo ok; fi
done`;

function debianToken(p: Picker, extra: readonly string[]): string {
  const roll = p.int(10);
  if (roll < 4) return p.digits();
  if (roll < 7) return p.pick(['a', 'b', 'z', 'A', 'Z', 'p', 'rc', 'ubuntu', 'dfsg', 'esm']);
  return p.pick(['.', '.', '+', '~', ...extra]);
}

/** A valid Debian version built from the pieces whose ordering is subtle. */
function randomDebianVersion(p: Picker): string {
  const epoch = p.chance(0.25) ? `${p.pick(['0', '1', '2', '01', '10', '2147483647'])}:` : '';
  const hasRevision = p.chance(0.6);
  // ":" may appear in the upstream version only after an epoch, "-" only before a revision.
  const upstreamExtra = [...(epoch ? [':'] : []), ...(hasRevision ? ['-'] : [])];
  let upstream = p.digits();
  for (let n = p.int(6); n > 0; n--) upstream += debianToken(p, upstreamExtra);
  let revision = '';
  if (hasRevision) {
    revision = p.chance(0.5) ? p.digits() : p.pick(['a', '0', 'ubuntu', '~', '+']);
    for (let n = p.int(4); n > 0; n--) revision += debianToken(p, []);
  }
  return `${epoch}${upstream}${hasRevision ? `-${revision}` : ''}`;
}

/** A version close to `a`, so that many pairs differ in one small, tricky place. */
function nearbyDebianVersion(p: Picker, a: string): string {
  const digitAt = [...a].map((c, i) => (c >= '0' && c <= '9' ? i : -1)).filter((i) => i > a.indexOf(':'));
  const at = digitAt.length > 0 ? p.pick(digitAt) : -1;
  switch (p.int(8)) {
    case 0: return `${a}~`;
    case 1: return `${a}${p.pick(['~rc1', '+1', '.0', '.', 'a', '~~', '+b1'])}`;
    case 2: return at >= 0 ? `${a.slice(0, at)}0${a.slice(at)}` : `${a}0`;
    case 3: return at >= 0 ? `${a.slice(0, at)}${p.int(10)}${a.slice(at + 1)}` : a;
    case 4: return a.includes(':') ? a.slice(a.indexOf(':') + 1) : `1:${a}`;
    case 5: return a.includes('-') ? a.slice(0, a.lastIndexOf('-')) : `${a}-0`;
    case 6: return a.replace(/[.+~]/, p.pick(['.', '+', '~']));
    default: return a;
  }
}

function isValidDebian(version: string): boolean {
  try {
    parseDebianVersion(version);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(dpkgMissing !== null)('compareDebianVersions against dpkg --compare-versions', () => {
  it('orders 3,000 generated pairs exactly as dpkg does', async () => {
    const p = picker(20260923);
    const pairs: [string, string][] = [];
    while (pairs.length < 3000) {
      const a = randomDebianVersion(p);
      const b = p.chance(0.6) ? nearbyDebianVersion(p, a) : randomDebianVersion(p);
      if (isValidDebian(a) && isValidDebian(b)) pairs.push([a, b]);
    }
    const batches = inBatches(pairs, 4);
    const answers = await Promise.all(batches.map((batch) => runLines('sh', ['-c', COMPARE_LOOP], batch.map(([a, b]) => `${a} ${b}`))));
    // dpkg complained about none of them: every generated version is valid to dpkg as well.
    expect(answers.map((answer) => answer.err).join('')).toBe('');
    const dpkgOrders = answers.flatMap((answer) => answer.out.map((line) => Number(line) as Ordering));
    expect(dpkgOrders).toHaveLength(pairs.length);
    const mismatches = pairs
      .map(([a, b], i) => ({ a, b, dpkg: dpkgOrders[i], ours: compareDebianVersions(a, b) }))
      .filter((row) => row.dpkg !== row.ours);
    expect(mismatches).toEqual([]);
    // The generator must reach every outcome, or the test proves little.
    expect(new Set(dpkgOrders)).toEqual(new Set([-1, 0, 1]));
  });

  it('accepts exactly what dpkg accepts without complaint, for 1,000 generated strings', async () => {
    const p = picker(7);
    const alphabet = ['0', '1', '9', '0', '5', 'a', 'Z', '.', '+', '-', '~', ':', ':', '_', '^', '@', ' ', '\t'];
    const strings = new Set<string>();
    while (strings.size < 1000) {
      let s = p.chance(0.7) ? p.digits() : '';
      for (let n = 1 + p.int(7); n > 0; n--) s += p.pick(alphabet);
      // dpkg takes an empty argument as "no version" and a signed epoch through strtol; both are
      // documented differences (see deb.test.ts), so they are left out here.
      if (s !== '' && !/^[ \t]*[+-][0-9]*:/.test(s)) strings.add(s);
    }
    const list = [...strings];
    const answers = await Promise.all(inBatches(list, 4).map((batch) => runLines('sh', ['-c', VALIDITY_LOOP], batch)));
    const dpkgSays = answers.flatMap((answer) => answer.out);
    expect(dpkgSays).toHaveLength(list.length);
    const disagreements = list
      .map((s, i) => ({ s, dpkg: dpkgSays[i], ours: isValidDebian(s) ? 'ok' : 'bad' }))
      .filter((row) => row.dpkg !== row.ours);
    expect(disagreements).toEqual([]);
    expect(new Set(dpkgSays)).toEqual(new Set(['ok', 'bad']));
  });
});
