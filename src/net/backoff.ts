/**
 * When to try a feed again after a failed fetch. Pure: the caller passes `now`.
 * A busy or failing server (429, 5xx, no connection, timeout) gets a pause: the time its
 * `Retry-After` asks for, or else an exponential wait, both capped.
 */

export interface BackoffPolicy {
  /** Wait after the first failure; doubled for each further consecutive failure. */
  baseMs: number;
  /** No wait is longer, whatever the server asks. */
  maxMs: number;
}

/** What the fetch said about a failure (PatchdeckError code and details of `fetchBounded`). */
export interface FetchFailure {
  code: string;
  httpStatus?: number;
  retryAfter?: string | null;
}

/** `Retry-After` as delay-seconds or an HTTP date, as the instant it names; null when unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: Date): Date | null {
  if (value === null || value === undefined) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return new Date(now.getTime() + Number(text) * 1000);
  // IMF-fixdate, plus the obsolete RFC 850 and asctime forms HTTP still allows.
  if (!/^[A-Za-z]{3}/.test(text)) return null;
  const at = Date.parse(/GMT$|UTC$/.test(text) ? text : `${text} GMT`);
  return Number.isNaN(at) ? null : new Date(at);
}

/** Whether a failure means "the server is busy or away", which waiting may fix. */
export function isTransientFailure(failure: FetchFailure): boolean {
  if (failure.code === 'PD_FEED_UNREACHABLE' || failure.code === 'PD_FEED_TIMEOUT') return true;
  if (failure.code !== 'PD_FEED_HTTP' || failure.httpStatus === undefined) return false;
  return failure.httpStatus === 429 || failure.httpStatus >= 500;
}

/**
 * The instant before which the feed should not be fetched again, or null when the failure is not
 * one waiting helps with (a parse error, a 404, a refused address: the schedule simply runs again).
 * `failures` counts this one.
 */
export function nextAttemptAfter(failure: FetchFailure, failures: number, now: Date, policy: BackoffPolicy): Date | null {
  if (!isTransientFailure(failure)) return null;
  const latest = now.getTime() + policy.maxMs;
  const asked = parseRetryAfter(failure.retryAfter, now);
  if (asked !== null) return new Date(Math.min(Math.max(asked.getTime(), now.getTime()), latest));
  const exponent = Math.min(Math.max(failures, 1) - 1, 30);
  return new Date(Math.min(now.getTime() + policy.baseMs * 2 ** exponent, latest));
}
