import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { PatchdeckError } from '../core/errors.js';
import { createGuardedAgent, describeCause, findBlockedAddress, startDeadline, type FetchLimits } from './fetch.js';
import { getFollowingRedirects } from './redirects.js';

export interface DownloadedFile {
  url: string;
  finalUrl: string;
  contentType: string | null;
  size: number;
  /** Hex sha256 of the bytes written. */
  sha256: string;
}

/** Streams a URL into `destination`; the artifact service is given one, tests pass their own or use a local server. */
export type DownloadFile = (url: string, destination: string, limits: FetchLimits) => Promise<DownloadedFile>;

/**
 * Downloads a (possibly large) file to disk while hashing it, with the same limits as the feed fetch:
 * at most `maxBytes`, `timeoutMs` for the whole exchange, `maxRedirects` hops (`getFollowingRedirects`), http(s)
 * only, and only to public addresses unless `allowHosts` names the host (the feed fetch's guarded agent).
 * Failures are PatchdeckErrors with PD_ARTIFACT_* codes naming the URL; a partial file is removed.
 */
export const downloadToFile: DownloadFile = async (url, destination, limits) => {
  const agent = createGuardedAgent({ allowHosts: limits.allowHosts ?? [], connectTimeoutMs: limits.connectTimeoutMs ?? limits.timeoutMs });
  const deadline = startDeadline(limits.timeoutMs);
  const timeoutError = () =>
    new PatchdeckError('PD_ARTIFACT_TIMEOUT', `downloading ${url} took longer than ${limits.timeoutMs} ms (config artifacts.timeoutMs)`, {
      status: 504,
      details: { url, timeoutMs: limits.timeoutMs },
    });
  try {
    const { response, url: current } = await getFollowingRedirects({
      url,
      maxRedirects: limits.maxRedirects,
      allowHosts: limits.allowHosts ?? [],
      dispatcher: agent,
      signal: deadline.signal,
      failures: {
        connect(error, at) {
          if (deadline.passed()) return timeoutError();
          const blocked = findBlockedAddress(error);
          if (blocked !== null) {
            return new PatchdeckError(
              'PD_ARTIFACT_BLOCKED_ADDRESS',
              `refusing to download from ${blocked.message}. If this mirror really is on an internal host, add it to config fetch.allowHosts`,
              { status: 403, details: { url: at.href } },
            );
          }
          return new PatchdeckError('PD_ARTIFACT_UNREACHABLE', `could not connect to ${at.href}: ${describeCause(error)}`, {
            status: 502,
            details: { url: at.href },
            cause: error,
          });
        },
        url: (error) => artifactUrlError(error, url),
        noLocation: (at, status) => new PatchdeckError('PD_ARTIFACT_HTTP', `${at.href} answered ${status} without a Location header`, { status: 502 }),
        tooManyRedirects: () =>
          new PatchdeckError('PD_ARTIFACT_REDIRECTS', `downloading ${url} was redirected more than ${limits.maxRedirects} times (config fetch.maxRedirects)`, {
            status: 502,
          }),
      },
    });
    if (response.status < 200 || response.status > 299) {
      await response.body?.cancel().catch(() => undefined);
      throw new PatchdeckError('PD_ARTIFACT_HTTP', `${current.href} answered HTTP ${response.status}`, {
        status: 502,
        details: { url: current.href, httpStatus: response.status },
      });
    }
    const declared = Number(response.headers.get('content-length'));
    if (response.headers.get('content-encoding') === null && Number.isFinite(declared) && declared > limits.maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw tooLarge(current.href, limits.maxBytes);
    }
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > limits.maxBytes) {
          done(tooLarge(current.href, limits.maxBytes));
          return;
        }
        hash.update(chunk);
        done(null, chunk);
      },
    });
    const body = response.body === null ? Readable.from([]) : Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>);
    try {
      await pipeline(body, meter, createWriteStream(destination, { flags: 'wx' }));
    } catch (error) {
      await rm(destination, { force: true });
      if (deadline.passed()) throw timeoutError();
      if (error instanceof PatchdeckError) throw error;
      throw new PatchdeckError('PD_ARTIFACT_UNREACHABLE', `downloading ${current.href} broke off: ${describeCause(error)}`, { status: 502, cause: error });
    }
    return { url, finalUrl: current.href, contentType: response.headers.get('content-type'), size, sha256: hash.digest('hex') };
  } finally {
    deadline.clear();
    await agent.close().catch(() => undefined);
  }
};

/** The feed fetch's URL check failures (PD_FEED_URL, PD_FEED_BLOCKED_ADDRESS) given the artifact codes. */
function artifactUrlError(error: PatchdeckError, requested: string): PatchdeckError {
  if (error.code === 'PD_FEED_URL') {
    return new PatchdeckError('PD_ARTIFACT_URL', `${error.message} (downloading ${requested})`, { details: { url: requested } });
  }
  if (error.code === 'PD_FEED_BLOCKED_ADDRESS') {
    return new PatchdeckError('PD_ARTIFACT_BLOCKED_ADDRESS', error.message.replace('refusing to fetch', 'refusing to download').replace('this feed', 'this mirror'), {
      status: 403,
      details: error.details,
    });
  }
  return error;
}

function tooLarge(url: string, maxBytes: number): PatchdeckError {
  return new PatchdeckError('PD_ARTIFACT_TOO_LARGE', `${url} is larger than ${maxBytes} bytes (config artifacts.maxBytes)`, {
    status: 502,
    details: { url, maxBytes },
  });
}
