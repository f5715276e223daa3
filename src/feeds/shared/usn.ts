import { z } from 'zod';
import type { AdvisoryInput, AffectedPackage } from '../../core/types.js';
import type { FeedParseError } from '../types.js';
import { describeSchemaError, unique } from './documents.js';

/** Ubuntu code names → release number and whether it is an LTS, as OSV writes them (`Ubuntu:22.04:LTS`, `Ubuntu:23.04`). */
const UBUNTU_RELEASES: Record<string, { version: string; lts: boolean }> = {
  precise: { version: '12.04', lts: true },
  trusty: { version: '14.04', lts: true },
  xenial: { version: '16.04', lts: true },
  yakkety: { version: '16.10', lts: false },
  zesty: { version: '17.04', lts: false },
  artful: { version: '17.10', lts: false },
  bionic: { version: '18.04', lts: true },
  cosmic: { version: '18.10', lts: false },
  disco: { version: '19.04', lts: false },
  eoan: { version: '19.10', lts: false },
  focal: { version: '20.04', lts: true },
  groovy: { version: '20.10', lts: false },
  hirsute: { version: '21.04', lts: false },
  impish: { version: '21.10', lts: false },
  jammy: { version: '22.04', lts: true },
  kinetic: { version: '22.10', lts: false },
  lunar: { version: '23.04', lts: false },
  mantic: { version: '23.10', lts: false },
  noble: { version: '24.04', lts: true },
  oracular: { version: '24.10', lts: false },
  plucky: { version: '25.04', lts: false },
  questing: { version: '25.10', lts: false },
};

/**
 * The ecosystem of a fix in one release: `Ubuntu:22.04:LTS`, `Ubuntu:23.04`, and `Ubuntu:Pro:14.04:LTS`
 * when the fix ships only in an ESM pocket (`esm-infra`, `esm-apps`), as Ubuntu's own OSV records name them.
 */
export function ubuntuEcosystem(codename: string, pocket: string | undefined): string | null {
  const release = UBUNTU_RELEASES[codename];
  if (release === undefined) return null;
  const pro = pocket !== undefined && pocket.startsWith('esm');
  return `Ubuntu:${pro ? 'Pro:' : ''}${release.version}${release.lts ? ':LTS' : ''}`;
}

const PackageSchema = z.object({ version: z.string().min(1), pocket: z.string().optional(), source: z.string().optional() }).passthrough();
const ReleaseSchema = z
  .object({
    sources: z.record(z.string(), PackageSchema).default({}),
    allbinaries: z.record(z.string(), PackageSchema).optional(),
    binaries: z.record(z.string(), PackageSchema).optional(),
  })
  .passthrough();
const UsnSchema = z
  .object({
    id: z.string().regex(/^USN-\d+-\d+$/, 'is not a USN id'),
    title: z.string().optional(),
    summary: z.string().optional(),
    description: z.string().optional(),
    isummary: z.string().optional(),
    cves: z.array(z.string()).default([]),
    timestamp: z.number().optional(),
    releases: z.record(z.string(), ReleaseSchema),
  })
  .passthrough();

/** Whether a JSON value looks like one notice in Ubuntu's USN JSON format (`usn/<n>-<m>.json`). */
export function isUsnJson(value: unknown): boolean {
  return value !== null && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'string' && (value as { id: string }).id.startsWith('USN-') && 'releases' in value;
}

/**
 * One USN in the Ubuntu Security Team's JSON (the format Ubuntu's OSV records are converted from):
 * per release the fixed source versions (`sources`) and the binaries built from them (`allbinaries`,
 * whose `source` names the source package when a USN has several). One `affected` entry per release and
 * source package, with its binaries, so hosts match on the binary names they have installed. Id: the
 * USN's own (`USN-4154-1`).
 */
export function parseUsnJson(location: string, value: unknown): { advisory: AdvisoryInput | null; errors: FeedParseError[] } {
  const parsed = UsnSchema.safeParse(value);
  if (!parsed.success) return { advisory: null, errors: [{ location, scope: 'document', message: `is not a USN JSON notice: ${describeSchemaError(parsed.error)}` }] };
  const usn = parsed.data;
  const errors: FeedParseError[] = [];
  const affected: AffectedPackage[] = [];
  for (const [codename, release] of Object.entries(usn.releases)) {
    const sources = Object.entries(release.sources);
    const binaries = Object.entries(release.allbinaries ?? release.binaries ?? {});
    for (const [source, facts] of sources) {
      // Older notices list binaries without `source`; with a single source package they are all its own.
      const built = binaries.filter(([, b]) => (b.source ?? (sources.length === 1 ? source : undefined)) === source);
      const pocket = built.find(([, b]) => b.pocket !== undefined)?.[1].pocket;
      const ecosystem = ubuntuEcosystem(codename, pocket);
      if (ecosystem === null) {
        errors.push({ location: `${location} (${usn.id})`, scope: 'record', message: `unknown Ubuntu release "${codename}": its fix ${source} ${facts.version} was skipped, the rest of ${usn.id} kept` });
        continue;
      }
      affected.push({
        ecosystem,
        name: source,
        binaries: unique(built.map(([name]) => name)).sort(),
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: facts.version }] }],
        versions: [],
      });
    }
  }
  const published = usn.timestamp === undefined ? null : new Date(Math.round(usn.timestamp * 1000)).toISOString();
  const advisory: AdvisoryInput = {
    id: usn.id,
    source: 'distro',
    trust: 'authoritative',
    title: `${usn.id}: ${(usn.title ?? usn.summary ?? '').trim()}`.replace(/: $/, ''),
    summary: (usn.description ?? usn.isummary ?? '').trim(),
    url: `https://ubuntu.com/security/notices/${usn.id}`,
    publishedAt: published,
    modifiedAt: null,
    withdrawnAt: null,
    cves: unique(usn.cves.filter((c) => /^CVE-\d{4}-\d{4,}$/.test(c))),
    affected,
    cvss: null,
    kev: null,
    vendorSeverity: null,
  };
  return { advisory, errors };
}
