import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { FeedConfigSchema, type FeedConfig } from '../config/schema.js';
import { isPatchdeckError, PatchdeckError } from '../core/errors.js';
import type { AdvisoryInput } from '../core/types.js';
import { getFeedPlugin } from '../feeds/index.js';
import type { FeedDocument, FeedParseError, FeedPlugin } from '../feeds/types.js';
import { fetchBounded, type FetchDocument } from '../net/fetch.js';
import { loadContentHashes, recordFeedRun, writeAdvisories, type AdvisoryWrite } from '../store/queries/advisories.js';
import { recordChange, type WorkflowContext } from './context.js';
import { JOB_KINDS, type JobHandlers } from './jobs.js';

/** What the feed services need besides the context; the fetch is injectable so tests and demos never touch a network. */
export interface FeedDeps {
  fetch?: FetchDocument;
}

export interface IngestFileInput {
  kind: string;
  /** A file, or a directory whose files (by the kind's extensions, recursively) are read. */
  path: string;
  /** Feed name for feed_state and hint ids; defaults to the kind. */
  name?: string;
  actor: string;
}

export interface IngestUrlInput {
  kind: string;
  url: string;
  name?: string;
  actor: string;
}

export interface IngestResult {
  feed: string;
  kind: string;
  location: string;
  documents: number;
  added: number;
  updated: number;
  unchanged: number;
  /** Documents and records that could not be read (listed in `errors`); the rest was imported. */
  failed: number;
  errors: FeedParseError[];
}

export interface PollOutcome {
  feed: string;
  kind: string;
  ok: boolean;
  result: IngestResult | null;
  error: { code: string; message: string } | null;
}

export interface PollResult {
  outcomes: PollOutcome[];
  failed: number;
}

/** Reads feed documents from a file or directory and ingests them (see `ingestDocuments`). */
export async function ingestFeedFile(ctx: WorkflowContext, input: IngestFileInput): Promise<IngestResult> {
  const feed = feedIdentity(input.kind, input.name);
  return runIngest(ctx, feed, input.path, input.actor, (plugin) => readDocuments(input.path, plugin, ctx.config.fetch.maxBytes));
}

/** Fetches one feed document over HTTP(S) with the configured limits (config `fetch`) and ingests it. */
export async function ingestFeedUrl(ctx: WorkflowContext, input: IngestUrlInput, deps: FeedDeps = {}): Promise<IngestResult> {
  const feed = feedIdentity(input.kind, input.name);
  const fetchDocument = deps.fetch ?? fetchBounded;
  return runIngest(ctx, feed, input.url, input.actor, async () => {
    const fetched = await fetchDocument(input.url, ctx.config.fetch);
    return [{ location: input.url, body: fetched.body }];
  });
}

/**
 * Ingests every feed in config `feeds` (or only the one named), each from its `url` or `file`.
 * A failing feed is recorded on its feed_state and the others still run.
 */
export async function pollFeeds(ctx: WorkflowContext, input: { feed?: string; actor: string }, deps: FeedDeps = {}): Promise<PollResult> {
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
    try {
      const result = await pollOne(ctx, feed, input.actor, deps);
      outcomes.push({ feed: feed.name, kind: feed.kind, ok: true, result, error: null });
    } catch (error) {
      const failure = isPatchdeckError(error)
        ? { code: error.code, message: error.message }
        : { code: 'PD_INTERNAL', message: (error as Error).message ?? String(error) };
      if (!isPatchdeckError(error)) ctx.logger.error({ err: error, feed: feed.name }, 'feed poll failed unexpectedly');
      outcomes.push({ feed: feed.name, kind: feed.kind, ok: false, result: null, error: failure });
    }
  }
  return { outcomes, failed: outcomes.filter((o) => !o.ok).length };
}

async function pollOne(ctx: WorkflowContext, feed: FeedConfig, actor: string, deps: FeedDeps): Promise<IngestResult> {
  if (feed.url !== undefined) return ingestFeedUrl(ctx, { kind: feed.kind, url: feed.url, name: feed.name, actor }, deps);
  if (feed.file !== undefined) return ingestFeedFile(ctx, { kind: feed.kind, path: feed.file, name: feed.name, actor });
  const error = new PatchdeckError('PD_FEED_CONFIG', `feed "${feed.name}" has neither url nor file in config feeds; set one`);
  await recordFailure(ctx, { name: feed.name, kind: feed.kind }, feed.name, actor, error);
  throw error;
}

/** Job handlers of this service: `feeds.poll` with payload `{ feed?: string }`. */
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

async function runIngest(
  ctx: WorkflowContext,
  feed: FeedIdentity,
  location: string,
  actor: string,
  load: (plugin: FeedPlugin) => Promise<FeedDocument[]>,
): Promise<IngestResult> {
  let parsed: { advisories: AdvisoryInput[]; errors: FeedParseError[]; documents: number };
  try {
    const plugin = getFeedPlugin(feed.kind);
    const documents = await load(plugin);
    const { advisories, errors } = await plugin.parse(documents, { feedName: feed.name });
    const unreadable = errors.filter((e) => e.scope === 'document');
    if (unreadable.length === documents.length) throw unreadableError(unreadable, documents.length);
    parsed = { advisories, errors, documents: documents.length };
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
  parsed: { advisories: AdvisoryInput[]; errors: FeedParseError[]; documents: number },
): Promise<IngestResult> {
  // The same id twice in one run (a record in two files): the later one wins, as a later ingest would.
  const byId = new Map<string, AdvisoryInput>();
  for (const advisory of parsed.advisories) byId.set(advisory.id, advisory);
  const candidates: AdvisoryWrite[] = [...byId.values()].map((advisory) => ({ advisory, contentHash: contentHash(advisory) }));
  const now = ctx.clock.now();
  return ctx.store.transaction(async (trx) => {
    const existing = await loadContentHashes(trx, candidates.map((c) => c.advisory.id));
    let added = 0;
    let updated = 0;
    const writes: AdvisoryWrite[] = [];
    for (const candidate of candidates) {
      const previous = existing.get(candidate.advisory.id);
      if (previous === candidate.contentHash) continue;
      if (previous === undefined) added++;
      else updated++;
      writes.push(candidate);
    }
    await writeAdvisories(trx, writes, now);
    const result: IngestResult = {
      feed: feed.name,
      kind: feed.kind,
      location,
      documents: parsed.documents,
      added,
      updated,
      unchanged: candidates.length - writes.length,
      failed: parsed.errors.length,
      errors: parsed.errors,
    };
    const partialError =
      parsed.errors.length === 0
        ? null
        : `${parsed.errors.length} skipped: ${parsed.errors.slice(0, 3).map((e) => `${e.location} ${e.message}`).join('; ')}`;
    await recordFeedRun(trx, feed, { ok: true, items: candidates.length, partialError }, now);
    await recordChange(trx, ctx, {
      audit: [
        {
          actor,
          action: 'feed.ingested',
          subjectType: 'feed',
          subjectId: feed.name,
          after: { kind: feed.kind, location, documents: result.documents, added, updated, unchanged: result.unchanged, failed: result.failed },
        },
      ],
    });
    return result;
  });
}

/** Notes a failed run on feed_state with its audit event. Never hides the original error. */
async function recordFailure(ctx: WorkflowContext, feed: FeedIdentity, location: string, actor: string, error: unknown): Promise<void> {
  const message = isPatchdeckError(error) ? `${error.message} [${error.code}]` : `unexpected error: ${(error as Error).message ?? String(error)}`;
  try {
    await ctx.store.transaction(async (trx) => {
      await recordFeedRun(trx, feed, { ok: false, error: message }, ctx.clock.now());
      await recordChange(trx, ctx, {
        audit: [{ actor, action: 'feed.failed', subjectType: 'feed', subjectId: feed.name, after: { kind: feed.kind, location, error: message } }],
      });
    });
  } catch (recordError) {
    ctx.logger.error({ err: recordError, feed: feed.name }, 'could not record the feed failure');
  }
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
  const documents: FeedDocument[] = [];
  for (const file of files) {
    const size = (await stat(file)).size;
    if (size > maxBytes) {
      throw new PatchdeckError('PD_FEED_TOO_LARGE', `${file} is larger than ${maxBytes} bytes (config fetch.maxBytes)`, {
        details: { file, size, maxBytes },
      });
    }
    documents.push({ location: file, body: await readFile(file) });
  }
  return documents;
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
