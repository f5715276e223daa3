import { isPatchdeckError } from './errors.js';
import type { AffectedPackage, AffectedRange, HostPackage, RangeEvent } from './types.js';
import { compareVersions, schemeForEcosystem, type VersionScheme } from './versions/index.js';

/**
 * Whether one installed package is affected by one OSV `affected` entry.
 * `undetermined` is set when a version could not be read by its scheme: the caller must not treat
 * that as "not affected" (closing an exposure because a version string was odd would hide risk).
 */
export interface MatchResult {
  affected: boolean;
  /** The version that fixes the installed one, or null when no fix is published (or not affected). */
  fixed: string | null;
  reason: string;
  undetermined: boolean;
}

/** PEP 503: PyPI names compare lower-cased with runs of `-`, `_` and `.` folded into one `-`. */
export function normalizePackageName(ecosystem: string, name: string): string {
  if (ecosystem === 'PyPI') return name.replace(/[-_.]+/g, '-').toLowerCase();
  return name;
}

/** The names an installed package can carry to match `affected`: the source name and every binary name. */
export function affectedPackageNames(affected: AffectedPackage): string[] {
  const names = new Set<string>([normalizePackageName(affected.ecosystem, affected.name)]);
  for (const binary of affected.binaries) names.add(normalizePackageName(affected.ecosystem, binary));
  return [...names];
}

class UnreadableVersion extends Error {}

type Compare = (a: string, b: string) => number;

function comparatorFor(scheme: VersionScheme): Compare {
  return (a, b) => {
    try {
      return compareVersions(scheme, a, b);
    } catch (error) {
      // Only "this string is not a version" is data; anything else is a bug and must surface.
      if (isPatchdeckError(error) && error.code === 'PD_VERSION_INVALID') throw new UnreadableVersion(error.message);
      throw error;
    }
  };
}

type EventKind = 'introduced' | 'fixed' | 'last_affected';

interface TimelineEvent {
  kind: EventKind;
  version: string;
}

function timelineOf(events: RangeEvent[]): TimelineEvent[] {
  const timeline: TimelineEvent[] = [];
  for (const event of events) {
    if (event.introduced !== undefined) timeline.push({ kind: 'introduced', version: event.introduced });
    else if (event.fixed !== undefined) timeline.push({ kind: 'fixed', version: event.fixed });
    else if (event.last_affected !== undefined) timeline.push({ kind: 'last_affected', version: event.last_affected });
  }
  return timeline;
}

function describeRange(range: AffectedRange): string {
  const parts = range.events.flatMap((event) =>
    (['introduced', 'fixed', 'last_affected', 'limit'] as const)
      .filter((key) => event[key] !== undefined)
      .map((key) => `${key} ${event[key]}`),
  );
  return `${range.type} range [${parts.join(', ')}]`;
}

interface RangeVerdict {
  affected: boolean;
  fixed: string | null;
}

/** OSV "IncludedInRanges" for one range, plus the next `fixed` above the installed version. */
function evaluateRange(range: AffectedRange, version: string, compare: Compare): RangeVerdict {
  const limits = range.events.map((e) => e.limit).filter((l): l is string => l !== undefined);
  // No limit means an implicit "*"; a limit containing "*" is infinity.
  const beforeLimits = limits.length === 0 || limits.some((limit) => limit.includes('*') || compare(version, limit) < 0);
  if (!beforeLimits) return { affected: false, fixed: null };
  const byVersion = (a: TimelineEvent, b: TimelineEvent): number => {
    if (a.kind === 'introduced' && a.version === '0') return b.kind === 'introduced' && b.version === '0' ? 0 : -1;
    if (b.kind === 'introduced' && b.version === '0') return 1;
    return compare(a.version, b.version);
  };
  const timeline = timelineOf(range.events).sort(byVersion);
  let vulnerable = false;
  for (const event of timeline) {
    if (event.kind === 'introduced') {
      if (event.version === '0' || compare(version, event.version) >= 0) vulnerable = true;
    } else if (event.kind === 'fixed') {
      if (compare(version, event.version) >= 0) vulnerable = false;
    } else if (compare(version, event.version) > 0) {
      vulnerable = false;
    }
  }
  if (!vulnerable) return { affected: false, fixed: null };
  const nextFix = timeline.find((e) => e.kind === 'fixed' && compare(version, e.version) < 0);
  return { affected: true, fixed: nextFix?.version ?? null };
}

function sameVersion(a: string, b: string, compare: Compare | null): boolean {
  if (a === b) return true;
  if (compare === null) return false;
  try {
    return compare(a, b) === 0;
  } catch (error) {
    if (error instanceof UnreadableVersion) return false;
    throw error;
  }
}

/**
 * OSV evaluation (https://ossf.github.io/osv-schema/#evaluation) of one installed package against
 * one `affected` entry: same ecosystem string, name equal to the source or a binary name, then the
 * version in the `versions` list or inside an ECOSYSTEM/SEMVER range. GIT ranges hold commits and never
 * match a version; an ecosystem Patchdeck cannot order matches by `versions` only.
 */
export function matchAffectedPackage(affected: AffectedPackage, installed: HostPackage): MatchResult {
  const miss = (reason: string): MatchResult => ({ affected: false, fixed: null, reason, undetermined: false });
  if (affected.ecosystem !== installed.ecosystem) {
    return miss(`ecosystem ${installed.ecosystem} is not ${affected.ecosystem}`);
  }
  const installedName = normalizePackageName(installed.ecosystem, installed.name);
  if (!affectedPackageNames(affected).includes(installedName)) {
    return miss(`${installed.name} is neither ${affected.name} nor one of its binary packages`);
  }
  const what = installedName === normalizePackageName(affected.ecosystem, affected.name)
    ? `${installed.name} ${installed.version}`
    : `${installed.name} ${installed.version} (built from ${affected.name})`;
  const ecosystemScheme = schemeForEcosystem(affected.ecosystem);
  const ecosystemCompare = ecosystemScheme === null ? null : comparatorFor(ecosystemScheme);

  const unreadable: string[] = [];
  const skipped: string[] = [];
  for (const range of affected.ranges) {
    const compare = compareForRange(range, ecosystemCompare, ecosystemScheme);
    if (compare === null) {
      skipped.push(range.type === 'GIT' ? 'a GIT range (commits, not versions)' : `a ${range.type} range Patchdeck cannot order`);
      continue;
    }
    try {
      const verdict = evaluateRange(range, installed.version, compare);
      if (verdict.affected) {
        const fix = verdict.fixed === null ? 'no fixed version published' : `fixed in ${verdict.fixed}`;
        return { affected: true, fixed: verdict.fixed, reason: `${what} is inside ${describeRange(range)}: ${fix}`, undetermined: false };
      }
    } catch (error) {
      if (!(error instanceof UnreadableVersion)) throw error;
      unreadable.push(error.message);
    }
  }
  const listed = affected.versions.find((v) => sameVersion(installed.version, v, ecosystemCompare));
  if (listed !== undefined) {
    // A listed version is affected; the ranges may still tell which release fixes it.
    const fixed = fixFromRanges(affected.ranges, installed.version, ecosystemCompare, ecosystemScheme);
    const fix = fixed === null ? 'no fixed version known' : `fixed in ${fixed}`;
    return { affected: true, fixed, reason: `${what} is listed as an affected version: ${fix}`, undetermined: false };
  }
  if (unreadable.length > 0) {
    return { affected: false, fixed: null, reason: `cannot compare ${what}: ${unreadable.join('; ')}`, undetermined: true };
  }
  const ranges = affected.ranges.length - skipped.length;
  const tail = skipped.length > 0 ? ` (ignored ${skipped.join(', ')})` : '';
  if (ranges === 0) return miss(`${what} is not in the affected versions list${tail}`);
  return miss(`${what} is outside the affected ranges and versions${tail}`);
}

/**
 * SEMVER ranges use node-semver, except where the ecosystem's own scheme is a strict superset of
 * SemVer 2.0: Go's (x/mod/semver) also reads `v1.2`, `go1.21.3` and `+incompatible`, which the Go
 * vulnerability database's SEMVER ranges are compared against.
 */
function compareForRange(range: AffectedRange, ecosystemCompare: Compare | null, ecosystemScheme: VersionScheme | null): Compare | null {
  if (range.type === 'SEMVER') return ecosystemScheme === 'go' && ecosystemCompare !== null ? ecosystemCompare : comparatorFor('semver');
  if (range.type === 'ECOSYSTEM') return ecosystemCompare;
  return null;
}

/** For a version found in `versions`: the lowest `fixed` above it in any range Patchdeck can order. */
function fixFromRanges(ranges: AffectedRange[], version: string, ecosystemCompare: Compare | null, ecosystemScheme: VersionScheme | null): string | null {
  let best: string | null = null;
  for (const range of ranges) {
    const compare = compareForRange(range, ecosystemCompare, ecosystemScheme);
    if (compare === null) continue;
    try {
      const next = timelineOf(range.events)
        .filter((e) => e.kind === 'fixed' && compare(version, e.version) < 0)
        .map((e) => e.version)
        .sort(compare)[0];
      if (next !== undefined && (best === null || compare(next, best) < 0)) best = next;
    } catch (error) {
      if (!(error instanceof UnreadableVersion)) throw error;
    }
  }
  return best;
}

/**
 * Matches an installed package against every `affected` entry of an advisory (one package can have
 * several entries, one per range). The first entry that affects it wins; otherwise an undetermined
 * result beats a plain miss, so callers keep what they knew.
 */
export function matchAdvisory(affected: AffectedPackage[], installed: HostPackage): MatchResult {
  let undetermined: MatchResult | null = null;
  let lastMiss: MatchResult | null = null;
  for (const entry of affected) {
    if (entry.ecosystem !== installed.ecosystem) continue;
    const result = matchAffectedPackage(entry, installed);
    if (result.affected) return result;
    if (result.undetermined) undetermined ??= result;
    else if (affectedPackageNames(entry).includes(normalizePackageName(installed.ecosystem, installed.name))) lastMiss = result;
  }
  return undetermined ?? lastMiss ?? { affected: false, fixed: null, reason: `${installed.name} is not named by the advisory`, undetermined: false };
}

/** Windows updates are matched by KB id, not by version: see `matchWindowsKb`. */
export const WINDOWS_KB_ECOSYSTEM = 'Windows';

/** `KB5031354`, `kb5031354` or `5031354` → `KB5031354`; null for anything else. */
function kbId(text: string): string | null {
  const match = /^(?:KB)?(\d{6,8})$/i.exec(text.trim());
  return match ? `KB${match[1]}` : null;
}

/**
 * Which KB supersedes which, gathered from every Windows `affected` entry Patchdeck holds (an entry
 * says what its fix supersedes; a later advisory says what supersedes that fix). Edges point both ways
 * so the walk can go to newer (cumulative) updates and to older ones.
 */
export interface KbSupersedence {
  /** KB → KBs that directly supersede it (newer). */
  newer: Map<string, Set<string>>;
  /** KB → KBs it directly supersedes (older). */
  older: Map<string, Set<string>>;
}

export function buildKbSupersedence(entries: Iterable<AffectedPackage>): KbSupersedence {
  const graph: KbSupersedence = { newer: new Map(), older: new Map() };
  const link = (newKb: string, oldKb: string) => {
    if (newKb === oldKb) return;
    (graph.newer.get(oldKb) ?? graph.newer.set(oldKb, new Set()).get(oldKb)!).add(newKb);
    (graph.older.get(newKb) ?? graph.older.set(newKb, new Set()).get(newKb)!).add(oldKb);
  };
  for (const entry of entries) {
    if (entry.ecosystem !== WINDOWS_KB_ECOSYSTEM) continue;
    const fix = kbId(entry.name);
    if (fix === null) continue;
    for (const old of entry.supersedes ?? []) {
      const id = kbId(old);
      if (id !== null) link(fix, id);
    }
    for (const later of entry.supersededBy ?? []) {
      const id = kbId(later);
      if (id !== null) link(id, fix);
    }
  }
  return graph;
}

/** Every KB reachable from `kb` along one direction, not counting `kb` itself (cycles in bad data are safe). */
function reach(edges: Map<string, Set<string>>, kb: string): Set<string> {
  const seen = new Set<string>();
  const queue = [kb];
  while (queue.length > 0) {
    for (const next of edges.get(queue.pop()!) ?? []) {
      if (next === kb || seen.has(next)) continue;
      seen.add(next);
      queue.push(next);
    }
  }
  return seen;
}

/** A Windows match, with the installed KBs of the fix's line that told the host needs it. */
interface WindowsKbVerdict {
  result: MatchResult;
  /** Older KBs of the line found installed (sorted); empty unless affected. */
  older: string[];
}

function judgeWindowsKb(affected: AffectedPackage, installed: ReadonlySet<string>, graph: KbSupersedence): WindowsKbVerdict {
  const fix = kbId(affected.name);
  const verdict = (result: MatchResult, older: string[] = []): WindowsKbVerdict => ({ result, older });
  if (affected.ecosystem !== WINDOWS_KB_ECOSYSTEM || fix === null) {
    return verdict({ affected: false, fixed: null, reason: `${affected.ecosystem} ${affected.name} is not a Windows KB`, undetermined: false });
  }
  if (installed.has(fix)) return verdict({ affected: false, fixed: null, reason: `${fix} is installed`, undetermined: false });
  const newer = [...reach(graph.newer, fix)].filter((k) => installed.has(k)).sort();
  if (newer.length > 0) {
    return verdict({ affected: false, fixed: null, reason: `${newer[0]} is installed and supersedes ${fix}`, undetermined: false });
  }
  const line = reach(graph.older, fix);
  const older = [...line].filter((k) => installed.has(k)).sort();
  if (older.length > 0) {
    return verdict({ affected: true, fixed: fix, reason: `${older.join(', ')} installed, which ${fix} supersedes; ${fix} or a later update is missing`, undetermined: false }, older);
  }
  if (line.size === 0) {
    return verdict({ affected: false, fixed: null, reason: `cannot tell whether ${fix} applies: it names no superseded update and none of its KBs is installed`, undetermined: true });
  }
  return verdict({ affected: false, fixed: null, reason: `no update of ${fix}'s line is installed: it is for another Windows version`, undetermined: false });
}

/** A host's KB ids in one spelling (`KB5031354`); anything that is not a KB id is left out. */
export function normalizeKbs(installedKbs: Iterable<string>): Set<string> {
  return new Set([...installedKbs].map((k) => kbId(k)).filter((k): k is string => k !== null));
}

/**
 * Whether a Windows host, given its installed KB ids, is exposed to one Windows `affected` entry (its
 * `name` is the fixing KB). Not exposed when the host has the fix or any KB that supersedes it,
 * transitively (a later cumulative update contains the fix). Exposed when it has instead an older KB
 * of the same line (one the fix supersedes): that tells the update is for this host's Windows version.
 * A host with no KB of the line is not exposed when the line is known (the update is for another
 * Windows version) and undetermined when the entry names no superseded KB at all.
 */
export function matchWindowsKb(affected: AffectedPackage, installedKbs: ReadonlySet<string>, graph: KbSupersedence): MatchResult {
  return judgeWindowsKb(affected, normalizeKbs(installedKbs), graph).result;
}

/** One fixing KB of an advisory that a host lacks (or may lack), and the older KBs of its line found. */
export interface WindowsAdvisoryMatch {
  kb: string;
  result: MatchResult;
  /** The older KBs of the fix's line installed on the host (sorted); empty unless affected. */
  installedOlder: string[];
}

/**
 * The Windows entries of an advisory that expose a host, one result per fixing KB; misses are left out
 * and undetermined results kept so callers can leave earlier findings as they were.
 */
export function matchWindowsAdvisory(affected: AffectedPackage[], installedKbs: ReadonlySet<string>, graph: KbSupersedence): WindowsAdvisoryMatch[] {
  const installed = normalizeKbs(installedKbs);
  const out: WindowsAdvisoryMatch[] = [];
  for (const entry of affected) {
    if (entry.ecosystem !== WINDOWS_KB_ECOSYSTEM) continue;
    const { result, older } = judgeWindowsKb(entry, installed, graph);
    if (result.affected || result.undetermined) out.push({ kb: kbId(entry.name) ?? entry.name, result, installedOlder: older });
  }
  return out;
}

/**
 * Windows entries with what MSRC says each update supersedes: CVRF keeps `Supercedence` on the
 * remediation (per product, bare KB numbers, sometimes several), not on the affected entry, so the
 * graph would otherwise have no edges. Entries that already carry `supersedes` keep theirs as well.
 */
export function withRemediationSupersedence(affected: AffectedPackage[], remediations: readonly { kb?: string | null; supercedence?: string | null }[]): AffectedPackage[] {
  const byKb = new Map<string, Set<string>>();
  for (const remediation of remediations) {
    const fix = remediation.kb ? kbId(remediation.kb) : null;
    if (fix === null || !remediation.supercedence) continue;
    for (const part of remediation.supercedence.split(/[\s,;]+/)) {
      const old = kbId(part);
      if (old !== null && old !== fix) (byKb.get(fix) ?? byKb.set(fix, new Set()).get(fix)!).add(old);
    }
  }
  if (byKb.size === 0) return affected;
  return affected.map((entry) => {
    const fix = entry.ecosystem === WINDOWS_KB_ECOSYSTEM ? kbId(entry.name) : null;
    const extra = fix === null ? undefined : byKb.get(fix);
    if (extra === undefined) return entry;
    return { ...entry, supersedes: [...new Set([...(entry.supersedes ?? []), ...extra])].sort() };
  });
}

/** An advisory's match data, as incremental and triple matching need it. */
export interface AdvisoryAffected {
  id: string;
  affected: AffectedPackage[];
}

/** One advisory that affects (or cannot be decided for) one distinct installed (ecosystem, name, version). */
export interface TripleMatch {
  advisoryId: string;
  triple: HostPackage;
  result: MatchResult;
}

const nameKey = (ecosystem: string, name: string) => `${ecosystem}\u0000${normalizePackageName(ecosystem, name)}`;

/**
 * Matches distinct installed (ecosystem, package, version) triples against advisories, each pair
 * once: a fleet of 10,000 hosts running the same versions is a few thousand triples, so the work no
 * longer grows with the number of hosts. Only advisories naming a triple's package (source or binary
 * name) are version-checked. Returns the affected and the undetermined pairs; hosts are attached
 * afterwards (store: `listHostsWithTriples`). Windows KB entries are not matched here (`matchWindowsKb`).
 * Incremental use: a new or changed advisory → pass only it, with the triples of its package names
 * (store: `listPackageTriples(db, { advisoryIds })`); a changed host → pass its own packages and the
 * advisories naming them.
 */
export function matchPackageTriples(advisories: Iterable<AdvisoryAffected>, triples: Iterable<HostPackage>): TripleMatch[] {
  const byName = new Map<string, Map<string, AffectedPackage[]>>();
  for (const advisory of advisories) {
    for (const entry of advisory.affected) {
      if (entry.ecosystem === WINDOWS_KB_ECOSYSTEM) continue;
      for (const name of affectedPackageNames(entry)) {
        const key = nameKey(entry.ecosystem, name);
        let perAdvisory = byName.get(key);
        if (!perAdvisory) {
          perAdvisory = new Map();
          byName.set(key, perAdvisory);
        }
        const entries = perAdvisory.get(advisory.id) ?? [];
        entries.push(entry);
        perAdvisory.set(advisory.id, entries);
      }
    }
  }
  const out: TripleMatch[] = [];
  for (const triple of triples) {
    const perAdvisory = byName.get(nameKey(triple.ecosystem, triple.name));
    if (!perAdvisory) continue;
    for (const [advisoryId, entries] of perAdvisory) {
      const result = matchAdvisory(entries, triple);
      if (result.affected || result.undetermined) out.push({ advisoryId, triple, result });
    }
  }
  return out;
}
