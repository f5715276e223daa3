import { describe, expect, it } from 'vitest';
import { isTransientFailure, nextAttemptAfter, parseRetryAfter } from '../../src/net/backoff.js';

const NOW = new Date('2026-11-23T10:00:00.000Z');
const POLICY = { baseMs: 60_000, maxMs: 3_600_000 };

describe('parseRetryAfter', () => {
  it('reads delay-seconds and the three HTTP date forms', () => {
    expect(parseRetryAfter('120', NOW)?.toISOString()).toBe('2026-11-23T10:02:00.000Z');
    expect(parseRetryAfter(' 0 ', NOW)?.toISOString()).toBe('2026-11-23T10:00:00.000Z');
    expect(parseRetryAfter('Mon, 23 Nov 2026 10:30:00 GMT', NOW)?.toISOString()).toBe('2026-11-23T10:30:00.000Z');
    expect(parseRetryAfter('Monday, 23-Nov-26 10:30:00 GMT', NOW)?.toISOString()).toBe('2026-11-23T10:30:00.000Z');
    expect(parseRetryAfter('Mon Nov 23 10:30:00 2026', NOW)?.toISOString()).toBe('2026-11-23T10:30:00.000Z');
  });

  it('gives null for what it cannot read', () => {
    for (const value of [null, undefined, '', 'soon', '-5', '1.5', '2026-11-23']) expect(parseRetryAfter(value, NOW)).toBeNull();
  });
});

describe('nextAttemptAfter', () => {
  const http = (httpStatus: number, retryAfter: string | null = null) => ({ code: 'PD_FEED_HTTP', httpStatus, retryAfter });

  it('honours Retry-After, capped at the maximum and never in the past', () => {
    expect(nextAttemptAfter(http(429, '300'), 1, NOW, POLICY)?.toISOString()).toBe('2026-11-23T10:05:00.000Z');
    expect(nextAttemptAfter(http(503, 'Mon, 23 Nov 2026 10:20:00 GMT'), 4, NOW, POLICY)?.toISOString()).toBe('2026-11-23T10:20:00.000Z');
    expect(nextAttemptAfter(http(429, '86400'), 1, NOW, POLICY)?.toISOString()).toBe('2026-11-23T11:00:00.000Z');
    expect(nextAttemptAfter(http(503, 'Mon, 23 Nov 2026 09:00:00 GMT'), 1, NOW, POLICY)?.toISOString()).toBe(NOW.toISOString());
  });

  it('doubles the wait per consecutive failure without Retry-After, up to the maximum', () => {
    const waits = [1, 2, 3, 4, 6, 7, 40].map((n) => (nextAttemptAfter(http(500), n, NOW, POLICY)!.getTime() - NOW.getTime()) / 60_000);
    expect(waits).toEqual([1, 2, 4, 8, 32, 60, 60]);
    expect(nextAttemptAfter({ code: 'PD_FEED_TIMEOUT' }, 2, NOW, POLICY)?.toISOString()).toBe('2026-11-23T10:02:00.000Z');
  });

  it('does not back off from failures waiting cannot fix', () => {
    expect(nextAttemptAfter(http(404), 3, NOW, POLICY)).toBeNull();
    expect(nextAttemptAfter({ code: 'PD_FEED_PARSE' }, 3, NOW, POLICY)).toBeNull();
    expect(isTransientFailure({ code: 'PD_FEED_BLOCKED_ADDRESS' })).toBe(false);
    expect(isTransientFailure({ code: 'PD_FEED_UNREACHABLE' })).toBe(true);
  });
});
