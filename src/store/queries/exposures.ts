import { sql } from 'kysely';
import { WINDOWS_KB_ECOSYSTEM, withRemediationSupersedence, type AdvisoryAffected } from '../../core/matching.js';
import type { AdvisoryRemediation, AffectedPackage, Criticality, KevFacts, Severity } from '../../core/types.js';
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

/** Which advisories and hosts an assessment looks at; absent means all. */
export interface AssessScope {
  advisoryIds?: string[];
  hostIds?: number[];
}

/**
 * The match data (`affected`) of authoritative, non-withdrawn advisories in scope that name a package
 * some host has (Windows KB advisories are loaded by `listWindowsAdvisoryIds`). For a host scope, only
 * the advisories naming one of those hosts' packages.
 */
export async function listMatchAdvisories(db: Executor, scope: AssessScope = {}): Promise<AdvisoryAffected[]> {
  const ids = new Set<string>();
  if (scope.hostIds !== undefined && scope.advisoryIds === undefined) {
    for (const part of chunk(scope.hostIds, 500)) {
      const rows = await db
        .selectFrom('advisory_packages as ap')
        .innerJoin('host_packages as hp', (join) => join.onRef('hp.ecosystem', '=', 'ap.ecosystem').onRef('hp.name', '=', 'ap.name'))
        .select('ap.advisory_id')
        .distinct()
        .where('hp.host_id', 'in', part)
        .execute();
      for (const r of rows) ids.add(r.advisory_id);
    }
    if (ids.size === 0) return [];
  }
  const wanted = scope.advisoryIds ?? (scope.hostIds !== undefined ? [...ids] : undefined);
  const out: AdvisoryAffected[] = [];
  for (const part of wanted === undefined ? [undefined] : chunk(wanted, 500)) {
    let query = db.selectFrom('advisories').select(['id', 'affected']).where('trust', '=', 'authoritative').where('withdrawn_at', 'is', null);
    if (part !== undefined) query = query.where('id', 'in', part);
    for (const r of await query.execute()) {
      const affected = fromJson<AffectedPackage[]>(r.affected, []).filter((e) => e.ecosystem !== WINDOWS_KB_ECOSYSTEM);
      if (affected.length > 0) out.push({ id: r.id, affected });
    }
  }
  return out;
}

/** Which of the given advisory ids are stored (in any state). */
export async function findAdvisoryIds(db: Executor, ids: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const part of chunk([...new Set(ids)], 500)) {
    for (const r of await db.selectFrom('advisories').select('id').where('id', 'in', part).execute()) found.add(r.id);
  }
  return found;
}

/** Authoritative, non-withdrawn advisories with a Windows KB entry (MSRC), optionally only some. */
export async function listWindowsAdvisoryIds(db: Executor, advisoryIds?: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const part of advisoryIds === undefined ? [undefined] : chunk(advisoryIds, 500)) {
    let query = db
      .selectFrom('advisory_packages as ap')
      .innerJoin('advisories as a', 'a.id', 'ap.advisory_id')
      .select('a.id')
      .distinct()
      .where('ap.ecosystem', '=', WINDOWS_KB_ECOSYSTEM)
      .where('a.trust', '=', 'authoritative')
      .where('a.withdrawn_at', 'is', null);
    if (part !== undefined) query = query.where('a.id', 'in', part);
    for (const r of await query.execute()) out.push(r.id);
  }
  return out.sort(cmp);
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

type VendorDetails = { threats?: { category?: string; details?: string }[]; remediations?: AdvisoryRemediation[] };

/** Exploit-status texts from `vendor_details` (migration 0003): CSAF `exploit_status`, MSRC "Exploit Status". */
function exploitStatusOf(details: VendorDetails | null): string[] {
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
      const details = fromJson<VendorDetails | null>(r.vendor_details, null);
      facts.set(r.id, {
        id: r.id,
        title: r.title,
        cves: fromJson<string[]>(r.cves, []),
        affected: withRemediationSupersedence(fromJson<AffectedPackage[]>(r.affected, []), details?.remediations ?? []),
        cvss: score === null && r.cvss_vector === null ? null : { score, vector: r.cvss_vector },
        vendorSeverity: r.vendor_severity,
        kev: fromJson<KevFacts | null>(r.kev, null),
        exploitStatus: exploitStatusOf(details),
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

/** The columns assessment decides for an exposure (besides its identity, detection and case). */
export interface ExposureValues {
  installed: string;
  fixed: string | null;
  severity: Severity;
  /** JSON text of the reason lines. */
  reasons: string;
  due_at: string;
  status: ExposureStatus;
  exemption_id: number | null;
}

/** Whether the decided columns are the same: nothing to write then. */
export function sameExposureValues(a: ExposureValues, b: ExposureValues): boolean {
  return (
    a.installed === b.installed &&
    a.fixed === b.fixed &&
    a.severity === b.severity &&
    a.reasons === b.reasons &&
    a.due_at === b.due_at &&
    a.status === b.status &&
    a.exemption_id === b.exemption_id
  );
}

export const exposureKey = (hostId: number, advisoryId: string, ecosystem: string, pkg: string) => `${hostId}\u0000${advisoryId}\u0000${ecosystem}\u0000${pkg}`;

/** A stored exposure as assessment compares it with what it found. */
export interface StoredExposure extends ExposureValues {
  id: number;
  hostId: number;
  advisoryId: string;
  ecosystem: string;
  package: string;
  detectedAt: string;
}

/**
 * Rows read per statement: a fleet's exposures are compared page by page, never all held at once.
 * Small pages (about 2 MB of reason texts) die young in V8's nursery instead of growing the old heap.
 */
const EXPOSURE_PAGE = 2_000;

/**
 * Visits the stored exposures in scope (both filters apply when both are given) in pages by id.
 * `visit` may update the rows it is given (not insert): pages continue after the last id seen.
 */
export async function forEachStoredExposurePage(db: Executor, scope: AssessScope, visit: (rows: StoredExposure[]) => Promise<void>): Promise<void> {
  const hostFilter = scope.hostIds === undefined ? null : new Set(scope.hostIds);
  const advisoryFilter = scope.advisoryIds === undefined ? null : new Set(scope.advisoryIds);
  // Narrow by the shorter list in SQL and by the other in memory.
  const byAdvisory = scope.advisoryIds !== undefined && (scope.hostIds === undefined || scope.advisoryIds.length <= scope.hostIds.length);
  const parts: (string[] | number[] | undefined)[] = byAdvisory ? chunk(scope.advisoryIds!, 500) : scope.hostIds !== undefined ? chunk(scope.hostIds, 500) : [undefined];
  for (const part of parts) {
    let last = 0;
    for (;;) {
      let query = db
        .selectFrom('exposures')
        .select(['id', 'host_id', 'advisory_id', 'ecosystem', 'package', 'installed', 'fixed', 'severity', 'reasons', 'due_at', 'status', 'exemption_id', 'detected_at'])
        .where('id', '>', last)
        .orderBy('id', 'asc')
        .limit(EXPOSURE_PAGE);
      if (part !== undefined) query = byAdvisory ? query.where('advisory_id', 'in', part as string[]) : query.where('host_id', 'in', part as number[]);
      const rows = await query.execute();
      const page: StoredExposure[] = [];
      for (const r of rows) {
        const hostId = Number(r.host_id);
        if (hostFilter !== null && !hostFilter.has(hostId)) continue;
        if (advisoryFilter !== null && !advisoryFilter.has(r.advisory_id)) continue;
        page.push({
          id: Number(r.id),
          hostId,
          advisoryId: r.advisory_id,
          ecosystem: r.ecosystem,
          package: r.package,
          installed: r.installed,
          fixed: r.fixed,
          severity: r.severity as Severity,
          reasons: r.reasons,
          due_at: r.due_at,
          status: r.status as ExposureStatus,
          exemption_id: r.exemption_id === null ? null : Number(r.exemption_id),
          detectedAt: r.detected_at,
        });
      }
      if (page.length > 0) await visit(page);
      if (rows.length < EXPOSURE_PAGE) break;
      last = Number(rows.at(-1)!.id);
    }
  }
}

export interface ExposureInsert extends ExposureValues {
  host_id: number;
  advisory_id: string;
  ecosystem: string;
  package: string;
  detected_at: string;
}

/** 14 columns a row: 1,000 rows (14,000 values) stay under SQLite's 32,766 and PostgreSQL's 65,535 parameters. */
const INSERT_CHUNK = 1000;

export async function insertExposures(db: Executor, rows: ExposureInsert[]): Promise<void> {
  for (const part of chunk(rows, INSERT_CHUNK)) {
    await db
      .insertInto('exposures')
      .values(part.map((r) => ({ ...r, resolved_at: null, case_id: null })))
      .execute();
  }
}

export interface ExposureUpdate extends ExposureValues {
  id: number;
  detected_at: string;
  /** A resolved exposure found again: a new detection, so its case link and resolution are cleared. */
  reopen: boolean;
}

/** 10 values a row, as for inserts. */
const UPDATE_CHUNK = 1000;

/**
 * Many exposure updates in one statement per chunk (`UPDATE … FROM` a VALUES list, which both SQLite
 * and PostgreSQL take) instead of one UPDATE per row. Casts keep PostgreSQL from reading the bound
 * integers as text.
 */
export async function updateExposures(db: Executor, updates: ExposureUpdate[]): Promise<void> {
  for (const part of chunk(updates, UPDATE_CHUNK)) {
    const values = sql.join(
      part.map(
        (u) =>
          sql`(cast(${u.id} as integer), ${u.installed}, ${u.fixed}, ${u.severity}, ${u.reasons}, ${u.due_at}, ${u.status}, cast(${u.exemption_id} as integer), ${u.detected_at}, cast(${u.reopen ? 1 : 0} as integer))`,
      ),
    );
    await sql`with v (id, installed, fixed, severity, reasons, due_at, status, exemption_id, detected_at, reopen) as (values ${values})
      update exposures set installed = v.installed, fixed = v.fixed, severity = v.severity, reasons = v.reasons, due_at = v.due_at,
        status = v.status, exemption_id = v.exemption_id, detected_at = v.detected_at,
        resolved_at = case when v.reopen = 1 then null else exposures.resolved_at end,
        case_id = case when v.reopen = 1 then null else exposures.case_id end
      from v where exposures.id = v.id`.execute(db);
  }
}

export async function resolveExposures(db: Executor, ids: number[], nowIso: string): Promise<void> {
  for (const part of chunk(ids, 500)) {
    await db.updateTable('exposures').set({ status: 'resolved', resolved_at: nowIso }).where('id', 'in', part).execute();
  }
}

/** Advisories with an open exposure not yet attached to a case: the only ones case opening can act on. */
export async function listAdvisoriesWithUnassignedExposures(db: Executor): Promise<string[]> {
  const rows = await db.selectFrom('exposures').select('advisory_id').distinct().where('status', '=', 'open').where('case_id', 'is', null).execute();
  return rows.map((r) => r.advisory_id).sort(cmp);
}

/** An open exposure as case opening weighs it (reasons are read only for the one that explains a case). */
export interface OpenExposureFacts {
  id: number;
  hostId: number;
  advisoryId: string;
  ecosystem: string;
  severity: Severity;
  dueAt: string;
  caseId: number | null;
}

export async function listOpenExposuresOf(db: Executor, advisoryIds: string[]): Promise<OpenExposureFacts[]> {
  const out: OpenExposureFacts[] = [];
  for (const part of chunk(advisoryIds, 500)) {
    const rows = await db
      .selectFrom('exposures')
      .select(['id', 'host_id', 'advisory_id', 'ecosystem', 'severity', 'due_at', 'case_id'])
      .where('advisory_id', 'in', part)
      .where('status', '=', 'open')
      .execute();
    for (const r of rows) {
      out.push({
        id: Number(r.id),
        hostId: Number(r.host_id),
        advisoryId: r.advisory_id,
        ecosystem: r.ecosystem,
        severity: r.severity as Severity,
        dueAt: r.due_at,
        caseId: r.case_id === null ? null : Number(r.case_id),
      });
    }
  }
  return out;
}

export async function getExposureReasons(db: Executor, id: number): Promise<string[]> {
  const row = await db.selectFrom('exposures').select('reasons').where('id', '=', id).executeTakeFirst();
  return fromJson<string[]>(row?.reasons ?? null, []);
}
