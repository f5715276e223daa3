import { fetch as undiciFetch, type Agent, type Response } from 'undici';
import { PatchdeckError } from '../core/errors.js';
import { checkFetchUrl } from './fetch.js';

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Headers that belong to the origin first asked: credentials, and the validators of the document
 * stored from that URL. They are dropped at the first redirect to another origin (scheme, host or
 * port) and not sent again, even if a later hop comes back.
 */
const ORIGIN_BOUND_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'if-none-match', 'if-modified-since'];

/** How a caller names each failure (feed fetches and artifact downloads have their own codes). */
export interface RedirectFailures {
  /** The hop could not be sent or answered (refused, blocked address, aborted by the caller's timer). */
  connect(error: unknown, at: URL): Error;
  /** The URL, or a Location, failed `checkFetchUrl` (not http(s), odd IPv4 spelling, blocked literal). */
  url(error: PatchdeckError): Error;
  noLocation(at: URL, status: number): Error;
  tooManyRedirects(at: URL): Error;
}

export interface RedirectRequest {
  url: string;
  /** Sent with the first request; origin-bound ones (see above) only while the origin stays the same. */
  headers?: Record<string, string>;
  maxRedirects: number;
  allowHosts: readonly string[];
  dispatcher: Agent;
  signal: AbortSignal;
  failures: RedirectFailures;
}

export interface RedirectOutcome {
  /** The first answer that is not a redirect; its body is the caller's to read or cancel. */
  response: Response;
  /** Where that answer came from. */
  url: URL;
  /** The headers sent with that last request (origin-bound ones may have been dropped on the way). */
  sent: Record<string, string>;
}

/**
 * GETs `url`, following redirects by hand so that each hop is counted against `maxRedirects`, every
 * Location passes the address guard's URL check, and origin-bound headers never reach another origin.
 * The one redirect loop for the feed fetch (`fetch.ts`) and artifact downloads (`download.ts`).
 */
export async function getFollowingRedirects(request: RedirectRequest): Promise<RedirectOutcome> {
  const { failures } = request;
  const check = (candidate: string, base?: URL) => {
    try {
      return checkFetchUrl(candidate, request.url, request.allowHosts, base);
    } catch (error) {
      if (error instanceof PatchdeckError) throw failures.url(error);
      throw error;
    }
  };
  const first = check(request.url);
  let current = first;
  let headers: Record<string, string> = { ...(request.headers ?? {}) };
  for (let hop = 0; ; hop++) {
    let response: Response;
    try {
      response = await undiciFetch(current, { redirect: 'manual', signal: request.signal, headers, dispatcher: request.dispatcher });
    } catch (error) {
      throw failures.connect(error, current);
    }
    if (!REDIRECT_STATUSES.has(response.status)) return { response, url: current, sent: headers };
    await response.body?.cancel().catch(() => undefined);
    const location = response.headers.get('location');
    if (location === null) throw failures.noLocation(current, response.status);
    if (hop >= request.maxRedirects) throw failures.tooManyRedirects(current);
    current = check(location, current);
    if (current.origin !== first.origin) headers = withoutOriginBound(headers);
  }
}

function withoutOriginBound(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !ORIGIN_BOUND_HEADERS.includes(name.toLowerCase())));
}
