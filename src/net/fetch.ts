import { PatchdeckError } from '../core/errors.js';

/** Limits for one document fetch (config `fetch`). */
export interface FetchLimits {
  maxBytes: number;
  /** Whole fetch, every redirect hop and the body included. */
  timeoutMs: number;
  maxRedirects: number;
}

export interface FetchedDocument {
  /** The URL asked for. */
  url: string;
  /** The URL the body came from, after redirects. */
  finalUrl: string;
  status: number;
  contentType: string | null;
  body: Buffer;
}

/** The fetch a feed service is given; tests pass their own or point this one at a local server. */
export type FetchDocument = (url: string, limits: FetchLimits) => Promise<FetchedDocument>;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * GETs a document with Patchdeck's own limits: at most `maxBytes` of (decoded) body, `timeoutMs` for
 * the whole exchange, `maxRedirects` hops, http(s) only. Every failure is a PatchdeckError with a
 * PD_FEED_* code naming the URL. Redirects are followed by hand (`redirect: 'manual'`) so each hop
 * is counted and checked.
 */
export const fetchBounded: FetchDocument = async (url, limits) => {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, limits.timeoutMs);
  const timeoutError = () =>
    new PatchdeckError('PD_FEED_TIMEOUT', `fetching ${url} took longer than ${limits.timeoutMs} ms (config fetch.timeoutMs)`, {
      status: 504,
      details: { url, timeoutMs: limits.timeoutMs },
    });
  try {
    let current = checkedUrl(url, url);
    for (let hop = 0; ; hop++) {
      let response: Response;
      try {
        response = await fetch(current, {
          redirect: 'manual',
          signal: controller.signal,
          headers: { accept: 'application/json, application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5' },
        });
      } catch (error) {
        if (timedOut) throw timeoutError();
        throw new PatchdeckError('PD_FEED_UNREACHABLE', `could not connect to ${current.href}: ${describeCause(error)}`, {
          status: 502,
          details: { url: current.href },
          cause: error,
        });
      }
      if (REDIRECT_STATUSES.has(response.status)) {
        await response.body?.cancel().catch(() => undefined);
        const location = response.headers.get('location');
        if (location === null) {
          throw new PatchdeckError('PD_FEED_HTTP', `${current.href} answered ${response.status} without a Location header`, {
            status: 502,
            details: { url: current.href, httpStatus: response.status },
          });
        }
        if (hop >= limits.maxRedirects) {
          throw new PatchdeckError(
            'PD_FEED_REDIRECTS',
            `fetching ${url} was redirected more than ${limits.maxRedirects} times (config fetch.maxRedirects); last hop ${current.href}`,
            { status: 502, details: { url, maxRedirects: limits.maxRedirects } },
          );
        }
        current = checkedUrl(new URL(location, current).href, url);
        continue;
      }
      if (response.status < 200 || response.status > 299) {
        await response.body?.cancel().catch(() => undefined);
        const retryAfter = response.headers.get('retry-after');
        throw new PatchdeckError(
          'PD_FEED_HTTP',
          `${current.href} answered HTTP ${response.status}${retryAfter === null ? '' : ` (Retry-After: ${retryAfter})`}`,
          { status: 502, details: { url: current.href, httpStatus: response.status, retryAfter } },
        );
      }
      const body = await readLimited(response, current.href, limits.maxBytes).catch((error: unknown) => {
        if (timedOut) throw timeoutError();
        throw error;
      });
      return {
        url,
        finalUrl: current.href,
        status: response.status,
        contentType: response.headers.get('content-type'),
        body,
      };
    }
  } finally {
    clearTimeout(timer);
  }
};

function checkedUrl(candidate: string, requested: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(candidate);
  } catch {
    throw new PatchdeckError('PD_FEED_URL', `"${candidate}" is not a valid URL`, { details: { url: requested } });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new PatchdeckError('PD_FEED_URL', `${candidate} is not an http(s) URL (fetching ${requested})`, { details: { url: requested } });
  }
  return parsed;
}

function tooLarge(url: string, maxBytes: number): PatchdeckError {
  return new PatchdeckError('PD_FEED_TOO_LARGE', `${url} is larger than ${maxBytes} bytes (config fetch.maxBytes)`, {
    status: 502,
    details: { url, maxBytes },
  });
}

/** Reads the body while counting; stops reading (and drops the connection) as soon as the limit is passed. */
async function readLimited(response: Response, url: string, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length'));
  // Only trust the declared length when the body is not compressed: it then equals what we would read.
  if (response.headers.get('content-encoding') === null && Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(url, maxBytes);
  }
  if (response.body === null) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(url, maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

function describeCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}
