import type { Executor } from '../db.js';

export interface ArtifactRecord {
  url: string;
  sha256: string;
  size: number;
  contentType: string | null;
  fetchedAt: string;
  fetchedBy: string;
}

export interface CaseArtifactLink {
  caseId: number;
  url: string;
  origin: string;
  ecosystem: string | null;
  package: string | null;
  version: string | null;
}

export interface ArtifactListItem extends ArtifactRecord {
  /** Cases that need this artifact, with the package each needs it for. */
  links: Omit<CaseArtifactLink, 'url'>[];
}

/** What a case's advisory says about downloadable fixes: the whole stored row (other sources add columns) and the fixed packages hosts need. */
export interface CaseArtifactSubject {
  caseId: number;
  advisoryId: string;
  advisory: Record<string, unknown>;
  fixedPackages: { ecosystem: string; package: string; version: string }[];
}

export async function loadCaseArtifactSubject(db: Executor, caseId: number): Promise<CaseArtifactSubject | null> {
  const caseRow = await db.selectFrom('cases').select(['id', 'advisory_id']).where('id', '=', caseId).executeTakeFirst();
  if (!caseRow) return null;
  const advisory = await db.selectFrom('advisories').selectAll().where('id', '=', caseRow.advisory_id).executeTakeFirst();
  const fixed = await db
    .selectFrom('exposures')
    .select(['ecosystem', 'package', 'fixed'])
    .distinct()
    .where('advisory_id', '=', caseRow.advisory_id)
    .where('fixed', 'is not', null)
    .orderBy('ecosystem')
    .orderBy('package')
    .orderBy('fixed')
    .execute();
  return {
    caseId: Number(caseRow.id),
    advisoryId: caseRow.advisory_id,
    advisory: { ...(advisory ?? {}) },
    fixedPackages: fixed.map((r) => ({ ecosystem: r.ecosystem, package: r.package, version: r.fixed! })),
  };
}

type ArtifactRow = { url: string; sha256: string; size: number | string; content_type: string | null; fetched_at: string; fetched_by: string };

function toRecord(row: ArtifactRow): ArtifactRecord {
  return {
    url: row.url,
    sha256: row.sha256,
    size: Number(row.size),
    contentType: row.content_type,
    fetchedAt: row.fetched_at,
    fetchedBy: row.fetched_by,
  };
}

export async function getArtifact(db: Executor, url: string): Promise<ArtifactRecord | null> {
  const row = await db.selectFrom('artifacts').selectAll().where('url', '=', url).executeTakeFirst();
  return row ? toRecord(row) : null;
}

/** Records (or re-records) what a URL served. */
export async function saveArtifact(trx: Executor, artifact: ArtifactRecord): Promise<void> {
  const row = {
    url: artifact.url,
    sha256: artifact.sha256,
    size: artifact.size,
    content_type: artifact.contentType,
    fetched_at: artifact.fetchedAt,
    fetched_by: artifact.fetchedBy,
  };
  await trx
    .insertInto('artifacts')
    .values(row)
    .onConflict((oc) => oc.column('url').doUpdateSet({ sha256: row.sha256, size: row.size, content_type: row.content_type, fetched_at: row.fetched_at, fetched_by: row.fetched_by }))
    .execute();
}

/** Links an artifact to a case; false when the link was already there. */
export async function linkCaseArtifact(trx: Executor, link: CaseArtifactLink, nowIso: string): Promise<boolean> {
  const result = await trx
    .insertInto('case_artifacts')
    .values({
      case_id: link.caseId,
      url: link.url,
      origin: link.origin,
      ecosystem: link.ecosystem,
      package: link.package,
      version: link.version,
      linked_at: nowIso,
    })
    .onConflict((oc) => oc.columns(['case_id', 'url']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Artifacts by URL, each with the cases linked to it; with `caseId`, only that case's. */
export async function listArtifacts(db: Executor, filter: { caseId?: number } = {}): Promise<ArtifactListItem[]> {
  let query = db
    .selectFrom('artifacts')
    .leftJoin('case_artifacts', 'case_artifacts.url', 'artifacts.url')
    .select([
      'artifacts.url',
      'artifacts.sha256',
      'artifacts.size',
      'artifacts.content_type',
      'artifacts.fetched_at',
      'artifacts.fetched_by',
      'case_artifacts.case_id',
      'case_artifacts.origin',
      'case_artifacts.ecosystem',
      'case_artifacts.package',
      'case_artifacts.version',
    ])
    .orderBy('artifacts.url')
    .orderBy('case_artifacts.case_id');
  if (filter.caseId !== undefined) query = query.where('case_artifacts.case_id', '=', filter.caseId);
  const rows = await query.execute();
  const byUrl = new Map<string, ArtifactListItem>();
  for (const row of rows) {
    let item = byUrl.get(row.url);
    if (!item) {
      item = { ...toRecord(row), links: [] };
      byUrl.set(row.url, item);
    }
    if (row.case_id !== null && row.origin !== null) {
      item.links.push({ caseId: Number(row.case_id), origin: row.origin, ecosystem: row.ecosystem, package: row.package, version: row.version });
    }
  }
  return [...byUrl.values()];
}
