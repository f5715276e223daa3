import type { AdvisoryInput, AffectedPackage } from '../../core/types.js';
import type { FeedParseError } from '../types.js';
import { unique } from './documents.js';

/**
 * Debian release code names → the OSV ecosystem of that release (`Debian:12`; releases before 7 carry
 * a minor, `Debian:6.0`). `sid` and `experimental` are rolling, never a release a host is pinned to.
 */
const DEBIAN_RELEASES: Record<string, string> = {
  woody: '3.0',
  sarge: '3.1',
  etch: '4.0',
  lenny: '5.0',
  squeeze: '6.0',
  wheezy: '7',
  jessie: '8',
  stretch: '9',
  buster: '10',
  bullseye: '11',
  bookworm: '12',
  trixie: '13',
  forky: '14',
};
const ROLLING = new Set(['sid', 'experimental']);

export function debianEcosystem(codename: string): string | null {
  const version = DEBIAN_RELEASES[codename.toLowerCase()];
  return version === undefined ? null : `Debian:${version}`;
}

function fixedEntry(ecosystem: string, name: string, fixed: string): AffectedPackage {
  return { ecosystem, name, binaries: [], ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }], versions: [] };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `31 Jul 2025` → `2025-07-31T00:00:00.000Z`; null when it is not such a date. */
function listDate(text: string): string | null {
  const match = /^(\d{1,2}) ([A-Z][a-z]{2}) (\d{4})$/.exec(text);
  const month = match ? MONTHS.indexOf(match[2]!) : -1;
  if (!match || month < 0) return null;
  const date = new Date(Date.UTC(Number(match[3]), month, Number(match[1])));
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** `[31 Jul 2025] DSA-5970-1 sope - security update` */
const LIST_HEADER = /^\[([^\]]+)\]\s+((?:DSA|DLA)-\d+(?:-\d+)?)\s+(.*)$/;
/** `[bookworm] - sope 5.8.0-1+deb12u1`; the version may be `<not-affected>`, `<end-of-life>`, … */
const LIST_FIX = /^\[([a-z-]+)\]\s+-\s+(\S+)\s+(\S+)/;
const CVE = /CVE-\d{4}-\d{4,}/g;

/** Whether a text document is the Debian security tracker's `data/DSA/list` or `data/DLA/list`. */
export function isDebianAdvisoryList(text: string): boolean {
  return LIST_HEADER.test(text.trimStart().split('\n', 1)[0] ?? '');
}

/**
 * The security tracker's advisory lists (`data/DSA/list`, `data/DLA/list`): one entry per DSA or DLA
 * with its CVEs and, per release, the source package and the version that fixes it. One advisory per
 * entry under Debian's own id (`DSA-5970-1`), each fix an `affected` entry in that release's ecosystem.
 * An entry naming no fixed version (a key change notice, an end-of-life note) is kept without packages.
 */
export function parseDebianAdvisoryList(location: string, text: string): { advisories: AdvisoryInput[]; errors: FeedParseError[] } {
  const advisories: AdvisoryInput[] = [];
  const errors: FeedParseError[] = [];
  let current: { id: string; title: string; date: string | null; cves: string[]; affected: AffectedPackage[]; fixes: string[]; line: number } | null = null;
  const finish = () => {
    if (current === null) return;
    const { id, title, date, cves, affected, fixes } = current;
    advisories.push({
      id,
      source: 'distro',
      trust: 'authoritative',
      title: `${id}: ${title}`,
      summary: fixes.length > 0 ? `Debian ${id.startsWith('DLA') ? 'LTS ' : ''}security advisory. Fixed in ${fixes.join('; ')}.` : `Debian ${id.startsWith('DLA') ? 'LTS ' : ''}security advisory: ${title}.`,
      url: `https://security-tracker.debian.org/tracker/${id}`,
      publishedAt: date,
      modifiedAt: null,
      withdrawnAt: null,
      cves: unique(cves),
      affected,
      cvss: null,
      kev: null,
      vendorSeverity: null,
    });
    current = null;
  };
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    const header = /^\S/.test(raw) ? LIST_HEADER.exec(line) : null;
    if (header) {
      finish();
      current = { id: header[2]!, title: header[3]!.trim(), date: listDate(header[1]!.trim()), cves: [], affected: [], fixes: [], line: index + 1 };
      return;
    }
    if (current === null) {
      errors.push({ location: `${location}:${index + 1}`, scope: 'record', message: `is not inside an advisory entry ("[31 Jul 2025] DSA-5970-1 package - …"): ${line.slice(0, 80)}` });
      return;
    }
    const entry = current as NonNullable<typeof current>;
    if (line.startsWith('{')) {
      entry.cves.push(...(line.match(CVE) ?? []));
      return;
    }
    const fix = LIST_FIX.exec(line);
    if (!fix) return; // NOTE: lines and other annotations
    const [, release, name, version] = fix;
    // `<not-affected>`, `<no-dsa>`, `<end-of-life>`, …: no fixed version to match against.
    if (version!.startsWith('<')) return;
    const ecosystem = debianEcosystem(release!);
    if (ecosystem === null) {
      if (!ROLLING.has(release!)) {
        errors.push({ location: `${location}:${index + 1} (${entry.id})`, scope: 'record', message: `unknown Debian release "${release}": its fix ${name} ${version} was skipped, the rest of ${entry.id} kept` });
      }
      return;
    }
    entry.affected.push(fixedEntry(ecosystem, name!, version!));
    entry.fixes.push(`${release} (${ecosystem}) ${name} ${version}`);
  });
  finish();
  return { advisories, errors };
}

interface TrackerRelease {
  status?: unknown;
  fixed_version?: unknown;
  urgency?: unknown;
}
interface TrackerIssue {
  description?: unknown;
  releases?: unknown;
}

const URGENCIES = ['unimportant', 'low', 'medium', 'high'];

/**
 * Whether a JSON value is the security tracker's `tracker/data/json`: source package → issue id
 * (`CVE-…`, `TEMP-…`) → `{ description, releases: { codename: { status, fixed_version, urgency } } }`.
 */
export function isDebianTrackerJson(value: unknown): value is Record<string, Record<string, TrackerIssue>> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const first = Object.values(value as Record<string, unknown>)[0];
  if (first === null || typeof first !== 'object' || Array.isArray(first)) return false;
  const key = Object.keys(first as Record<string, unknown>)[0];
  return key !== undefined && /^(CVE|TEMP)-/.test(key);
}

/**
 * The tracker's JSON, one advisory per CVE (`DEBIAN-CVE-2022-0456`, the id Debian's OSV records use)
 * with an `affected` entry per source package and release it is fixed in. Only fixes are kept: a
 * release still `open` has nothing to install, and `fixed_version` "0" means the release never had the
 * flaw; issues fixed nowhere (and `TEMP-` issues without a CVE) give no advisory.
 */
export function parseDebianTrackerJson(location: string, data: Record<string, Record<string, TrackerIssue>>): { advisories: AdvisoryInput[]; errors: FeedParseError[] } {
  const byCve = new Map<string, { packages: string[]; description: string; affected: AffectedPackage[]; urgency: number }>();
  const errors: FeedParseError[] = [];
  for (const [pkg, issues] of Object.entries(data)) {
    if (issues === null || typeof issues !== 'object') continue;
    for (const [cve, issue] of Object.entries(issues)) {
      if (!/^CVE-\d{4}-\d{4,}$/.test(cve) || issue === null || typeof issue !== 'object') continue;
      const releases = issue.releases !== null && typeof issue.releases === 'object' && !Array.isArray(issue.releases) ? (issue.releases as Record<string, TrackerRelease>) : {};
      for (const [release, facts] of Object.entries(releases)) {
        if (facts?.status !== 'resolved' || typeof facts.fixed_version !== 'string' || facts.fixed_version === '0' || facts.fixed_version === '') continue;
        const ecosystem = debianEcosystem(release);
        if (ecosystem === null) {
          if (!ROLLING.has(release)) errors.push({ location: `${location}: ${pkg} ${cve}`, scope: 'record', message: `unknown Debian release "${release}": its fix ${facts.fixed_version} was skipped` });
          continue;
        }
        const entry = byCve.get(cve) ?? { packages: [], description: '', affected: [], urgency: -1 };
        if (!entry.packages.includes(pkg)) entry.packages.push(pkg);
        if (entry.description === '' && typeof issue.description === 'string') entry.description = issue.description.trim();
        entry.affected.push(fixedEntry(ecosystem, pkg, facts.fixed_version));
        // `high**`: the tracker marks an urgency it derived, not assigned; the word is what counts here.
        if (typeof facts.urgency === 'string') entry.urgency = Math.max(entry.urgency, URGENCIES.indexOf(facts.urgency.replace(/\*+$/, '')));
        byCve.set(cve, entry);
      }
    }
  }
  const advisories: AdvisoryInput[] = [...byCve.entries()].map(([cve, entry]) => ({
    id: `DEBIAN-${cve}`,
    source: 'distro',
    trust: 'authoritative',
    title: `${cve} in ${entry.packages.join(', ')} (Debian)`,
    summary: entry.description,
    url: `https://security-tracker.debian.org/tracker/${cve}`,
    publishedAt: null,
    modifiedAt: null,
    withdrawnAt: null,
    cves: [cve],
    affected: entry.affected,
    cvss: null,
    kev: null,
    vendorSeverity: entry.urgency >= 0 ? URGENCIES[entry.urgency]! : null,
  }));
  return { advisories, errors };
}
