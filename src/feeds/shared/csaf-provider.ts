import { createHash } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { PatchdeckError } from '../../core/errors.js';
import type { AdvisoryProvenance } from '../../core/types.js';
import type { FeedCollection, FeedDocument, FeedReader, FeedSource, QuarantinedDocument } from '../types.js';
import { describeSchemaError, readJsonDocument } from './documents.js';
import { loadProviderKey, normalizeFingerprint, verifyDetachedSignature, type ProviderKey } from './openpgp.js';

/** `provider-metadata.json` (CSAF 2.0 §7.1.7), the fields used here; the rest is kept and ignored. */
const ProviderMetadataSchema = z
  .object({
    canonical_url: z.string().optional(),
    public_openpgp_keys: z.array(z.object({ fingerprint: z.string().min(1), url: z.string().optional() }).passthrough()).optional(),
    distributions: z
      .array(
        z
          .object({
            directory_url: z.string().optional(),
            rolie: z.object({ feeds: z.array(z.object({ url: z.string(), tlp_label: z.string().optional() }).passthrough()) }).passthrough().optional(),
          })
          .passthrough(),
      )
      .optional(),
    publisher: z.object({ name: z.string().optional() }).passthrough().optional(),
  })
  .passthrough();
type ProviderMetadata = z.infer<typeof ProviderMetadataSchema>;

/** A ROLIE feed (RFC 8322 in JSON, CSAF 2.0 §7.1.20): entries whose `content.src` is the document. */
const RolieFeedSchema = z
  .object({
    feed: z
      .object({
        entry: z
          .array(
            z
              .object({
                content: z.object({ src: z.string() }).passthrough().optional(),
                updated: z.string().optional(),
                link: z.array(z.object({ rel: z.string(), href: z.string() }).passthrough()).optional(),
              })
              .passthrough(),
          )
          .optional(),
      })
      .passthrough(),
  })
  .passthrough();

/** Where one document and its companion files are. */
interface DocumentRef {
  location: string;
  sha256: string;
  sha512: string;
  signature: string;
  /** The timestamp `changes.csv` lists the document with. */
  stamp?: string;
}

/** How a source is read: local paths or URLs, and the provider's keys when it lists any. */
interface Provider {
  origin: 'file' | 'url';
  /** Number of keys the provider lists; when > 0 every document must carry a good signature. */
  keysListed: number;
  keys: ProviderKey[];
  /** Why listed keys could not be used, to explain signature failures. */
  keyProblems: string[];
}

const companions = (location: string): DocumentRef => ({
  location,
  sha256: `${location}.sha256`,
  sha512: `${location}.sha512`,
  signature: `${location}.asc`,
});

/**
 * Gathers a CSAF source: a provider directory on disk (with `provider-metadata.json`), one CSAF file or
 * a directory of them, a URL of `provider-metadata.json` (its first `directory_url` → `changes.csv`, else
 * its ROLIE feeds), of a ROLIE feed, or of one document. Every document is checked against its
 * `.sha256`/`.sha512` files when present and, when the provider lists OpenPGP keys, against its `.asc`
 * signature; a failing document is quarantined instead of returned.
 */
export async function collectCsaf(source: FeedSource, reader: FeedReader): Promise<FeedCollection> {
  return source.type === 'file' ? collectFromDisk(source.path, reader) : collectFromUrl(source.url, reader);
}

const METADATA_FILE = 'provider-metadata.json';

async function collectFromDisk(target: string, reader: FeedReader): Promise<FeedCollection> {
  const asMetadata = path.basename(target) === METADATA_FILE ? target : path.join(target, METADATA_FILE);
  if ((await reader.readFile(asMetadata)) !== null) return collectProviderDir(path.dirname(asMetadata), reader);
  const files = target.toLowerCase().endsWith('.json') ? [target] : await reader.listFiles(target, ['.json']);
  // A provider directory below the one named is read as a provider, so its documents are verified.
  const providers = files.filter((f) => path.basename(f) === METADATA_FILE).map((f) => path.dirname(f));
  const plain = files.filter((f) => !providers.some((dir) => f.startsWith(dir + path.sep)));
  if (plain.length === 0 && providers.length === 0) {
    throw new PatchdeckError('PD_FEED_NOT_FOUND', `${target} holds no ${METADATA_FILE} and no CSAF .json documents`, { status: 404 });
  }
  const collections = [await checkAll(plain.map(companions), { origin: 'file', keysListed: 0, keys: [], keyProblems: [] }, reader, [])];
  for (const dir of providers) collections.push(await collectProviderDir(dir, reader));
  return {
    documents: collections.flatMap((c) => c.documents),
    quarantined: collections.flatMap((c) => c.quarantined),
    errors: collections.flatMap((c) => c.errors),
  };
}

async function collectProviderDir(dir: string, reader: FeedReader): Promise<FeedCollection> {
  const metadataFile = path.join(dir, METADATA_FILE);
  const metadata = readMetadata(metadataFile, (await reader.readFile(metadataFile))!);
  const keys = await loadKeys(metadata, (url) => reader.readFile(localKeyPath(dir, metadata, url)));
  const listed = await listDiskDocuments(dir, reader);
  const errors = listed.outside.map((entry) => outsideError(metadataFile, entry));
  return checkAll(listed.refs, { origin: 'file', ...keys }, reader, errors);
}

/** A listed key's file in a local copy: its path below the directory URL, else `openpgp/<file name>`. */
function localKeyPath(dir: string, metadata: ProviderMetadata, url: string): string {
  const base = metadata.distributions?.find((d) => d.directory_url !== undefined)?.directory_url;
  const relative = base !== undefined && url.startsWith(base) ? url.slice(base.length) : `openpgp/${url.split('/').pop() ?? ''}`;
  return insideDir(dir, relative) ?? path.join(dir, 'openpgp', path.basename(relative));
}

async function listDiskDocuments(dir: string, reader: FeedReader): Promise<{ refs: DocumentRef[]; outside: string[] }> {
  const changes = await reader.readFile(path.join(dir, 'changes.csv'));
  const index = changes === null ? await reader.readFile(path.join(dir, 'index.txt')) : null;
  if (changes === null && index === null) {
    const files = (await reader.listFiles(dir, ['.json'])).filter((f) => path.basename(f) !== METADATA_FILE);
    return { refs: files.map(companions), outside: [] };
  }
  // On disk every listed document is read and checked again (cheap, and a tampered local copy is still
  // caught); unchanged bytes are then not parsed. Only URL polling trusts the listed timestamps.
  const entries = changes !== null ? readChangesCsv(changes).map((c) => c.entry) : readIndexTxt(index!);
  const refs: DocumentRef[] = [];
  const outside: string[] = [];
  for (const entry of entries) {
    const file = insideDir(dir, entry);
    if (file === null) outside.push(entry);
    else refs.push(companions(file));
  }
  return { refs, outside };
}

/**
 * True when the listed timestamp is not newer than the one the document was last ingested with, so
 * neither it nor its hash and signature files need reading. Unknown or unreadable times: read it.
 */
function notNewer(listed: string | undefined, ingested: string | null): boolean {
  if (listed === undefined || ingested === null) return false;
  const listedAt = Date.parse(listed);
  const ingestedAt = Date.parse(ingested);
  return Number.isFinite(listedAt) && Number.isFinite(ingestedAt) && listedAt <= ingestedAt;
}

/** `dir/relative` when it stays inside `dir` (no `..` escape, no absolute path); else null. */
function insideDir(dir: string, relative: string): string | null {
  if (relative === '' || path.isAbsolute(relative) || /^[a-z][a-z0-9+.-]*:/i.test(relative)) return null;
  const full = path.resolve(dir, relative);
  return full.startsWith(path.resolve(dir) + path.sep) ? full : null;
}

async function collectFromUrl(url: string, reader: FeedReader): Promise<FeedCollection> {
  const body = await reader.fetch(url);
  if (body === null) throw new PatchdeckError('PD_FEED_HTTP', `${url} answered 404: no CSAF provider metadata, ROLIE feed or document there`, { status: 502 });
  const read = readJsonDocument(url, body);
  if (!read.ok) throw new PatchdeckError('PD_FEED_PARSE', `${read.error.location} ${read.error.message}`);
  const value = read.value as Record<string, unknown> | null;
  const anonymous: Provider = { origin: 'url', keysListed: 0, keys: [], keyProblems: [] };
  if (value !== null && typeof value === 'object' && 'document' in value) {
    return checkAll([companions(url)], anonymous, reader, [], new Map([[url, body]]));
  }
  if (value !== null && typeof value === 'object' && 'feed' in value) {
    return checkListed(rolieRefs(url, body), anonymous, reader, []);
  }
  const metadata = readMetadata(url, body);
  const keys = await loadKeys(metadata, async (keyUrl) => reader.fetch(new URL(keyUrl, url).href));
  const provider: Provider = { origin: 'url', ...keys };
  const directory = metadata.distributions?.find((d) => d.directory_url !== undefined)?.directory_url;
  if (directory !== undefined) {
    const base = new URL(directory.endsWith('/') ? directory : `${directory}/`, url).href;
    const changes = await reader.fetch(`${base}changes.csv`);
    if (changes === null) throw new PatchdeckError('PD_FEED_HTTP', `${base}changes.csv answered 404: the provider directory has no changes.csv`, { status: 502 });
    const refs: DocumentRef[] = [];
    const errors: FeedCollection['errors'] = [];
    for (const { entry, stamp } of readChangesCsv(changes)) {
      const resolved = resolveUrl(entry, base);
      // A listing may only point below its own directory, never to another host or path.
      if (resolved?.startsWith(base)) refs.push({ ...companions(resolved), stamp });
      else errors.push(outsideError(`${base}changes.csv`, entry));
    }
    return checkListed(refs, provider, reader, errors);
  }
  const feeds = (metadata.distributions ?? []).flatMap((d) => d.rolie?.feeds ?? []);
  if (feeds.length === 0) throw new PatchdeckError('PD_FEED_PARSE', `${url}: provider metadata lists neither a directory_url nor ROLIE feeds under distributions`);
  const refs: DocumentRef[] = [];
  for (const feed of feeds) {
    const feedUrl = new URL(feed.url, url).href;
    const feedBody = await reader.fetch(feedUrl);
    if (feedBody === null) throw new PatchdeckError('PD_FEED_HTTP', `ROLIE feed ${feedUrl} answered 404`, { status: 502 });
    refs.push(...rolieRefs(feedUrl, feedBody));
  }
  const seen = new Set<string>();
  return checkListed(refs.filter((r) => !seen.has(r.location) && seen.add(r.location)), provider, reader, []);
}

/**
 * Incremental polling: a document the listing (changes.csv, a ROLIE entry's `updated`) dates no later
 * than when this feed last ingested it is not fetched again, nor its hash and signature files.
 */
async function checkListed(refs: DocumentRef[], provider: Provider, reader: FeedReader, errors: FeedCollection['errors']): Promise<FeedCollection> {
  const unchanged = new Set(refs.filter((ref) => notNewer(ref.stamp, reader.ingestedStamp(ref.location))).map((ref) => ref.location));
  const fetch = refs.filter((ref) => !unchanged.has(ref.location));
  return { ...(await checkAll(fetch, provider, reader, errors)), unchanged: [...unchanged] };
}

function rolieRefs(feedUrl: string, body: Buffer): DocumentRef[] {
  const read = readJsonDocument(feedUrl, body);
  if (!read.ok) throw new PatchdeckError('PD_FEED_PARSE', `${read.error.location} ${read.error.message}`);
  const feed = RolieFeedSchema.safeParse(read.value);
  if (!feed.success) throw new PatchdeckError('PD_FEED_PARSE', `${feedUrl} is not a ROLIE feed: ${describeSchemaError(feed.error)}`);
  return (feed.data.feed.entry ?? []).flatMap((entry) => {
    const location = entry.content?.src === undefined ? null : resolveUrl(entry.content.src, feedUrl);
    if (location === null) return [];
    const link = (rel: string, suffix: string) => {
      const href = entry.link?.find((l) => l.rel === rel && l.href.endsWith(suffix))?.href;
      return (href === undefined ? null : resolveUrl(href, feedUrl)) ?? `${location}${suffix}`;
    };
    const stamp = entry.updated === undefined ? {} : { stamp: entry.updated };
    return [{ location, sha256: link('hash', '.sha256'), sha512: link('hash', '.sha512'), signature: link('signature', '.asc'), ...stamp }];
  });
}

/** An absolute URL for a reference in a listing, or null when it is not one. */
function resolveUrl(reference: string, base: string): string | null {
  try {
    return new URL(reference, base).href;
  } catch {
    return null;
  }
}

function readMetadata(location: string, body: Buffer): ProviderMetadata {
  const read = readJsonDocument(location, body);
  if (!read.ok) throw new PatchdeckError('PD_FEED_PARSE', `${read.error.location} ${read.error.message}`);
  const metadata = ProviderMetadataSchema.safeParse(read.value);
  if (!metadata.success) throw new PatchdeckError('PD_FEED_PARSE', `${location} is not CSAF provider metadata: ${describeSchemaError(metadata.error)}`);
  return metadata.data;
}

async function loadKeys(metadata: ProviderMetadata, readKeyFile: (url: string) => Promise<Buffer | null>): Promise<Omit<Provider, 'origin'>> {
  const listed = metadata.public_openpgp_keys ?? [];
  const keys: ProviderKey[] = [];
  const keyProblems: string[] = [];
  for (const entry of listed) {
    const fingerprint = normalizeFingerprint(entry.fingerprint);
    const url = entry.url ?? `openpgp/${fingerprint}.asc`;
    const armored = await readKeyFile(url).catch((error: Error) => {
      keyProblems.push(`key ${fingerprint} (${url}) could not be read: ${error.message}`);
      return null;
    });
    if (armored === null) {
      if (!keyProblems.some((p) => p.startsWith(`key ${fingerprint}`))) keyProblems.push(`key ${fingerprint} (${url}) is missing`);
      continue;
    }
    const loaded = await loadProviderKey(armored.toString('utf8'), fingerprint);
    if (loaded.ok) keys.push(loaded.key);
    else keyProblems.push(`key ${fingerprint} (${url}) ${loaded.message}`);
  }
  return { keysListed: listed.length, keys, keyProblems };
}

/** `changes.csv`: `"path","timestamp"` per line (quotes optional), newest first. A path listed twice keeps its newest line. */
function readChangesCsv(body: Buffer): { entry: string; stamp: string | undefined }[] {
  const unquote = (field: string | undefined) => field?.trim().replace(/^"(.*)"$/, '$1');
  const seen = new Set<string>();
  return body
    .toString('utf8')
    .split(/\r?\n/)
    .map((line) => {
      const [file, stamp] = line.split(',');
      return { entry: unquote(file) ?? '', stamp: unquote(stamp) || undefined };
    })
    .filter(({ entry }) => entry !== '' && !seen.has(entry) && seen.add(entry));
}

function readIndexTxt(body: Buffer): string[] {
  return body
    .toString('utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

function outsideError(listing: string, entry: string): FeedCollection['errors'][number] {
  return { location: `${listing}: ${entry}`, scope: 'document', message: 'points outside the provider directory; not read' };
}

async function checkAll(
  refs: DocumentRef[],
  provider: Provider,
  reader: FeedReader,
  errors: FeedCollection['errors'],
  prefetched: Map<string, Buffer> = new Map(),
): Promise<FeedCollection> {
  const read = (location: string) => (provider.origin === 'file' ? reader.readFile(location) : reader.fetch(location));
  const documents: FeedDocument[] = [];
  const quarantined: QuarantinedDocument[] = [];
  for (const ref of refs) {
    const body = prefetched.get(ref.location) ?? (await read(ref.location));
    if (body === null) {
      errors.push({ location: ref.location, scope: 'document', message: 'is listed by the provider but does not exist' });
      continue;
    }
    const check = await checkDocument(ref, body, provider, read, reader.now);
    if (check.ok) documents.push({ location: ref.location, body, provenance: check.provenance, ...(ref.stamp === undefined ? {} : { stamp: ref.stamp }) });
    else quarantined.push({ location: ref.location, reason: check.reason, detail: check.detail, body });
  }
  return { documents, quarantined, errors };
}

type DocumentCheck = { ok: true; provenance: AdvisoryProvenance } | { ok: false; reason: QuarantinedDocument['reason']; detail: string };

const HASH_LENGTHS = { sha256: 64, sha512: 128 } as const;

async function checkDocument(
  ref: DocumentRef,
  body: Buffer,
  provider: Provider,
  read: (location: string) => Promise<Buffer | null>,
  now: Date,
): Promise<DocumentCheck> {
  const hashes: string[] = [];
  for (const algorithm of ['sha256', 'sha512'] as const) {
    const file = await read(ref[algorithm]);
    if (file === null) continue;
    // `<hex>  <file name>` (sha256sum style) or the bare hex.
    const expected = file.toString('utf8').trim().split(/\s+/)[0]?.toLowerCase() ?? '';
    if (!new RegExp(`^[0-9a-f]{${HASH_LENGTHS[algorithm]}}$`).test(expected)) {
      return { ok: false, reason: 'hash_unreadable', detail: `${ref[algorithm]} does not start with a ${algorithm} hex digest` };
    }
    const actual = createHash(algorithm).update(body).digest('hex');
    if (actual !== expected) return { ok: false, reason: 'hash_mismatch', detail: `${algorithm} of the document is ${actual}, ${ref[algorithm]} says ${expected}` };
    hashes.push(algorithm);
  }
  if (provider.keysListed === 0) return { ok: true, provenance: { verification: 'unverified', origin: provider.origin, signer: null, hashes } };
  const signature = await read(ref.signature);
  if (signature === null) {
    return { ok: false, reason: 'signature_missing', detail: `the provider publishes OpenPGP keys but ${ref.signature} does not exist` };
  }
  if (provider.keys.length === 0) {
    return { ok: false, reason: 'unknown_key', detail: `none of the provider's listed keys could be used: ${provider.keyProblems.join('; ')}` };
  }
  const verified = await verifyDetachedSignature(body, signature.toString('utf8'), provider.keys, now);
  if (!verified.ok) {
    const note = provider.keyProblems.length > 0 ? ` (${provider.keyProblems.join('; ')})` : '';
    return { ok: false, reason: verified.reason, detail: `${verified.detail}${note}` };
  }
  return { ok: true, provenance: { verification: 'signed', origin: provider.origin, signer: verified.signer, hashes } };
}
