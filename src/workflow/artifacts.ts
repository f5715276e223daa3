import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactSource } from '../config/schema.js';
import { isPatchdeckError, PatchdeckError } from '../core/errors.js';
import { downloadToFile, type DownloadFile } from '../net/download.js';
import { fetchBounded, type FetchDocument } from '../net/fetch.js';
import type { ConnectorArtifact } from '../connectors/types.js';
import {
  artifactsForPackage,
  getArtifact,
  linkCaseArtifact,
  listArtifacts,
  loadCaseArtifactSubject,
  saveArtifact,
  type ArtifactRecord,
  type CaseArtifactSubject,
  type DeployArtifact,
} from '../store/queries/artifacts.js';
import { recordChange, type WorkflowContext } from './context.js';

/** Injectable network access: tests and demos point these at a local server or replace them. */
export interface ArtifactDeps {
  download?: DownloadFile;
  /** For checksum files (config `artifacts.sources[].checksumUrl`). */
  fetch?: FetchDocument;
}

export interface ArtifactCandidate {
  url: string;
  /** `csaf`: a remediation URL in the advisory; `source`: config artifacts.sources. */
  origin: 'csaf' | 'source';
  ecosystem: string | null;
  package: string | null;
  version: string | null;
  expectedSha256: string | null;
  expectedSize: number | null;
  checksumUrl: string | null;
}

export interface ArtifactOutcome {
  url: string;
  origin: ArtifactCandidate['origin'];
  ecosystem: string | null;
  package: string | null;
  version: string | null;
  /** `fetched`: downloaded now; `cached`: the store already held the bytes, nothing downloaded; `failed`: see `error`. */
  status: 'fetched' | 'cached' | 'failed';
  sha256: string | null;
  size: number | null;
  path: string | null;
  error: { code: string; message: string } | null;
}

export interface FetchArtifactsResult {
  caseId: number;
  advisoryId: string;
  artifacts: ArtifactOutcome[];
  /** URLs the advisory names that are not files to download (an errata web page), with why. */
  skipped: { url: string; reason: string }[];
  failed: number;
}

/** File names that are installable fixes; anything else a remediation points to is a web page for people. */
const ARTIFACT_FILE = /\.(deb|udeb|rpm|msu|cab|msi|msp|exe|zip|apk|whl|jar|war|gem|nupkg|crate|pkg|dmg|tgz|tar\.gz|tar\.xz|tar\.bz2|tar\.zst)$/i;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** `<artifacts.dir>/sha256/ab/abcdef…`: the content-addressed place of a file. */
export function artifactPath(dir: string, sha256: string): string {
  return path.join(path.resolve(dir), 'sha256', sha256.slice(0, 2), sha256);
}

/**
 * Downloads the patch files a case needs into the content-addressed store and links them to the case.
 * Candidates: vendor-fix remediation URLs in the stored advisory that name a file (CSAF), and, per fixed
 * package of the case's exposures, the first matching config `artifacts.sources` template. A URL whose
 * recorded file is present, or whose expected sha256 is already stored, is not downloaded again. A file
 * whose size or sha256 differs from what the source (or an earlier download of the same URL) says is
 * discarded, audited and reported as PD_ARTIFACT_CHECKSUM. Other artifacts still run when one fails.
 */
export async function fetchCaseArtifacts(
  ctx: WorkflowContext,
  input: { caseId: number; actor: string },
  deps: ArtifactDeps = {},
): Promise<FetchArtifactsResult> {
  const subject = await loadCaseArtifactSubject(ctx.store.db, input.caseId);
  if (subject === null) {
    throw new PatchdeckError('PD_CASE_NOT_FOUND', `there is no case ${input.caseId}; list cases with "patchdeck patches list"`, { status: 404 });
  }
  const { candidates, skipped } = collectArtifactCandidates(subject, ctx.config.artifacts.sources);
  if (candidates.length === 0) {
    const why = skipped.length > 0 ? `its ${skipped.length} remediation URL(s) are web pages, not files; ` : '';
    throw new PatchdeckError(
      'PD_ARTIFACT_NONE',
      `case ${input.caseId} (${subject.advisoryId}) names no downloadable patch file: ${why}add a config artifacts.sources entry for the packages it fixes`,
      { status: 404, details: { skipped } },
    );
  }
  const artifacts: ArtifactOutcome[] = [];
  for (const candidate of candidates) {
    artifacts.push(await fetchOne(ctx, subject, candidate, input.actor, deps));
  }
  return { caseId: subject.caseId, advisoryId: subject.advisoryId, artifacts, skipped, failed: artifacts.filter((a) => a.status === 'failed').length };
}

/** The artifact URLs a case's advisory and the configured sources give, each once. */
export function collectArtifactCandidates(
  subject: CaseArtifactSubject,
  sources: ArtifactSource[],
): { candidates: ArtifactCandidate[]; skipped: { url: string; reason: string }[] } {
  const byUrl = new Map<string, ArtifactCandidate>();
  const skipped: { url: string; reason: string }[] = [];
  for (const remediation of findRemediations(subject.advisory)) {
    if (!ARTIFACT_FILE.test(new URL(remediation.url).pathname)) {
      if (!skipped.some((s) => s.url === remediation.url)) skipped.push({ url: remediation.url, reason: 'not a package or installer file (a web page for people)' });
      continue;
    }
    if (byUrl.has(remediation.url)) continue;
    byUrl.set(remediation.url, {
      url: remediation.url,
      origin: 'csaf',
      ecosystem: null,
      package: null,
      version: null,
      expectedSha256: remediation.sha256,
      expectedSize: remediation.size,
      checksumUrl: null,
    });
  }
  for (const fixed of subject.fixedPackages) {
    const source = sources.find((s) => ecosystemMatches(s.ecosystem, fixed.ecosystem) && (s.packages === undefined || s.packages.includes(fixed.package)));
    if (!source) continue;
    const url = expandTemplate(source.url, fixed);
    if (byUrl.has(url)) continue;
    byUrl.set(url, {
      url,
      origin: 'source',
      ecosystem: fixed.ecosystem,
      package: fixed.package,
      version: fixed.version,
      expectedSha256: null,
      expectedSize: null,
      checksumUrl: source.checksumUrl === undefined ? null : expandTemplate(source.checksumUrl, fixed),
    });
  }
  return { candidates: [...byUrl.values()], skipped };
}

function ecosystemMatches(pattern: string, ecosystem: string): boolean {
  return pattern.endsWith('*') ? ecosystem.startsWith(pattern.slice(0, -1)) : pattern === ecosystem;
}

/** Fills a source template; every value is URL-encoded, so a package name can never add a path segment or a query. */
export function expandTemplate(template: string, fixed: { ecosystem: string; package: string; version: string }): string {
  const values: Record<string, string> = {
    name: fixed.package,
    version: fixed.version.replace(/^\d+:/, ''),
    evr: fixed.version,
    ecosystem: fixed.ecosystem,
  };
  return template.replace(/\{(name|version|evr|ecosystem)\}/g, (_, key: string) => encodeURIComponent(values[key]!));
}

interface Remediation {
  url: string;
  sha256: string | null;
  size: number | null;
}

/**
 * `remediations[]` entries with an http(s) `url` anywhere in the stored advisory's JSON columns. Read
 * defensively: other feed kinds decide where they keep CSAF data, so every JSON text column is searched
 * (to a bounded depth) and only vendor fixes (or entries without a category) count.
 */
function findRemediations(advisory: Record<string, unknown>): Remediation[] {
  const found: Remediation[] = [];
  const visit = (value: unknown, depth: number): void => {
    if (depth > 8 || value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      for (const item of value) visit(item, depth + 1);
      return;
    }
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      if (key === 'remediations' && Array.isArray(child)) {
        for (const entry of child) {
          const remediation = toRemediation(entry);
          if (remediation) found.push(remediation);
        }
      } else {
        visit(child, depth + 1);
      }
    }
  };
  for (const column of Object.values(advisory)) {
    if (typeof column === 'string' && /^\s*[[{]/.test(column)) {
      try {
        visit(JSON.parse(column) as unknown, 0);
      } catch {
        // A text column that only looks like JSON: nothing to find in it.
      }
    } else {
      visit(column, 0);
    }
  }
  return found;
}

function toRemediation(entry: unknown): Remediation | null {
  if (entry === null || typeof entry !== 'object') return null;
  const record = entry as Record<string, unknown>;
  if (typeof record.url !== 'string' || !/^https?:\/\//i.test(record.url)) return null;
  if (record.category !== undefined && record.category !== 'vendor_fix') return null;
  try {
    new URL(record.url);
  } catch {
    return null;
  }
  const sha256 = typeof record.sha256 === 'string' && SHA256_HEX.test(record.sha256.toLowerCase()) ? record.sha256.toLowerCase() : null;
  const size = typeof record.size === 'number' && Number.isSafeInteger(record.size) && record.size >= 0 ? record.size : null;
  return { url: record.url, sha256, size };
}

async function fetchOne(
  ctx: WorkflowContext,
  subject: CaseArtifactSubject,
  candidate: ArtifactCandidate,
  actor: string,
  deps: ArtifactDeps,
): Promise<ArtifactOutcome> {
  const dir = ctx.config.artifacts.dir;
  const base = { url: candidate.url, origin: candidate.origin, ecosystem: candidate.ecosystem, package: candidate.package, version: candidate.version };
  const fail = (error: unknown): ArtifactOutcome => {
    const failure = isPatchdeckError(error) ? { code: error.code, message: error.message } : { code: 'PD_INTERNAL', message: (error as Error).message ?? String(error) };
    if (!isPatchdeckError(error)) ctx.logger.error({ err: error, url: candidate.url }, 'artifact fetch failed unexpectedly');
    return { ...base, status: 'failed', sha256: null, size: null, path: null, error: failure };
  };
  try {
    const known = await getArtifact(ctx.store.db, candidate.url);
    const knownMatches = known !== null && (candidate.expectedSha256 === null || candidate.expectedSha256 === known.sha256);
    if (known && knownMatches && (await storedSize(dir, known.sha256)) === known.size) {
      await recordArtifact(ctx, subject, candidate, known, actor, 'cached');
      return { ...base, status: 'cached', sha256: known.sha256, size: known.size, path: artifactPath(dir, known.sha256), error: null };
    }
    // What the URL must serve: what the source says, else what it served before (a changed file at a known URL is suspect).
    let expectedSha256 = candidate.expectedSha256 ?? known?.sha256 ?? null;
    if (expectedSha256 === null && candidate.checksumUrl !== null) {
      expectedSha256 = await fetchChecksum(ctx, candidate.checksumUrl, deps.fetch ?? fetchBounded);
    }
    if (expectedSha256 !== null) {
      const size = await storedSize(dir, expectedSha256);
      if (size !== null && (candidate.expectedSize === null || candidate.expectedSize === size)) {
        const record = artifactRecord(ctx, candidate.url, expectedSha256, size, known?.contentType ?? null, actor);
        await recordArtifact(ctx, subject, candidate, record, actor, 'cached');
        return { ...base, status: 'cached', sha256: expectedSha256, size, path: artifactPath(dir, expectedSha256), error: null };
      }
    }

    const tmpDir = path.join(path.resolve(dir), 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmpFile = path.join(tmpDir, `${randomUUID()}.part`);
    const download = deps.download ?? downloadToFile;
    const limits = {
      maxBytes: ctx.config.artifacts.maxBytes,
      timeoutMs: ctx.config.artifacts.timeoutMs,
      maxRedirects: ctx.config.fetch.maxRedirects,
      connectTimeoutMs: ctx.config.fetch.connectTimeoutMs,
      allowHosts: ctx.config.fetch.allowHosts,
    };
    let downloaded: Awaited<ReturnType<DownloadFile>>;
    try {
      downloaded = await download(candidate.url, tmpFile, limits);
    } catch (error) {
      await rm(tmpFile, { force: true });
      throw error;
    }
    const mismatch =
      candidate.expectedSize !== null && candidate.expectedSize !== downloaded.size
        ? `is ${downloaded.size} bytes, expected ${candidate.expectedSize}`
        : expectedSha256 !== null && expectedSha256 !== downloaded.sha256
          ? `has sha256 ${downloaded.sha256}, expected ${expectedSha256}`
          : null;
    if (mismatch !== null) {
      await rm(tmpFile, { force: true });
      const error = new PatchdeckError('PD_ARTIFACT_CHECKSUM', `${candidate.url} ${mismatch}; the file was discarded`, {
        details: { url: candidate.url, sha256: downloaded.sha256, size: downloaded.size, expectedSha256, expectedSize: candidate.expectedSize },
      });
      await ctx.store.transaction(async (trx) => {
        await recordChange(trx, ctx, {
          audit: [
            {
              actor,
              action: 'artifact.rejected',
              subjectType: 'case',
              subjectId: String(subject.caseId),
              after: { url: candidate.url, sha256: downloaded.sha256, size: downloaded.size, expectedSha256, expectedSize: candidate.expectedSize },
            },
          ],
        });
      });
      return fail(error);
    }
    const finalPath = artifactPath(dir, downloaded.sha256);
    await mkdir(path.dirname(finalPath), { recursive: true });
    if ((await storedSize(dir, downloaded.sha256)) === downloaded.size) await rm(tmpFile, { force: true });
    else await rename(tmpFile, finalPath);
    const record = artifactRecord(ctx, candidate.url, downloaded.sha256, downloaded.size, downloaded.contentType, actor);
    await recordArtifact(ctx, subject, candidate, record, actor, 'fetched');
    return { ...base, status: 'fetched', sha256: downloaded.sha256, size: downloaded.size, path: finalPath, error: null };
  } catch (error) {
    return fail(error);
  }
}

function artifactRecord(ctx: WorkflowContext, url: string, sha256: string, size: number, contentType: string | null, actor: string): ArtifactRecord {
  return { url, sha256, size, contentType, fetchedAt: ctx.clock.now().toISOString(), fetchedBy: actor };
}

/** Saves the URL's record (when new or re-fetched) and the case link, with an audit event when anything changed. */
async function recordArtifact(
  ctx: WorkflowContext,
  subject: CaseArtifactSubject,
  candidate: ArtifactCandidate,
  record: ArtifactRecord,
  actor: string,
  status: 'fetched' | 'cached',
): Promise<void> {
  const nowIso = ctx.clock.now().toISOString();
  await ctx.store.transaction(async (trx) => {
    const known = await getArtifact(trx, record.url);
    const changed = known === null || known.sha256 !== record.sha256 || status === 'fetched';
    if (changed) await saveArtifact(trx, record);
    const linked = await linkCaseArtifact(
      trx,
      { caseId: subject.caseId, url: record.url, origin: candidate.origin, ecosystem: candidate.ecosystem, package: candidate.package, version: candidate.version },
      nowIso,
    );
    if (!changed && !linked) return;
    await recordChange(trx, ctx, {
      audit: [
        {
          actor,
          action: status === 'fetched' ? 'artifact.fetched' : 'artifact.linked',
          subjectType: 'case',
          subjectId: String(subject.caseId),
          after: { url: record.url, sha256: record.sha256, size: record.size, package: candidate.package, version: candidate.version },
        },
      ],
    });
  });
}

/** Size of the stored file for a hash, or null when it is not there. */
async function storedSize(dir: string, sha256: string): Promise<number | null> {
  try {
    const info = await stat(artifactPath(dir, sha256));
    return info.isFile() ? info.size : null;
  } catch {
    return null;
  }
}

async function fetchChecksum(ctx: WorkflowContext, url: string, fetchDocument: FetchDocument): Promise<string> {
  const fetched = await fetchDocument(url, { ...ctx.config.fetch, maxBytes: Math.min(ctx.config.fetch.maxBytes, 1024 * 1024) });
  const hex = /\b[0-9a-fA-F]{64}\b/.exec(fetched.body.toString('utf8'))?.[0];
  if (hex === undefined) {
    throw new PatchdeckError('PD_ARTIFACT_CHECKSUM', `${url} holds no sha256 (64 hex digits); check config artifacts.sources[].checksumUrl`, { details: { url } });
  }
  return hex.toLowerCase();
}

export interface VerifyArtifactsResult {
  checked: number;
  ok: number;
  problems: { sha256: string; urls: string[]; problem: 'missing' | 'corrupt'; detail: string }[];
}

/** Re-hashes every stored file: a file that is gone or whose bytes no longer hash to its name is reported. Read-only. */
export async function verifyArtifacts(ctx: WorkflowContext): Promise<VerifyArtifactsResult> {
  const artifacts = await listArtifacts(ctx.store.db);
  const byHash = new Map<string, { size: number; urls: string[] }>();
  for (const a of artifacts) {
    const entry = byHash.get(a.sha256) ?? { size: a.size, urls: [] };
    entry.urls.push(a.url);
    byHash.set(a.sha256, entry);
  }
  const problems: VerifyArtifactsResult['problems'] = [];
  for (const [sha256, { size, urls }] of [...byHash.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const file = artifactPath(ctx.config.artifacts.dir, sha256);
    let actual: { size: number; sha256: string };
    try {
      actual = await hashFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push({ sha256, urls, problem: 'missing', detail: code === 'ENOENT' ? `${file} is missing` : `${file} cannot be read: ${(error as Error).message}` });
      continue;
    }
    if (actual.sha256 !== sha256 || actual.size !== size) {
      problems.push({ sha256, urls, problem: 'corrupt', detail: `${file} is ${actual.size} bytes with sha256 ${actual.sha256}, recorded ${size} bytes` });
    }
  }
  return { checked: byHash.size, ok: byHash.size - problems.length, problems };
}

async function hashFile(file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    size += (chunk as Buffer).length;
    hash.update(chunk as Buffer);
  }
  return { size, sha256: hash.digest('hex') };
}

export interface DeployArtifactProblem {
  code: 'PD_ARTIFACT_MISSING' | 'PD_ARTIFACT_TAMPERED';
  sha256: string;
  fileName: string;
  url: string;
  path: string;
  detail: string;
}

/**
 * Re-hashes the cached files a rollout is about to deploy. A file that is gone, unreadable, or whose
 * bytes no longer hash to its recorded sha256 and size is a problem: the wave must not use it.
 */
export async function checkDeployArtifacts(ctx: WorkflowContext, artifacts: readonly DeployArtifact[]): Promise<DeployArtifactProblem[]> {
  const problems: DeployArtifactProblem[] = [];
  const seen = new Set<string>();
  for (const artifact of artifacts) {
    if (seen.has(artifact.sha256)) continue;
    seen.add(artifact.sha256);
    const file = artifactPath(ctx.config.artifacts.dir, artifact.sha256);
    const base = { sha256: artifact.sha256, fileName: artifact.fileName, url: artifact.url, path: file };
    let actual: { size: number; sha256: string };
    try {
      actual = await hashFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push({ ...base, code: 'PD_ARTIFACT_MISSING', detail: code === 'ENOENT' ? `${file} is missing` : `${file} cannot be read: ${(error as Error).message}` });
      continue;
    }
    if (actual.sha256 !== artifact.sha256 || actual.size !== artifact.size) {
      problems.push({ ...base, code: 'PD_ARTIFACT_TAMPERED', detail: `${file} is ${actual.size} bytes with sha256 ${actual.sha256}, recorded ${artifact.size} bytes with sha256 ${artifact.sha256}` });
    }
  }
  return problems;
}

/** The connector's view of plan artifacts: where each file is in this instance's cache. */
export function toConnectorArtifacts(ctx: WorkflowContext, artifacts: readonly DeployArtifact[], packages: readonly { ecosystem: string; name: string }[]): ConnectorArtifact[] {
  return packages.flatMap((pkg) =>
    artifactsForPackage(artifacts, pkg).map((a) => ({
      package: pkg.name,
      path: artifactPath(ctx.config.artifacts.dir, a.sha256),
      sha256: a.sha256,
      size: a.size,
      fileName: a.fileName,
      url: a.url,
    })),
  );
}
