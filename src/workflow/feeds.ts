import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { FeedConfigSchema, type FeedConfig } from '../config/schema.js';
import { isPatchdeckError, PatchdeckError } from '../core/errors.js';
import type { AdvisoryInput, EpssScoreInput } from '../core/types.js';
import { getFeedPlugin } from '../feeds/index.js';
import type { FeedCollection, FeedDocument, FeedParseError, FeedPlugin, FeedReader, QuarantinedDocument } from '../feeds/types.js';
import { fetchBounded, type FetchDocument } from '../net/fetch.js';
import type { Executor } from '../store/db.js';
import {
  findAuthorityConflicts,
  getFeedValidators,
  loadContentHashes,
  recordFeedRun,
  recordFeedUnchanged,
  writeAdvisories,
  type AdvisoryWrite,
  type FeedValidators,
} from '../store/queries/advisories.js';
import { getEpss, writeEpssScores } from '../store/queries/epss.js';
import { deleteFeedDocuments, loadFeedDocuments, saveFeedDocuments, type FeedDocumentRecord } from '../store/queries/feed-documents.js';
import { insertQuarantined } from '../store/queries/quarantine.js';
import { requestAssess } from './assess-jobs.js';
import { recordChange, type WorkflowContext } from './context.js';
import { backoffUntil, deferredUntil, reportFailingFeeds } from './feed-health.js';
import { JOB_KINDS, type JobHandlers } from './jobs.js';
import type { Notifier } from './notifications.js';

/** What the feed services need besides the context; the fetch is injectable so tests and demos never touch a network. */
export interface FeedDeps {
  fetch?: FetchDocument;
  /** Where the `feeds.poll` job reports a feed failing several runs in a row (every enabled platform); absent or empty: not reported. */
  notifiers?: readonly Notifier[];
}

export interface IngestFileInput {
  kind: string;
  /** A file, or a directory whose files (by the kind's extensions, recursively) are read. */
  path: string;
  /** Feed name for feed_state and hint ids; defaults to the kind. */
  name?: string;
  actor: string;
  /** Parse every document, even those whose bytes (or listed timestamp) are unchanged since the last good run. */
  full?: boolean;
}

export interface IngestUrlInput {
  kind: string;
  url: string;
  name?: string;
  actor: string;
  full?: boolean;
}

export interface IngestResult {
  feed: string;
  kind: string;
  location: string;
  documents: number;
  added: number;
  updated: number;
  unchanged: number;
  /**
   * Records not stored because a more authoritative source holds their id (Ubuntu's OSV copy of a USN
   * the USN feed stored): expected when both feeds are read, so not an error. Their document is
   * remembered, so on the next run with the same bytes they count as `unchanged`.
   */
  superseded: number;
  /** Documents and records that could not be read (listed in `errors`); the rest was imported. */
  failed: number;
  /** Documents refused by their authenticity checks (also listed in `errors`, counted in `failed`). */
  quarantined: number;
  /** Documents not parsed because their bytes (or listed timestamp) were unchanged; their records count as `unchanged`. */
  skipped: number;
  errors: FeedParseError[];
  /** The server answered 304 to a conditional GET: nothing was fetched or parsed, all counts are 0. */
  notModified: boolean;
}

export interface PollOutcome {
  feed: string;
  kind: string;
  ok: boolean;
  result: IngestResult | null;
  error: { code: string; message: string } | null;
  /** Not polled: the feed is backing off until then (its server was busy or down). `ok` is true. */
  deferredUntil: string | null;
}

export interface PollResult {
  outcomes: PollOutcome[];
  failed: number;
}

/** Reads feed documents from a file or directory and ingests them (see `ingestDocuments`). */
export async function ingestFeedFile(ctx: WorkflowContext, input: IngestFileInput): Promise<IngestResult> {
  const feed = feedIdentity(input.kind, input.name);
  return runIngest(ctx, feed, input.path, input.actor, input.full === true, async (plugin, stamps) =>
    plugin.collect
      ? plugin.collect({ type: 'file', path: input.path }, feedReader(ctx, fetchBounded, stamps))
      : plainCollection(await readDocuments(input.path, plugin, ctx.config.fetch.maxBytes)),
  );
}

/** Fetches one feed document over HTTP(S) with the configured limits (config `fetch`) and ingests it. */
export async function ingestFeedUrl(ctx: WorkflowContext, input: IngestUrlInput, deps: FeedDeps = {}): Promise<IngestResult> {
  const feed = feedIdentity(input.kind, input.name);
  const fetchDocument = deps.fetch ?? fetchBounded;
  return runIngest(ctx, feed, input.url, input.actor, input.full === true, async (plugin, stamps): Promise<LoadedRun> => {
    if (plugin.collect) return plugin.collect({ type: 'url', url: input.url }, feedReader(ctx, fetchDocument, stamps));
    // Conditional GET with the validators of the last good fetch of this same URL.
    const previous = await getFeedValidators(ctx.store.db, feed.name, input.url);
    const fetched = await fetchDocument(input.url, ctx.config.fetch, previous ?? {});
    const validators: FeedValidators = { url: input.url, etag: fetched.etag ?? null, lastModified: fetched.lastModified ?? null };
    if (fetched.notModified) return { ...plainCollection([]), notModified: true, validators };
    return { ...plainCollection([{ location: input.url, body: fetched.body }]), validators };
  });
}

/** What a load step gathered; a plain URL fetch adds the validators to keep, or that nothing changed. */
type LoadedRun = FeedCollection & { validators?: FeedValidators; notModified?: boolean };

function plainCollection(documents: FeedCollection['documents']): FeedCollection {
  return { documents, quarantined: [], errors: [] };
}

/** The reading primitives a plugin's `collect` gets: files and URLs within config `fetch` limits. */
function feedReader(ctx: WorkflowContext, fetchDocument: FetchDocument, stamps: IngestedStamps): FeedReader {
  const maxBytes = ctx.config.fetch.maxBytes;
  return {
    now: ctx.clock.now(),
    ingestedStamp: stamps,
    async readFile(file) {
      const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return null;
        throw new PatchdeckError('PD_FEED_NOT_FOUND', `cannot read ${file}: ${error.message}`, { status: 404 });
      });
      if (info === null || info.isDirectory()) return null;
      if (info.size > maxBytes) {
        throw new PatchdeckError('PD_FEED_TOO_LARGE', `${file} is larger than ${maxBytes} bytes (config fetch.maxBytes)`, { details: { file, size: info.size, maxBytes } });
      }
      return readFile(file);
    },
    listFiles: (dir, extensions) =>
      listFiles(dir, extensions).catch((error: NodeJS.ErrnoException) => {
        throw new PatchdeckError('PD_FEED_NOT_FOUND', `cannot read ${dir}: ${error.code === 'ENOENT' ? 'no such file or directory' : error.message}`, { status: 404 });
      }),
    async fetch(url) {
      try {
        return (await fetchDocument(url, ctx.config.fetch)).body;
      } catch (error) {
        const status = isPatchdeckError(error) ? error.details?.httpStatus : undefined;
        if (status === 404 || status === 410) return null;
        throw error;
      }
    },
  };
}

/**
 * Ingests every feed in config `feeds` (or only the one named), each from its `url` or `file`.
 * A failing feed is recorded on its feed_state and the others still run. A feed backing off after
 * its server was busy or down is skipped until its `next_attempt_at`, unless `force` is set.
 */
export async function pollFeeds(
  ctx: WorkflowContext,
  input: { feed?: string; actor: string; force?: boolean; /** Parse unchanged documents too. */ full?: boolean },
  deps: FeedDeps = {},
): Promise<PollResult> {
  const feeds = ctx.config.feeds.filter((f) => input.feed === undefined || f.name === input.feed);
  if (input.feed !== undefined && feeds.length === 0) {
    const known = ctx.config.feeds.map((f) => f.name);
    throw new PatchdeckError(
      'PD_FEED_UNKNOWN',
      `no feed named "${input.feed}" in config feeds (${known.length > 0 ? `configured: ${known.join(', ')}` : 'none configured'})`,
      { status: 404 },
    );
  }
  const outcomes: PollOutcome[] = [];
  for (const feed of feeds) {
    const until = input.force ? null : await deferredUntil(ctx, feed.name);
    if (until !== null) {
      outcomes.push({ feed: feed.name, kind: feed.kind, ok: true, result: null, error: null, deferredUntil: until });
      continue;
    }
    try {
      const result = await pollOne(ctx, feed, input.actor, input.full === true, deps);
      outcomes.push({ feed: feed.name, kind: feed.kind, ok: true, result, error: null, deferredUntil: null });
    } catch (error) {
      const failure = isPatchdeckError(error)
        ? { code: error.code, message: error.message }
        : { code: 'PD_INTERNAL', message: (error as Error).message ?? String(error) };
      if (!isPatchdeckError(error)) ctx.logger.error({ err: error, feed: feed.name }, 'feed poll failed unexpectedly');
      outcomes.push({ feed: feed.name, kind: feed.kind, ok: false, result: null, error: failure, deferredUntil: null });
    }
  }
  return { outcomes, failed: outcomes.filter((o) => !o.ok).length };
}

async function pollOne(ctx: WorkflowContext, feed: FeedConfig, actor: string, full: boolean, deps: FeedDeps): Promise<IngestResult> {
  if (feed.url !== undefined) return ingestFeedUrl(ctx, { kind: feed.kind, url: feed.url, name: feed.name, actor, full }, deps);
  if (feed.file !== undefined) return ingestFeedFile(ctx, { kind: feed.kind, path: feed.file, name: feed.name, actor, full });
  const error = new PatchdeckError('PD_FEED_CONFIG', `feed "${feed.name}" has neither url nor file in config feeds; set one`);
  await recordFailure(ctx, { name: feed.name, kind: feed.kind }, feed.name, actor, error);
  throw error;
}

/**
 * Job handlers of this service: `feeds.poll` with payload `{ feed?: string }`. With `notifiers`,
 * a feed that has now failed several runs in a row is reported to the ops channel on each platform, once.
 */
export function createFeedJobHandlers(deps: FeedDeps = {}): JobHandlers {
  return {
    [JOB_KINDS.feedsPoll]: async (ctx, job) => {
      const feed = job.payload.feed;
      if (feed !== undefined && typeof feed !== 'string') {
        throw new PatchdeckError('PD_JOB_PAYLOAD', `${JOB_KINDS.feedsPoll} job ${job.id}: payload.feed must be a feed name`);
      }
      // Re-running a poll is harmless (unchanged records are skipped), so a failed feed makes the job retry.
      const result = await pollFeeds(ctx, { feed, actor: 'scheduler' }, deps);
      const failures = result.outcomes.filter((o) => !o.ok);
      if (deps.notifiers && deps.notifiers.length > 0 && failures.length > 0) await reportFailingFeeds(ctx, deps.notifiers, failures.map((f) => f.feed));
      if (failures.length > 0) {
        throw new PatchdeckError(
          'PD_FEED_POLL_FAILED',
          `${failures.length} of ${result.outcomes.length} feeds failed: ${failures.map((f) => `${f.feed}: ${f.error?.message}`).join('; ')}`,
        );
      }
    },
  };
}

interface FeedIdentity {
  name: string;
  kind: string;
}

function feedIdentity(kind: string, name: string | undefined): FeedIdentity {
  const feedName = name ?? kind;
  const check = FeedConfigSchema.shape.name.safeParse(feedName);
  if (!check.success) {
    throw new PatchdeckError('PD_FEED_NAME', `feed name "${feedName}" is not allowed: use lower-case letters, digits, - and _`);
  }
  return { name: feedName, kind };
}

/** The stamp of a document this feed last ingested (see `FeedReader.ingestedStamp`). */
type IngestedStamps = (location: string) => string | null;

async function runIngest(
  ctx: WorkflowContext,
  feed: FeedIdentity,
  location: string,
  actor: string,
  full: boolean,
  load: (plugin: FeedPlugin, stamps: IngestedStamps) => Promise<LoadedRun>,
): Promise<IngestResult> {
  let parsed: ParsedRun;
  try {
    const plugin = getFeedPlugin(feed.kind);
    const known = await loadFeedDocuments(ctx.store.db, feed.name);
    // Kind and parser version: a document read under another kind (the feed's config changed) or by an
    // older parser is read afresh.
    const parser = (plugin.parserVersion ?? 1) === 1 ? feed.kind : `${feed.kind}@${plugin.parserVersion}`;
    const reusable = (at: string) => {
      const previous = full ? undefined : known.get(at);
      return previous !== undefined && previous.kind === parser ? previous : null;
    };
    const collection = await load(plugin, (at) => reusable(at)?.stamp ?? null);
    if (collection.notModified && collection.validators) return await storeNotModified(ctx, feed, location, actor, collection.validators);
    const { documents, quarantined } = collection;
    const kept: FeedDocumentRecord[] = [];
    const fresh: { document: FeedDocument; sha256: string }[] = [];
    for (const document of documents) {
      const sha256 = sha256Hex(document.body);
      const previous = reusable(document.location);
      if (previous !== null && previous.sha256 === sha256) kept.push({ ...previous, stamp: document.stamp ?? previous.stamp });
      else fresh.push({ document, sha256 });
    }
    for (const listed of collection.unchanged ?? []) {
      const previous = reusable(listed);
      if (previous !== null) kept.push(previous);
    }
    const advisories: AdvisoryInput[] = [];
    const epss: EpssScoreInput[] = [];
    const parseErrors: FeedParseError[] = [];
    const ingested: FeedDocumentRecord[] = [];
    const documentOf = new Map<string, string>();
    // One document at a time, so each one's records and errors are known: only a cleanly read document is remembered.
    for (const { document, sha256 } of fresh) {
      const result = await plugin.parse([document], { feedName: feed.name, maxBytes: ctx.config.fetch.maxBytes });
      advisories.push(...result.advisories);
      for (const advisory of result.advisories) documentOf.set(advisory.id, document.location);
      epss.push(...(result.epss ?? []));
      parseErrors.push(...result.errors);
      if (result.errors.length === 0) {
        const records = result.advisories.length + (result.epss?.length ?? 0);
        ingested.push({ location: document.location, kind: parser, sha256, stamp: document.stamp ?? null, records });
      }
    }
    const errors = [...collection.errors, ...parseErrors];
    const unreadable = errors.filter((e) => e.scope === 'document');
    const total = documents.length + (collection.unchanged?.length ?? 0) + collection.errors.length;
    // A run whose every document was refused still commits: the quarantine records must be kept.
    if (quarantined.length === 0 && total > 0 && unreadable.length === total) throw unreadableError(unreadable, total);
    const remembered = new Set([...kept, ...ingested].map((d) => d.location));
    parsed = {
      advisories,
      errors: [...errors, ...quarantined.map(quarantineError)],
      documents: total + quarantined.length,
      quarantined,
      epss: latestEpss(epss),
      validators: collection.validators,
      skipped: kept,
      // Rows to write: newly read documents, and kept ones whose listed timestamp moved on with the same bytes.
      ingested: [...ingested, ...kept.filter((d) => d.stamp !== (known.get(d.location)?.stamp ?? null))],
      // Documents gone from the source, unreadable now, or refused: read in full next time. Their advisories stay, as before.
      forgotten: [...known.keys()].filter((at) => !remembered.has(at)),
      documentOf,
    };
  } catch (error) {
    await recordFailure(ctx, feed, location, actor, error);
    throw error;
  }
  try {
    return await storeAdvisories(ctx, feed, location, actor, parsed);
  } catch (error) {
    await recordFailure(ctx, feed, location, actor, error);
    throw error;
  }
}

/** One score per CVE, the newest, when several documents of a run score the same CVE. */
function latestEpss(scores: EpssScoreInput[]): EpssScoreInput[] {
  const byCve = new Map<string, EpssScoreInput>();
  for (const score of scores) {
    const previous = byCve.get(score.cve);
    if (previous === undefined || score.scoreDate >= previous.scoreDate) byCve.set(score.cve, score);
  }
  return [...byCve.values()];
}

interface ParsedRun {
  advisories: AdvisoryInput[];
  errors: FeedParseError[];
  documents: number;
  quarantined: QuarantinedDocument[];
  /** EPSS scores: facts about CVEs, stored beside the advisories and counted with them. */
  epss: EpssScoreInput[];
  validators: FeedValidators | undefined;
  /** Documents not parsed: their bytes or listed timestamp are as last ingested. */
  skipped: FeedDocumentRecord[];
  /** Document records to write. */
  ingested: FeedDocumentRecord[];
  /** Locations whose document records are dropped. */
  forgotten: string[];
  /** The document each parsed record came from. */
  documentOf: Map<string, string>;
}

function quarantineError(document: QuarantinedDocument): FeedParseError {
  return { location: document.location, scope: 'document', message: `quarantined (${document.reason}): ${document.detail}` };
}

function unreadableError(errors: FeedParseError[], documents: number): PatchdeckError {
  const first = errors[0]!;
  const message =
    documents === 1
      ? `${first.location} ${first.message}`
      : `none of the ${documents} documents could be read; first: ${first.location} ${first.message}`;
  return new PatchdeckError('PD_FEED_PARSE', message, { details: { errors } });
}

async function storeAdvisories(
  ctx: WorkflowContext,
  feed: FeedIdentity,
  location: string,
  actor: string,
  parsed: ParsedRun,
): Promise<IngestResult> {
  // The same id twice in one run (a record in two files): the later one wins, as a later ingest would.
  const byId = new Map<string, AdvisoryInput>();
  for (const advisory of parsed.advisories) byId.set(advisory.id, advisory);
  const candidates: AdvisoryWrite[] = [...byId.values()].map((advisory) => ({ advisory, contentHash: contentHash(advisory) }));
  const now = ctx.clock.now();
  return ctx.store.transaction(async (trx) => {
    const existing = await loadContentHashes(trx, candidates.map((c) => c.advisory.id));
    // A record whose id another source holds is never written over it: a less authoritative copy is
    // superseded (expected, counted), anything else is refused (a per-record error).
    const conflicts = await findAuthorityConflicts(trx, candidates.map((c) => c.advisory));
    let superseded = 0;
    const refusedIn = new Set<string>();
    for (const [id, { outcome, message }] of conflicts) {
      if (outcome === 'superseded') {
        superseded++;
        continue;
      }
      parsed.errors.push({ location: `${location}: ${id}`, scope: 'record', message });
      // A document with a refused record is not remembered: it is read again, and the refusal reported, next run.
      const document = parsed.documentOf.get(id);
      if (document !== undefined) refusedIn.add(document);
    }
    let added = 0;
    let updated = 0;
    const writes: AdvisoryWrite[] = [];
    for (const candidate of candidates) {
      if (conflicts.has(candidate.advisory.id)) continue;
      const previous = existing.get(candidate.advisory.id);
      if (previous === candidate.contentHash) continue;
      if (previous === undefined) added++;
      else updated++;
      writes.push(candidate);
    }
    const withdrawn = await newlyWithdrawn(trx, writes);
    // Read before anything is written: what this run changes decides what is assessed.
    const toAssess = await advisoriesToAssess(trx, writes, withdrawn, parsed.epss);
    await writeAdvisories(trx, writes, now);
    const facts = await writeEpssScores(trx, parsed.epss);
    added += facts.added;
    updated += facts.updated;
    await insertQuarantined(trx, feed.name, parsed.quarantined, now);
    await saveFeedDocuments(trx, feed.name, parsed.ingested.filter((d) => !refusedIn.has(d.location)), now);
    await deleteFeedDocuments(trx, feed.name, [...parsed.forgotten, ...refusedIn]);
    const skippedRecords = parsed.skipped.reduce((n, d) => n + d.records, 0);
    const result: IngestResult = {
      feed: feed.name,
      kind: feed.kind,
      location,
      documents: parsed.documents,
      added,
      updated,
      unchanged: candidates.length - writes.length - conflicts.size + facts.unchanged + skippedRecords,
      superseded,
      failed: parsed.errors.length,
      quarantined: parsed.quarantined.length,
      skipped: parsed.skipped.length,
      errors: parsed.errors,
      notModified: false,
    };
    const partialError =
      parsed.errors.length === 0
        ? null
        : `${parsed.errors.length} skipped: ${parsed.errors.slice(0, 3).map((e) => `${e.location} ${e.message}`).join('; ')}`;
    const items = candidates.length + parsed.epss.length + skippedRecords;
    await recordFeedRun(trx, feed, { ok: true, items, partialError, validators: parsed.validators }, now);
    await recordChange(trx, ctx, {
      audit: [
        {
          actor,
          action: 'feed.ingested',
          subjectType: 'feed',
          subjectId: feed.name,
          after: {
            kind: feed.kind,
            location,
            documents: result.documents,
            skipped: result.skipped,
            added,
            updated,
            unchanged: result.unchanged,
            superseded,
            failed: result.failed,
          },
        },
        // Security events: a document that fails its hash or signature may be a forged bulletin.
        ...parsed.quarantined.map((document) => ({
          actor,
          action: 'feed.document_quarantined',
          subjectType: 'feed',
          subjectId: feed.name,
          after: { security: true, kind: feed.kind, location: document.location, reason: document.reason, detail: document.detail, sha256: sha256Hex(document.body) },
        })),
        ...withdrawn.map((advisory) => ({
          actor,
          action: 'advisory.withdrawn',
          subjectType: 'advisory',
          subjectId: advisory.id,
          after: { source: advisory.source, feed: feed.name, withdrawnAt: advisory.withdrawnAt },
        })),
      ],
      // Its exposures, cases and alerts are dealt with by the job (workflow/withdrawals.ts), committed with this run.
      jobs: withdrawn.map((advisory) => ({
        kind: JOB_KINDS.advisoryWithdrawn,
        payload: { advisoryId: advisory.id },
        uniqueKey: `advisory:${advisory.id}:withdrawn:${advisory.withdrawnAt}`,
      })),
    });
    // New and changed advisories are matched by the assess job (workflow/assess-jobs.ts), committed with this run.
    await requestAssess(trx, ctx, { advisoryIds: toAssess });
    for (const document of parsed.quarantined) {
      ctx.logger.warn({ feed: feed.name, location: document.location, reason: document.reason }, 'feed document quarantined');
    }
    return result;
  });
}

/** Advisories about to be written withdrawn whose stored record is not: they withdraw what was raised for them. */
async function newlyWithdrawn(trx: Executor, writes: AdvisoryWrite[]): Promise<AdvisoryInput[]> {
  const candidates = writes.map((w) => w.advisory).filter((a) => a.withdrawnAt !== null);
  if (candidates.length === 0) return [];
  const stored = new Map<string, string | null>();
  for (let i = 0; i < candidates.length; i += 1000) {
    const rows = await trx
      .selectFrom('advisories')
      .select(['id', 'withdrawn_at'])
      .where('id', 'in', candidates.slice(i, i + 1000).map((a) => a.id))
      .execute();
    for (const row of rows) stored.set(row.id, row.withdrawn_at);
  }
  // A record first seen already withdrawn never raised anything.
  return candidates.filter((a) => stored.has(a.id) && stored.get(a.id) === null);
}

/**
 * Advisories an assessment must look at after this run: the ones written (new or changed) but not
 * newly withdrawn (their own job resolves those), and the ones with exposures still counted whose
 * classification facts moved: a KEV entry written or replaced for one of their CVEs (KEV facts are
 * read by CVE), or an EPSS score that will be stored. Facts about a CVE create no match, so advisories
 * without such exposures are left alone. Call before the run's writes.
 */
async function advisoriesToAssess(trx: Executor, writes: AdvisoryWrite[], withdrawn: AdvisoryInput[], epss: EpssScoreInput[]): Promise<string[]> {
  const gone = new Set(withdrawn.map((a) => a.id));
  const ids = new Set(writes.map((w) => w.advisory.id).filter((id) => !gone.has(id)));
  const kevCves = new Set(writes.flatMap((w) => (w.advisory.kev === null ? [] : w.advisory.cves)));
  // A stored KEV record about to be replaced: its CVEs may lose or change their KEV facts.
  for (let i = 0; i < writes.length; i += 1000) {
    const rows = await trx
      .selectFrom('advisory_cves')
      .innerJoin('advisories', 'advisories.id', 'advisory_cves.advisory_id')
      .select('advisory_cves.cve')
      .where('advisories.id', 'in', writes.slice(i, i + 1000).map((w) => w.advisory.id))
      .where('advisories.kev', 'is not', null)
      .execute();
    for (const row of rows) kevCves.add(row.cve);
  }
  if (kevCves.size === 0 && epss.length === 0) return [...ids];
  const exposed = await trx
    .selectFrom('advisory_cves')
    .select(['advisory_id', 'cve'])
    .where('advisory_id', 'in', (eb) => eb.selectFrom('exposures').select('advisory_id').where('status', '!=', 'resolved'))
    .execute();
  const byCve = new Map<string, string[]>();
  for (const row of exposed) {
    const list = byCve.get(row.cve);
    if (list === undefined) byCve.set(row.cve, [row.advisory_id]);
    else list.push(row.advisory_id);
  }
  const scored = epss.filter((score) => byCve.has(score.cve));
  const stored = await getEpss(trx, scored.map((score) => score.cve));
  // As writeEpssScores decides: a score is stored when none is, or it is newer, or the same day's differs.
  const moved = scored.filter((score) => {
    const before = stored.get(score.cve);
    if (before === undefined || before.scoreDate < score.scoreDate) return true;
    return before.scoreDate === score.scoreDate && (before.epss !== score.epss || before.percentile !== score.percentile);
  });
  for (const cve of [...kevCves, ...moved.map((score) => score.cve)]) for (const id of byCve.get(cve) ?? []) ids.add(id);
  return [...ids];
}

/** A 304 answer: the run succeeded, nothing was parsed, the stored data and item count stay. */
async function storeNotModified(ctx: WorkflowContext, feed: FeedIdentity, location: string, actor: string, validators: FeedValidators): Promise<IngestResult> {
  const now = ctx.clock.now();
  await ctx.store.transaction(async (trx) => {
    await recordFeedUnchanged(trx, feed, validators, now);
    await recordChange(trx, ctx, {
      audit: [{ actor, action: 'feed.not_modified', subjectType: 'feed', subjectId: feed.name, after: { kind: feed.kind, location } }],
    });
  });
  return {
    feed: feed.name,
    kind: feed.kind,
    location,
    documents: 0,
    added: 0,
    updated: 0,
    unchanged: 0,
    superseded: 0,
    failed: 0,
    quarantined: 0,
    skipped: 0,
    errors: [],
    notModified: true,
  };
}

/**
 * Notes a failed run on feed_state with its audit event, and when its server was busy or down, the
 * backoff before the next attempt (`next_attempt_at`). Never hides the original error.
 */
async function recordFailure(ctx: WorkflowContext, feed: FeedIdentity, location: string, actor: string, error: unknown): Promise<void> {
  const message = isPatchdeckError(error) ? `${error.message} [${error.code}]` : `unexpected error: ${(error as Error).message ?? String(error)}`;
  try {
    await ctx.store.transaction(async (trx) => {
      const previous = await trx.selectFrom('feed_state').select('consecutive_failures').where('name', '=', feed.name).executeTakeFirst();
      const nextAttemptAt = backoffUntil(ctx, error, Number(previous?.consecutive_failures ?? 0) + 1);
      await recordFeedRun(trx, feed, { ok: false, error: message, nextAttemptAt }, ctx.clock.now());
      await recordChange(trx, ctx, {
        audit: [
          { actor, action: 'feed.failed', subjectType: 'feed', subjectId: feed.name, after: { kind: feed.kind, location, error: message, nextAttemptAt } },
        ],
      });
    });
  } catch (recordError) {
    ctx.logger.error({ err: recordError, feed: feed.name }, 'could not record the feed failure');
  }
}

function sha256Hex(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/** sha256 of the normalised record with keys sorted, so equal content always gives the same hash. */
export function contentHash(advisory: AdvisoryInput): string {
  return createHash('sha256').update(stableJson(advisory)).digest('hex');
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

async function readDocuments(target: string, plugin: FeedPlugin, maxBytes: number): Promise<FeedDocument[]> {
  const info = await stat(target).catch((error: NodeJS.ErrnoException) => {
    throw new PatchdeckError('PD_FEED_NOT_FOUND', `cannot read ${target}: ${error.code === 'ENOENT' ? 'no such file or directory' : error.message}`, {
      status: 404,
    });
  });
  const files = info.isDirectory() ? await listFiles(target, plugin.fileExtensions) : [target];
  if (files.length === 0) {
    throw new PatchdeckError('PD_FEED_NOT_FOUND', `directory ${target} holds no ${plugin.fileExtensions.join('/')} files for feed kind ${plugin.kind}`, {
      status: 404,
    });
  }
  // Small files are read synchronously, a slice at a time with a yield to the event loop between slices:
  // an awaited read per file costs several thread-pool round trips, 3-5x the time for 10,000 records.
  const documents: FeedDocument[] = [];
  for (let start = 0; start < files.length; start += READ_SLICE) {
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    for (const file of files.slice(start, start + READ_SLICE)) documents.push({ location: file, body: readBounded(file, maxBytes) });
  }
  return documents;
}

const READ_SLICE = 200;

/** A file's bytes, refused when it is larger than `maxBytes` before anything is read. */
function readBounded(file: string, maxBytes: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > maxBytes) {
      throw new PatchdeckError('PD_FEED_TOO_LARGE', `${file} is larger than ${maxBytes} bytes (config fetch.maxBytes)`, {
        details: { file, size, maxBytes },
      });
    }
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Regular files under `dir` with one of the extensions, sorted, hidden entries skipped. */
async function listFiles(dir: string, extensions: readonly string[]): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(full, extensions)));
    else if (entry.isFile() && extensions.some((ext) => entry.name.toLowerCase().endsWith(ext))) files.push(full);
  }
  return files;
}
