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

/** A case's cached artifact as a rollout plan keeps it (the file's place follows from sha256 and `artifacts.dir`). */
export interface DeployArtifact {
  url: string;
  sha256: string;
  size: number;
  fileName: string;
  /** The package it was fetched for (config sources); null for a vendor remediation file, matched by its name. */
  package: string | null;
  ecosystem: string | null;
}

/** The file name a URL gives, made safe for a path on a host: only `[A-Za-z0-9._+~-]`, never starting with `-` or `.`. */
export function artifactFileName(url: string, sha256: string): string {
  let last = '';
  try {
    last = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  } catch {
    last = '';
  }
  const safe = last.replace(/[^A-Za-z0-9._+~-]/g, '_').replace(/^[-.]+/, '').slice(0, 200);
  return safe === '' ? `artifact-${sha256.slice(0, 12)}` : safe;
}

/** Every artifact linked to the case whose file was recorded, one per URL. */
export async function listCaseDeployArtifacts(db: Executor, caseId: number): Promise<DeployArtifact[]> {
  const rows = await db
    .selectFrom('case_artifacts')
    .innerJoin('artifacts', 'artifacts.url', 'case_artifacts.url')
    .select(['artifacts.url', 'artifacts.sha256', 'artifacts.size', 'case_artifacts.package', 'case_artifacts.ecosystem'])
    .where('case_artifacts.case_id', '=', caseId)
    .orderBy('artifacts.url')
    .execute();
  return rows.map((r) => ({
    url: r.url,
    sha256: r.sha256,
    size: Number(r.size),
    fileName: artifactFileName(r.url, r.sha256),
    package: r.package,
    ecosystem: r.ecosystem,
  }));
}

function nameInFile(fileName: string, name: string): boolean {
  const file = fileName.toLowerCase();
  const wanted = name.toLowerCase();
  for (let at = file.indexOf(wanted); at >= 0; at = file.indexOf(wanted, at + 1)) {
    const before = at === 0 ? '' : file[at - 1]!;
    const after = file[at + wanted.length] ?? '';
    if (!/[a-z0-9]/.test(before) && !/[a-z0-9]/.test(after)) return true;
  }
  return false;
}

/**
 * The artifacts for one package: those fetched for it by name (and ecosystem), else vendor files whose
 * name holds the package as a whole word (`windows10.0-kb5032189-x64.msu` for `KB5032189`).
 */
export function artifactsForPackage<T extends DeployArtifact>(artifacts: readonly T[], pkg: { ecosystem: string; name: string }): T[] {
  const named = artifacts.filter((a) => a.package === pkg.name && (a.ecosystem === null || a.ecosystem === pkg.ecosystem));
  if (named.length > 0) return named;
  return artifacts.filter((a) => a.package === null && nameInFile(a.fileName, pkg.name));
}

/** Per host of a rollout, the artifacts of the plan for the case's packages on it (for pages; empty when the plan has none). */
export async function listRolloutHostArtifacts(db: Executor, rolloutId: number): Promise<Map<number, DeployArtifact[]>> {
  const byHost = new Map<number, DeployArtifact[]>();
  const rollout = await db.selectFrom('rollouts').select(['case_id', 'plan']).where('id', '=', rolloutId).executeTakeFirst();
  if (!rollout) return byHost;
  let artifacts: DeployArtifact[] = [];
  try {
    const plan = JSON.parse(rollout.plan) as { artifacts?: unknown };
    if (Array.isArray(plan.artifacts)) artifacts = plan.artifacts as DeployArtifact[];
  } catch {
    // A plan that is not JSON names no artifacts.
  }
  if (artifacts.length === 0) return byHost;
  const rows = await db
    .selectFrom('exposures')
    .select(['host_id', 'ecosystem', 'package'])
    .distinct()
    .where('case_id', '=', Number(rollout.case_id))
    .orderBy('host_id')
    .orderBy('package')
    .execute();
  for (const row of rows) {
    const found = artifactsForPackage(artifacts, { ecosystem: row.ecosystem, name: row.package });
    if (found.length === 0) continue;
    const list = byHost.get(Number(row.host_id)) ?? [];
    for (const a of found) if (!list.some((x) => x.sha256 === a.sha256)) list.push(a);
    byHost.set(Number(row.host_id), list);
  }
  return byHost;
}

/** Per host of a case's latest rollout, the cached artifacts it was given, for the review page; hosts without any are left out. */
export async function listCaseDeployedArtifacts(
  db: Executor,
  caseId: number,
): Promise<{ host: string; state: string; artifacts: { fileName: string; sha256: string; sha256Short: string; package: string | null }[] }[]> {
  const rollout = await db.selectFrom('rollouts').select('id').where('case_id', '=', caseId).orderBy('id', 'desc').executeTakeFirst();
  if (!rollout) return [];
  const byHost = await listRolloutHostArtifacts(db, Number(rollout.id));
  if (byHost.size === 0) return [];
  const targets = await db
    .selectFrom('rollout_targets')
    .select(['host_id', 'host_name', 'state'])
    .where('rollout_id', '=', Number(rollout.id))
    .orderBy('host_name')
    .execute();
  return targets.flatMap((t) => {
    const found = byHost.get(Number(t.host_id)) ?? [];
    if (found.length === 0) return [];
    return [{ host: t.host_name, state: t.state, artifacts: found.map((a) => ({ fileName: a.fileName, sha256: a.sha256, sha256Short: a.sha256.slice(0, 12), package: a.package })) }];
  });
}
