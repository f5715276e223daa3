import { sql, type Selectable } from 'kysely';
import { replacementRefusal } from '../../core/cve-merge.js';
import { affectedPackageNames } from '../../core/matching.js';
import type { AdvisoryInput, AdvisoryTrust, KevFacts } from '../../core/types.js';
import type { Executor } from '../db.js';
import { fromJson, toJson } from '../json.js';
import type { Database } from '../schema.js';

/**
 * Rows per statement. SQLite allows 32,766 bound values per statement and PostgreSQL 65,535;
 * 18 advisory columns x 500 rows stays far below both.
 */
const ADVISORY_CHUNK = 500;
const LINK_CHUNK = 2000;
const ID_CHUNK = 1000;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Content hashes of the advisories that already exist, by id. */
export async function loadContentHashes(db: Executor, ids: string[]): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  for (const part of chunks(ids, ID_CHUNK)) {
    const rows = await db.selectFrom('advisories').select(['id', 'content_hash']).where('id', 'in', part).execute();
    for (const row of rows) hashes.set(row.id, row.content_hash);
  }
  return hashes;
}

/**
 * Records that may not be written because another source holds their id, with the outcome and why,
 * by id: `superseded` by a more authoritative one, or `refused` (see `replacementRefusal`). Read inside
 * the writing transaction so the check and the write see the same rows.
 */
export async function findAuthorityConflicts(db: Executor, advisories: AdvisoryInput[]): Promise<Map<string, AuthorityConflict>> {
  const byId = new Map(advisories.map((a) => [a.id, a]));
  const conflicts = new Map<string, AuthorityConflict>();
  for (const part of chunks([...byId.keys()], ID_CHUNK)) {
    const rows = await db.selectFrom('advisories').select(['id', 'source', 'trust']).where('id', 'in', part).execute();
    for (const row of rows) {
      const incoming = byId.get(row.id)!;
      const conflict = replacementRefusal(row.id, { source: row.source, trust: row.trust as AdvisoryTrust }, incoming);
      if (conflict !== null) conflicts.set(row.id, conflict);
    }
  }
  return conflicts;
}

export type AuthorityConflict = NonNullable<ReturnType<typeof replacementRefusal>>;

/** Vendor facts of CSAF and MSRC advisories as one JSON text; null when the feed gives none. */
function vendorDetails(a: AdvisoryInput): string | null {
  const { remediations, threats, products, provenance } = a;
  if (remediations === undefined && threats === undefined && products === undefined && provenance === undefined) return null;
  return toJson({ remediations: remediations ?? [], threats: threats ?? [], products: products ?? [], provenance: provenance ?? null });
}

export interface AdvisoryWrite {
  advisory: AdvisoryInput;
  contentHash: string;
}

/** The `advisories` row of a normalised advisory. */
export function advisoryRow(a: AdvisoryInput, contentHash: string, at: string) {
  return {
    id: a.id,
    source: a.source,
    trust: a.trust,
    title: a.title,
    summary: a.summary,
    url: a.url,
    published_at: a.publishedAt,
    modified_at: a.modifiedAt,
    withdrawn_at: a.withdrawnAt,
    cves: toJson(a.cves),
    affected: toJson(a.affected),
    cvss_score: a.cvss?.score ?? null,
    cvss_vector: a.cvss?.vector ?? null,
    kev: a.kev === null ? null : toJson(a.kev),
    vendor_severity: a.vendorSeverity,
    vendor_details: vendorDetails(a),
    content_hash: contentHash,
    ingested_at: at,
    updated_at: at,
  };
}

/**
 * Inserts new advisories and overwrites changed ones (keeping their first `ingested_at`), then
 * replaces their CVE links and package names: one row per name a host package can carry (the
 * normalised source name and every binary name). Batched; call inside the caller's transaction.
 */
export async function writeAdvisories(trx: Executor, writes: AdvisoryWrite[], now: Date): Promise<void> {
  if (writes.length === 0) return;
  const at = now.toISOString();
  for (const part of chunks(writes, ADVISORY_CHUNK)) {
    const rows = part.map(({ advisory, contentHash }) => advisoryRow(advisory, contentHash, at));
    await trx
      .insertInto('advisories')
      .values(rows)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({
          source: eb.ref('excluded.source'),
          trust: eb.ref('excluded.trust'),
          title: eb.ref('excluded.title'),
          summary: eb.ref('excluded.summary'),
          url: eb.ref('excluded.url'),
          published_at: eb.ref('excluded.published_at'),
          modified_at: eb.ref('excluded.modified_at'),
          withdrawn_at: eb.ref('excluded.withdrawn_at'),
          cves: eb.ref('excluded.cves'),
          affected: eb.ref('excluded.affected'),
          cvss_score: eb.ref('excluded.cvss_score'),
          cvss_vector: eb.ref('excluded.cvss_vector'),
          kev: eb.ref('excluded.kev'),
          vendor_severity: eb.ref('excluded.vendor_severity'),
          vendor_details: eb.ref('excluded.vendor_details'),
          content_hash: eb.ref('excluded.content_hash'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }
  const ids = writes.map((w) => w.advisory.id);
  for (const part of chunks(ids, ID_CHUNK)) {
    await trx.deleteFrom('advisory_cves').where('advisory_id', 'in', part).execute();
    await trx.deleteFrom('advisory_packages').where('advisory_id', 'in', part).execute();
  }
  const cveRows = writes.flatMap(({ advisory }) => [...new Set(advisory.cves)].map((cve) => ({ advisory_id: advisory.id, cve })));
  // `do nothing`: two ingests of the same record racing on PostgreSQL must not fail on each other's rows.
  for (const part of chunks(cveRows, LINK_CHUNK)) {
    await trx.insertInto('advisory_cves').values(part).onConflict((oc) => oc.doNothing()).execute();
  }
  const packageRows = writes.flatMap(({ advisory }) => {
    const seen = new Set<string>();
    return advisory.affected.flatMap((affected) =>
      affectedPackageNames(affected).flatMap((name) => {
        const key = `${affected.ecosystem}\u0000${name}`;
        if (seen.has(key)) return [];
        seen.add(key);
        return [{ advisory_id: advisory.id, ecosystem: affected.ecosystem, name }];
      }),
    );
  });
  for (const part of chunks(packageRows, LINK_CHUNK)) {
    await trx.insertInto('advisory_packages').values(part).onConflict((oc) => oc.doNothing()).execute();
  }
}

export interface AdvisoryListItem {
  id: string;
  source: string;
  trust: AdvisoryTrust;
  title: string;
  cves: string[];
  publishedAt: string | null;
  withdrawnAt: string | null;
  cvssScore: number | null;
  vendorSeverity: string | null;
  kev: KevFacts | null;
}

/** Advisories newest first (undated last), optionally of one source and/or naming one CVE (as stored: upper case). `limit` 0 or absent: all. */
export async function listAdvisories(db: Executor, filter: { source?: string; cve?: string; limit?: number } = {}): Promise<AdvisoryListItem[]> {
  let query = db
    .selectFrom('advisories')
    .select(['id', 'source', 'trust', 'title', 'cves', 'published_at', 'withdrawn_at', 'cvss_score', 'vendor_severity', 'kev'])
    // NULLs sort differently on the two dialects; put undated advisories last on both.
    .orderBy(sql`case when published_at is null then 1 else 0 end`)
    .orderBy('published_at', 'desc')
    .orderBy('id', 'asc');
  if (filter.source !== undefined) query = query.where('source', '=', filter.source);
  const cve = filter.cve;
  if (cve !== undefined) query = query.where('id', 'in', (eb) => eb.selectFrom('advisory_cves').select('advisory_id').where('cve', '=', cve));
  if (filter.limit !== undefined && filter.limit > 0) query = query.limit(filter.limit);
  const rows = await query.execute();
  return rows.map((r) => ({
    id: r.id,
    source: r.source,
    trust: r.trust as AdvisoryTrust,
    title: r.title,
    cves: fromJson<string[]>(r.cves, []),
    publishedAt: r.published_at,
    withdrawnAt: r.withdrawn_at,
    cvssScore: r.cvss_score === null ? null : Number(r.cvss_score),
    vendorSeverity: r.vendor_severity,
    kev: fromJson<KevFacts | null>(r.kev, null),
  }));
}

export async function countAdvisories(db: Executor, filter: { source?: string } = {}): Promise<number> {
  let query = db.selectFrom('advisories').select((eb) => eb.fn.countAll().as('n'));
  if (filter.source !== undefined) query = query.where('source', '=', filter.source);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.n);
}

export interface FeedStateView {
  name: string;
  kind: string;
  lastRunAt: string | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  consecutiveFailures: number;
  items: number;
  /** Polls skip the feed until then (its server was busy or down). */
  nextAttemptAt: string | null;
  /** When the current run of failures was reported to the ops channel. */
  failureNotifiedAt: string | null;
}

type FeedStateRow = Selectable<Database['feed_state']>;

function toFeedStateView(r: FeedStateRow): FeedStateView {
  return {
    name: r.name,
    kind: r.kind,
    lastRunAt: r.last_run_at,
    lastSuccessAt: r.last_success_at,
    lastError: r.last_error,
    lastErrorAt: r.last_error_at,
    consecutiveFailures: Number(r.consecutive_failures),
    items: Number(r.items),
    nextAttemptAt: r.next_attempt_at,
    failureNotifiedAt: r.failure_notified_at,
  };
}

export async function listFeedStates(db: Executor): Promise<FeedStateView[]> {
  const rows = await db.selectFrom('feed_state').selectAll().orderBy('name', 'asc').execute();
  return rows.map(toFeedStateView);
}

export async function getFeedState(db: Executor, name: string): Promise<FeedStateView | null> {
  const row = await db.selectFrom('feed_state').selectAll().where('name', '=', name).executeTakeFirst();
  return row ? toFeedStateView(row) : null;
}

/** HTTP validators of the last good fetch, kept per feed with the URL they belong to. */
export interface FeedValidators {
  url: string;
  etag: string | null;
  lastModified: string | null;
}

/** The validators to send when fetching `url` for this feed; null when there are none for that URL. */
export async function getFeedValidators(db: Executor, name: string, url: string): Promise<FeedValidators | null> {
  const row = await db
    .selectFrom('feed_state')
    .select(['etag', 'last_modified', 'validators_url'])
    .where('name', '=', name)
    .executeTakeFirst();
  if (!row || row.validators_url !== url || (row.etag === null && row.last_modified === null)) return null;
  return { url, etag: row.etag, lastModified: row.last_modified };
}

export type FeedRunOutcome =
  | {
      ok: true;
      items: number;
      /** Records skipped in an otherwise good run. */
      partialError: string | null;
      /** From a plain URL fetch: replaces the stored validators. Absent: they are kept. */
      validators?: FeedValidators;
    }
  | { ok: false; error: string; /** Backoff: polls skip the feed until then; null: no wait. */ nextAttemptAt?: string | null };

/**
 * Records one run of a feed. A run that stored data resets `consecutive_failures`, the backoff and the
 * ops notice (skipped records are noted in `last_error`); a failed run keeps the last good `items`
 * and validators and counts up.
 */
export async function recordFeedRun(trx: Executor, feed: { name: string; kind: string }, outcome: FeedRunOutcome, now: Date): Promise<void> {
  const at = now.toISOString();
  if (outcome.ok) {
    const errorAt = outcome.partialError === null ? null : at;
    const validators = outcome.validators;
    await trx
      .insertInto('feed_state')
      .values({
        name: feed.name,
        kind: feed.kind,
        last_run_at: at,
        last_success_at: at,
        last_error: outcome.partialError,
        last_error_at: errorAt,
        consecutive_failures: 0,
        items: outcome.items,
        etag: validators?.etag ?? null,
        last_modified: validators?.lastModified ?? null,
        validators_url: validators?.url ?? null,
        next_attempt_at: null,
        failure_notified_at: null,
      })
      .onConflict((oc) =>
        oc.column('name').doUpdateSet((eb) => ({
          kind: eb.ref('excluded.kind'),
          last_run_at: eb.ref('excluded.last_run_at'),
          last_success_at: eb.ref('excluded.last_success_at'),
          last_error: eb.ref('excluded.last_error'),
          // A clean run keeps the time of the last error for the record.
          last_error_at: errorAt === null ? eb.ref('feed_state.last_error_at') : eb.ref('excluded.last_error_at'),
          consecutive_failures: 0,
          items: eb.ref('excluded.items'),
          ...(validators === undefined
            ? {}
            : { etag: eb.ref('excluded.etag'), last_modified: eb.ref('excluded.last_modified'), validators_url: eb.ref('excluded.validators_url') }),
          next_attempt_at: null,
          failure_notified_at: null,
        })),
      )
      .execute();
    return;
  }
  await trx
    .insertInto('feed_state')
    .values({
      name: feed.name,
      kind: feed.kind,
      last_run_at: at,
      last_success_at: null,
      last_error: outcome.error,
      last_error_at: at,
      consecutive_failures: 1,
      items: 0,
      next_attempt_at: outcome.nextAttemptAt ?? null,
    })
    .onConflict((oc) =>
      oc.column('name').doUpdateSet((eb) => ({
        kind: eb.ref('excluded.kind'),
        last_run_at: eb.ref('excluded.last_run_at'),
        last_error: eb.ref('excluded.last_error'),
        last_error_at: eb.ref('excluded.last_error_at'),
        consecutive_failures: sql<number>`feed_state.consecutive_failures + 1`,
        next_attempt_at: eb.ref('excluded.next_attempt_at'),
      })),
    )
    .execute();
}

/**
 * A 304 answer: the feed is as it was, so the run counts as a success that keeps `items` and the
 * validators (refreshed when the server sent new ones).
 */
export async function recordFeedUnchanged(trx: Executor, feed: { name: string; kind: string }, validators: FeedValidators, now: Date): Promise<void> {
  const at = now.toISOString();
  await trx
    .insertInto('feed_state')
    .values({
      name: feed.name,
      kind: feed.kind,
      last_run_at: at,
      last_success_at: at,
      consecutive_failures: 0,
      items: 0,
      etag: validators.etag,
      last_modified: validators.lastModified,
      validators_url: validators.url,
    })
    .onConflict((oc) =>
      oc.column('name').doUpdateSet((eb) => ({
        last_run_at: eb.ref('excluded.last_run_at'),
        last_success_at: eb.ref('excluded.last_success_at'),
        last_error: null,
        consecutive_failures: 0,
        etag: eb.ref('excluded.etag'),
        last_modified: eb.ref('excluded.last_modified'),
        validators_url: eb.ref('excluded.validators_url'),
        next_attempt_at: null,
        failure_notified_at: null,
      })),
    )
    .execute();
}

/**
 * Marks the feed's current run of failures as reported, if it has at least `threshold` failures and
 * was not reported yet. True for exactly one caller, however many workers race: that one posts.
 */
export async function claimFailureNotice(trx: Executor, name: string, threshold: number, now: Date): Promise<boolean> {
  const result = await trx
    .updateTable('feed_state')
    .set({ failure_notified_at: now.toISOString() })
    .where('name', '=', name)
    .where('failure_notified_at', 'is', null)
    .where('consecutive_failures', '>=', threshold)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Undoes a claim whose post failed, so the next failing run tries again. */
export async function releaseFailureNotice(trx: Executor, name: string, claimedAt: Date): Promise<void> {
  await trx
    .updateTable('feed_state')
    .set({ failure_notified_at: null })
    .where('name', '=', name)
    .where('failure_notified_at', '=', claimedAt.toISOString())
    .execute();
}
