import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector, type Response } from 'undici';
import { PatchdeckError } from '../core/errors.js';
import { blockedAddressReason, isOddIpv4Spelling } from './address.js';
import { getFollowingRedirects } from './redirects.js';

/** Limits for one document fetch (config `fetch`). */
export interface FetchLimits {
  maxBytes: number;
  /** Whole fetch, every redirect hop and the body included. */
  timeoutMs: number;
  maxRedirects: number;
  /** Per connection attempt (config `fetch.connectTimeoutMs`); absent: the whole-fetch timeout. */
  connectTimeoutMs?: number;
  /**
   * Host names or IP addresses the address guard lets through (config `fetch.allowHosts`). Without
   * them a fetch never connects to loopback, private, link-local or other non-public addresses.
   */
  allowHosts?: readonly string[];
}

/** Validators from the last good fetch of the same URL: sent as If-None-Match / If-Modified-Since. */
export interface ConditionalRequest {
  etag?: string | null;
  lastModified?: string | null;
}

export interface FetchedDocument {
  /** The URL asked for. */
  url: string;
  /** The URL the body came from, after redirects. */
  finalUrl: string;
  status: number;
  contentType: string | null;
  /** Empty when the server answered 304 Not Modified. */
  body: Buffer;
  /** True for a 304 answer to a conditional request: the document is as it was last time. */
  notModified?: boolean;
  /** Validators to send next time (absent when the server sent none). */
  etag?: string | null;
  lastModified?: string | null;
}

/** The fetch a feed service is given; tests pass their own or point this one at a local server. */
export type FetchDocument = (url: string, limits: FetchLimits, conditional?: ConditionalRequest) => Promise<FetchedDocument>;

/**
 * GETs a document with Patchdeck's own limits: at most `maxBytes` of (decoded) body, `timeoutMs` for
 * the whole exchange, `maxRedirects` hops, http(s) only, and only to public addresses unless
 * `allowHosts` names the host (see `createGuardedAgent`). Every failure is a PatchdeckError with a
 * PD_FEED_* code naming the URL. Redirects are followed by `getFollowingRedirects` (each hop counted
 * and checked; validators never sent to another origin). With `conditional` validators a 304 answer
 * gives `notModified`.
 */
export const fetchBounded: FetchDocument = async (url, limits, conditional = {}) => {
  const allowHosts = limits.allowHosts ?? [];
  const agent = createGuardedAgent({ allowHosts, connectTimeoutMs: limits.connectTimeoutMs ?? limits.timeoutMs });
  const deadline = startDeadline(limits.timeoutMs);
  const timeoutError = () =>
    new PatchdeckError('PD_FEED_TIMEOUT', `fetching ${url} took longer than ${limits.timeoutMs} ms (config fetch.timeoutMs)`, {
      status: 504,
      details: { url, timeoutMs: limits.timeoutMs },
    });
  const headers: Record<string, string> = {
    accept: 'application/json, application/rss+xml, application/atom+xml, application/xml;q=0.9, text/csv;q=0.9, */*;q=0.5',
  };
  if (conditional.etag) headers['if-none-match'] = conditional.etag;
  if (conditional.lastModified) headers['if-modified-since'] = conditional.lastModified;
  try {
    const { response, url: current, sent } = await getFollowingRedirects({
      url,
      headers,
      maxRedirects: limits.maxRedirects,
      allowHosts,
      dispatcher: agent,
      signal: deadline.signal,
      failures: {
        connect(error, at) {
          if (deadline.passed()) return timeoutError();
          const blocked = findBlockedAddress(error);
          if (blocked) return blockedError(blocked.host, blocked.reason, url);
          return new PatchdeckError('PD_FEED_UNREACHABLE', `could not connect to ${at.href}: ${describeCause(error)}`, {
            status: 502,
            details: { url: at.href },
            cause: error,
          });
        },
        url: (error) => error,
        noLocation: (at, status) =>
          new PatchdeckError('PD_FEED_HTTP', `${at.href} answered ${status} without a Location header`, {
            status: 502,
            details: { url: at.href, httpStatus: status },
          }),
        tooManyRedirects: (at) =>
          new PatchdeckError(
            'PD_FEED_REDIRECTS',
            `fetching ${url} was redirected more than ${limits.maxRedirects} times (config fetch.maxRedirects); last hop ${at.href}`,
            { status: 502, details: { url, maxRedirects: limits.maxRedirects } },
          ),
      },
    });
    // A 304 only means "as before" when our validators reached the server that answered.
    if (response.status === 304 && (sent['if-none-match'] !== undefined || sent['if-modified-since'] !== undefined)) {
      await response.body?.cancel().catch(() => undefined);
      return {
        url,
        finalUrl: current.href,
        status: 304,
        contentType: null,
        body: Buffer.alloc(0),
        notModified: true,
        etag: response.headers.get('etag') ?? conditional.etag ?? null,
        lastModified: response.headers.get('last-modified') ?? conditional.lastModified ?? null,
      };
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
      if (deadline.passed()) throw timeoutError();
      throw error;
    });
    return {
      url,
      finalUrl: current.href,
      status: response.status,
      contentType: response.headers.get('content-type'),
      body,
      etag: response.headers.get('etag'),
      lastModified: response.headers.get('last-modified'),
    };
  } finally {
    deadline.clear();
    await agent.destroy().catch(() => undefined);
  }
};

/** Aborts `signal` once `timeoutMs` has passed (for the whole exchange, body included); `clear` when done. */
export function startDeadline(timeoutMs: number): { signal: AbortSignal; passed: () => boolean; clear: () => void } {
  const controller = new AbortController();
  let passed = false;
  const timer = setTimeout(() => {
    passed = true;
    controller.abort();
  }, timeoutMs);
  return { signal: controller.signal, passed: () => passed, clear: () => clearTimeout(timer) };
}

/**
 * Parses a URL (or a redirect's Location against `base`) and refuses what the address guard can
 * tell before connecting: a non-http(s) scheme, an odd IPv4 spelling, a blocked IP literal.
 * Other fetchers (net/download.ts) call it for every hop too.
 */
export function checkFetchUrl(candidate: string, requested: string, allowHosts: readonly string[], base?: URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(candidate, base);
  } catch {
    throw new PatchdeckError('PD_FEED_URL', `"${candidate}" is not a valid URL`, { details: { url: requested } });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new PatchdeckError('PD_FEED_URL', `${parsed.href} is not an http(s) URL (fetching ${requested})`, { details: { url: requested } });
  }
  if (isOddIpv4Spelling(candidate, parsed)) {
    throw blockedError(parsed.hostname, `it is written in an unusual IPv4 form in "${candidate}"; write the address as ${parsed.hostname}`, requested);
  }
  // An IP literal is never looked up, so it is checked here; the connector checks it again.
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && !isAllowedHost(host, allowHosts)) {
    const reason = blockedAddressReason(host);
    if (reason !== null) throw blockedError(parsed.hostname, `${host} is ${reason}`, requested);
  }
  return parsed;
}

function blockedError(host: string, reason: string, url: string): PatchdeckError {
  return new PatchdeckError(
    'PD_FEED_BLOCKED_ADDRESS',
    `refusing to fetch from ${host}: ${reason}. If this feed really is on an internal host, add it to config fetch.allowHosts`,
    { status: 403, details: { url, host, reason } },
  );
}

/** Raised inside the connector; `fetchBounded` turns it into PD_FEED_BLOCKED_ADDRESS. */
class BlockedAddressError extends Error {
  constructor(
    readonly host: string,
    readonly reason: string,
  ) {
    super(`${host}: ${reason}`);
    this.name = 'BlockedAddressError';
  }
}

/** The guarded agent's refusal, wherever it sits in a failed connection's cause chain. */
export function findBlockedAddress(error: unknown, depth = 0): BlockedAddressError | null {
  if (error instanceof BlockedAddressError) return error;
  if (depth > 5 || error === null || typeof error !== 'object') return null;
  const nested = [(error as { cause?: unknown }).cause, ...((error as { errors?: unknown[] }).errors ?? [])];
  for (const inner of nested) {
    const found = findBlockedAddress(inner, depth + 1);
    if (found) return found;
  }
  return null;
}

/** Lower case, without IPv6 brackets or a trailing dot, IPv6 in its shortest form. */
function normaliseHost(host: string): string {
  const bare = host.trim().toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (isIP(bare) !== 6) return bare;
  try {
    return new URL(`http://[${bare}]/`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return bare;
  }
}

function isAllowedHost(host: string, allowHosts: readonly string[]): boolean {
  if (allowHosts.length === 0) return false;
  const wanted = normaliseHost(host);
  return allowHosts.some((entry) => normaliseHost(entry) === wanted);
}

/**
 * An undici Agent whose connections pass the address guard twice: the DNS lookup refuses a name that
 * resolves to any blocked address (so nothing is sent there), and once connected the socket's actual
 * remote address is checked again (IP literals skip the lookup; a rebinding resolver cannot slip
 * past). A host in `allowHosts`, by name or by the address connected to, is let through.
 */
export function createGuardedAgent(options: { allowHosts: readonly string[]; connectTimeoutMs: number }): Agent {
  const { allowHosts } = options;
  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      if (!isAllowedHost(hostname, allowHosts)) {
        for (const entry of addresses) {
          const reason = blockedAddressReason(entry.address);
          if (reason !== null && !isAllowedHost(entry.address, allowHosts)) {
            return callback(new BlockedAddressError(hostname, `it resolves to ${entry.address}, ${reason}`), '', 0);
          }
        }
      }
      if (lookupOptions.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
      return callback(null, first.address, first.family);
    });
  };
  const connectDirect = buildConnector({ lookup, timeout: options.connectTimeoutMs });
  const connect: buildConnector.connector = (connectOptions, callback) => {
    connectDirect(connectOptions, (...args) => {
      const [error, socket] = args;
      if (error !== null) return callback(error, null);
      const host = connectOptions.hostname;
      const remote = socket.remoteAddress;
      if (!isAllowedHost(host, allowHosts)) {
        const reason = remote === undefined ? 'the connected address could not be read' : blockedAddressReason(remote);
        if (reason !== null && (remote === undefined || !isAllowedHost(remote, allowHosts))) {
          socket.destroy();
          return callback(new BlockedAddressError(host, remote === undefined ? reason : `connected to ${remote}, ${reason}`), null);
        }
      }
      return callback(null, socket);
    });
  };
  return new Agent({ connect });
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

/** The most telling part of a network failure: the system error code when there is one. */
export function describeCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}
