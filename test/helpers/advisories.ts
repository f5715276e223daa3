import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { affectedPackageNames } from '../../src/core/matching.js';
import type { AdvisoryInput, AffectedPackage, KevFacts } from '../../src/core/types.js';
import type { Executor } from '../../src/store/db.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/inventory');

interface OsvDocument {
  id: string;
  summary?: string;
  details?: string;
  published?: string;
  modified?: string;
  withdrawn?: string;
  aliases?: string[];
  upstream?: string[];
  related?: string[];
  severity?: { type: string; score: string }[];
  affected: {
    package: { ecosystem: string; name: string };
    ranges?: { type: string; events: Record<string, string>[] }[];
    versions?: string[];
    ecosystem_specific?: { binaries?: { binary_name: string }[] };
    database_specific?: { cves_map?: { cves?: { severity?: { type: string; score: string }[] }[] } };
  }[];
  database_specific?: { severity?: string };
}

function cveIds(ids: string[] | undefined): string[] {
  return (ids ?? []).map((id) => id.replace(/^UBUNTU-/, '')).filter((id) => /^CVE-\d{4}-\d+$/.test(id));
}

/**
 * Reads an OSV fixture into the AdvisoryInput shape the feed plugins produce. Only what the tests
 * need: the CVSS score is given by the test (computing it from the vector is the feeds' job).
 */
export function osvFixture(file: string, options: { cvssScore?: number; trust?: 'authoritative' | 'hint' } = {}): AdvisoryInput {
  const doc = JSON.parse(readFileSync(path.join(FIXTURES, 'osv', file), 'utf8')) as OsvDocument;
  const affected: AffectedPackage[] = doc.affected.map((a) => ({
    ecosystem: a.package.ecosystem,
    name: a.package.name,
    binaries: (a.ecosystem_specific?.binaries ?? []).map((b) => b.binary_name),
    ranges: (a.ranges ?? []).map((r) => ({ type: r.type, events: r.events })),
    versions: a.versions ?? [],
  }));
  const vector = doc.severity?.find((s) => s.type.startsWith('CVSS'))?.score ?? null;
  const ubuntuPriority = doc.affected
    .flatMap((a) => a.database_specific?.cves_map?.cves ?? [])
    .flatMap((c) => c.severity ?? [])
    .find((s) => s.type === 'Ubuntu')?.score;
  return {
    id: doc.id,
    source: 'osv',
    trust: options.trust ?? 'authoritative',
    title: doc.summary ?? doc.id,
    summary: doc.details ?? '',
    url: null,
    publishedAt: doc.published ?? null,
    modifiedAt: doc.modified ?? null,
    withdrawnAt: doc.withdrawn ?? null,
    cves: [...new Set([...cveIds(doc.aliases), ...cveIds(doc.upstream), ...cveIds(doc.related)])],
    affected,
    cvss: options.cvssScore === undefined && vector === null ? null : { score: options.cvssScore ?? null, vector },
    kev: null,
    vendorSeverity: doc.database_specific?.severity ?? ubuntuPriority ?? null,
  };
}

/** KEV facts of one catalog entry in `kev-excerpt.json`. */
export function kevFixture(cve: string): KevFacts {
  const catalog = JSON.parse(readFileSync(path.join(FIXTURES, 'kev-excerpt.json'), 'utf8')) as {
    vulnerabilities: Record<string, string>[];
  };
  const entry = catalog.vulnerabilities.find((v) => v.cveID === cve);
  if (!entry) throw new Error(`no KEV fixture entry for ${cve}`);
  return {
    dateAdded: entry.dateAdded!,
    dueDate: entry.dueDate ?? null,
    knownRansomwareCampaignUse: entry.knownRansomwareCampaignUse === 'Known',
    requiredAction: entry.requiredAction!,
    vendor: entry.vendorProject!,
    product: entry.product!,
  };
}

/** The KEV feed's advisory for one CVE: no packages, only facts, linked by advisory_cves. */
export function kevAdvisory(cve: string, facts: KevFacts = kevFixture(cve)): AdvisoryInput {
  return {
    id: `KEV-${cve}`,
    source: 'kev',
    trust: 'authoritative',
    title: `${facts.vendor} ${facts.product}`,
    summary: '',
    url: null,
    publishedAt: facts.dateAdded,
    modifiedAt: null,
    withdrawnAt: null,
    cves: [cve],
    affected: [],
    cvss: null,
    kev: facts,
    vendorSeverity: null,
  };
}

/** Inserts an advisory the way ingest stores it: the row, its CVE links and every package name. */
export async function insertAdvisory(db: Executor, advisory: AdvisoryInput, at = '2026-01-01T00:00:00.000Z'): Promise<void> {
  await db
    .insertInto('advisories')
    .values({
      id: advisory.id,
      source: advisory.source,
      trust: advisory.trust,
      title: advisory.title,
      summary: advisory.summary,
      url: advisory.url,
      published_at: advisory.publishedAt,
      modified_at: advisory.modifiedAt,
      withdrawn_at: advisory.withdrawnAt,
      cves: JSON.stringify(advisory.cves),
      affected: JSON.stringify(advisory.affected),
      cvss_score: advisory.cvss?.score ?? null,
      cvss_vector: advisory.cvss?.vector ?? null,
      kev: advisory.kev === null ? null : JSON.stringify(advisory.kev),
      vendor_severity: advisory.vendorSeverity,
      content_hash: advisory.id,
      ingested_at: at,
      updated_at: at,
    })
    .execute();
  if (advisory.cves.length > 0) {
    await db.insertInto('advisory_cves').values(advisory.cves.map((cve) => ({ advisory_id: advisory.id, cve }))).execute();
  }
  const names = new Set(advisory.affected.flatMap((a) => affectedPackageNames(a).map((name) => `${a.ecosystem}\u0000${name}`)));
  if (names.size > 0) {
    await db
      .insertInto('advisory_packages')
      .values([...names].map((key) => {
        const [ecosystem, name] = key.split('\u0000') as [string, string];
        return { advisory_id: advisory.id, ecosystem, name };
      }))
      .execute();
  }
}
