import type { AffectedPackage, Criticality, KevFacts, Severity } from '../../core/types.js';
import type { Executor } from '../db.js';
import { fromJson } from '../json.js';
import { chunk, compareText as cmp } from './hosts.js';

/** `exempt` and `mitigated` exposures are held by an active exemption or mitigation (see core/exemptions.ts). */
export const EXPOSURE_STATUSES = ['open', 'exempt', 'mitigated', 'resolved'] as const;
export type ExposureStatus = (typeof EXPOSURE_STATUSES)[number];

export interface ExposureView {
  id: number;
  hostId: number;
  host: string;
  advisoryId: string;
  cves: string[];
  ecosystem: string;
  package: string;
  installed: string;
  fixed: string | null;
  severity: Severity;
  reasons: string[];
  detectedAt: string;
  dueAt: string;
  status: ExposureStatus;
  resolvedAt: string | null;
  caseId: number | null;
  exemptionId: number | null;
}

export interface ExposureFilter {
  host?: string;
  severity?: Severity;
  /** Default 'open'. */
  status?: ExposureStatus | 'all';
  caseId?: number;
}

/** Exposures, most urgent first (earliest due), then by host and advisory. */
export async function listExposures(db: Executor, filter: ExposureFilter = {}): Promise<ExposureView[]> {
  let query = db
    .selectFrom('exposures')
    .innerJoin('hosts', 'hosts.id', 'exposures.host_id')
    .innerJoin('advisories', 'advisories.id', 'exposures.advisory_id')
    .selectAll('exposures')
    .select(['hosts.name as host_name', 'advisories.cves as advisory_cves']);
  const status = filter.status ?? 'open';
  if (status !== 'all') query = query.where('exposures.status', '=', status);
  if (filter.host !== undefined) query = query.where('hosts.name', '=', filter.host);
  if (filter.severity !== undefined) query = query.where('exposures.severity', '=', filter.severity);
  if (filter.caseId !== undefined) query = query.where('exposures.case_id', '=', filter.caseId);
  const rows = await query.execute();
  const views = rows.map((r) => ({
    id: Number(r.id),
    hostId: Number(r.host_id),
    host: r.host_name,
    advisoryId: r.advisory_id,
    cves: fromJson<string[]>(r.advisory_cves, []),
    ecosystem: r.ecosystem,
    package: r.package,
    installed: r.installed,
    fixed: r.fixed,
    severity: r.severity as Severity,
    reasons: fromJson<string[]>(r.reasons, []),
    detectedAt: r.detected_at,
    dueAt: r.due_at,
    status: r.status as ExposureStatus,
    resolvedAt: r.resolved_at,
    caseId: r.case_id === null ? null : Number(r.case_id),
    exemptionId: r.exemption_id === null ? null : Number(r.exemption_id),
  }));
  return views.sort((a, b) => cmp(a.dueAt, b.dueAt) || cmp(a.host, b.host) || cmp(a.advisoryId, b.advisoryId) || cmp(a.package, b.package));
}

/** A host package that shares (ecosystem, name) with a package an advisory names: to be version-checked. */
export interface MatchCandidate {
  advisoryId: string;
  hostId: number;
  ecosystem: string;
  name: string;
  version: string;
}

/**
 * Joins advisory_packages × host_packages on (ecosystem, name) for authoritative advisories that are
 * not withdrawn, so assessment touches only plausible pairs instead of every host × every advisory.
 */
export async function listMatchCandidates(db: Executor): Promise<MatchCandidate[]> {
  const rows = await db
    .selectFrom('advisory_packages')
    .innerJoin('host_packages', (join) =>
      join.onRef('host_packages.ecosystem', '=', 'advisory_packages.ecosystem').onRef('host_packages.name', '=', 'advisory_packages.name'),
    )
    .innerJoin('advisories', 'advisories.id', 'advisory_packages.advisory_id')
    .select(['advisories.id as advisory_id', 'host_packages.host_id', 'host_packages.ecosystem', 'host_packages.name', 'host_packages.version'])
    .where('advisories.trust', '=', 'authoritative')
    .where('advisories.withdrawn_at', 'is', null)
    .execute();
  return rows.map((r) => ({
    advisoryId: r.advisory_id,
    hostId: Number(r.host_id),
    ecosystem: r.ecosystem,
    name: r.name,
    version: r.version,
  }));
}

/** What classification needs of an advisory. */
export interface AdvisoryFacts {
  id: string;
  title: string;
  cves: string[];
  affected: AffectedPackage[];
  cvss: { score: number | null; vector: string | null } | null;
  vendorSeverity: string | null;
  kev: KevFacts | null;
  /** The vendor's exploitation statements (CSAF/MSRC threats of category `exploit_status`). */
  exploitStatus: string[];
}

/** Exploit-status texts from `vendor_details` (migration 0003): CSAF `exploit_status`, MSRC "Exploit Status". */
function exploitStatusOf(vendorDetails: string | null): string[] {
  const details = fromJson<{ threats?: { category?: string; details?: string }[] } | null>(vendorDetails, null);
  return (details?.threats ?? [])
    .filter((t) => t.category?.toLowerCase().replace(/\s+/g, '_') === 'exploit_status' && typeof t.details === 'string' && t.details.trim() !== '')
    .map((t) => t.details!.trim());
}

export async function loadAdvisoryFacts(db: Executor, ids: string[]): Promise<Map<string, AdvisoryFacts>> {
  const facts = new Map<string, AdvisoryFacts>();
  for (const part of chunk([...new Set(ids)], 500)) {
    const rows = await db
      .selectFrom('advisories')
      .select(['id', 'title', 'cves', 'affected', 'cvss_score', 'cvss_vector', 'vendor_severity', 'kev', 'vendor_details'])
      .where('id', 'in', part)
      .execute();
    for (const r of rows) {
      const score = r.cvss_score === null ? null : Number(r.cvss_score);
      facts.set(r.id, {
        id: r.id,
        title: r.title,
        cves: fromJson<string[]>(r.cves, []),
        affected: fromJson<AffectedPackage[]>(r.affected, []),
        cvss: score === null && r.cvss_vector === null ? null : { score, vector: r.cvss_vector },
        vendorSeverity: r.vendor_severity,
        kev: fromJson<KevFacts | null>(r.kev, null),
        exploitStatus: exploitStatusOf(r.vendor_details),
      });
    }
  }
  return facts;
}

/** KEV facts by CVE id, from every advisory that carries them (the `kev` feed). */
export async function loadKevByCve(db: Executor): Promise<Map<string, KevFacts>> {
  const rows = await db
    .selectFrom('advisory_cves')
    .innerJoin('advisories', 'advisories.id', 'advisory_cves.advisory_id')
    .select(['advisory_cves.cve', 'advisories.kev'])
    .where('advisories.kev', 'is not', null)
    .execute();
  const byCve = new Map<string, KevFacts>();
  for (const r of rows) {
    const kev = fromJson<KevFacts | null>(r.kev, null);
    if (kev !== null) byCve.set(r.cve, kev);
  }
  return byCve;
}

/** The host attributes assessment and routing look at. */
export interface HostFacts {
  id: number;
  name: string;
  criticality: Criticality;
  role: string;
  groups: string[];
}

export async function loadHostFacts(db: Executor): Promise<Map<number, HostFacts>> {
  const rows = await db.selectFrom('hosts').select(['id', 'name', 'criticality', 'role', 'groups']).execute();
  return new Map(
    rows.map((r) => [
      Number(r.id),
      { id: Number(r.id), name: r.name, criticality: r.criticality as Criticality, role: r.role, groups: fromJson<string[]>(r.groups, []) },
    ]),
  );
}
