import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchBounded, type FetchLimits } from '../../src/net/fetch.js';
import { startFeedServer, type FeedServer } from '../helpers/feed-server.js';

const USN_RSS = readFileSync(new URL('../fixtures/feeds/rss/ubuntu-usn.rss.xml', import.meta.url));
// The test server is on loopback, which the address guard refuses unless allowed.
const LIMITS: FetchLimits = { maxBytes: 1024 * 1024, timeoutMs: 2000, maxRedirects: 3, allowHosts: ['127.0.0.1'] };

/** A port nothing listens on: bind one, note it, close it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('fetchBounded', () => {
  let server: FeedServer;
  beforeAll(async () => {
    server = await startFeedServer();
    server.serve('usn.rss', USN_RSS, 'application/rss+xml');
  });
  afterAll(async () => {
    await server.close();
  });

  it('returns the exact bytes of a document', async () => {
    const fetched = await fetchBounded(`${server.url}/file/usn.rss`, LIMITS);
    expect(fetched.status).toBe(200);
    expect(fetched.contentType).toBe('application/rss+xml');
    expect(fetched.body.equals(USN_RSS)).toBe(true);
  });

  it('follows redirects up to the limit and reports where the body came from', async () => {
    const fetched = await fetchBounded(`${server.url}/hops/2/usn.rss`, LIMITS);
    expect(fetched.finalUrl).toBe(`${server.url}/file/usn.rss`);
    expect(fetched.url).toBe(`${server.url}/hops/2/usn.rss`);
    expect(fetched.body.length).toBe(USN_RSS.length);
  });

  it('refuses one redirect more than allowed', async () => {
    // hops/3 is 3 redirects to /hops/0, plus 1 more to /file: 4 > 3.
    await expect(fetchBounded(`${server.url}/hops/3/usn.rss`, LIMITS)).rejects.toMatchObject({ code: 'PD_FEED_REDIRECTS' });
  });

  it('stops a redirect loop', async () => {
    const before = server.requests.filter((p) => p === '/loop').length;
    const error = await fetchBounded(`${server.url}/loop`, LIMITS).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PD_FEED_REDIRECTS' });
    expect((error as Error).message).toContain('more than 3 times');
    expect(server.requests.filter((p) => p === '/loop').length - before).toBe(LIMITS.maxRedirects + 1);
  });

  it('refuses a body whose declared length is over the limit without reading it', async () => {
    await expect(fetchBounded(`${server.url}/huge?declared=1`, LIMITS)).rejects.toMatchObject({ code: 'PD_FEED_TOO_LARGE' });
  });

  it('stops reading an undeclared endless body at the byte limit', async () => {
    const started = Date.now();
    const error = await fetchBounded(`${server.url}/huge`, LIMITS).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PD_FEED_TOO_LARGE' });
    expect((error as Error).message).toContain(`larger than ${LIMITS.maxBytes} bytes`);
    expect(Date.now() - started).toBeLessThan(LIMITS.timeoutMs);
  });

  it('times out a body that never ends, counting the whole exchange', async () => {
    const started = Date.now();
    const error = await fetchBounded(`${server.url}/slow`, { ...LIMITS, timeoutMs: 500 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PD_FEED_TIMEOUT' });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(3000);
  });

  it('times out a server that never answers', async () => {
    await expect(fetchBounded(`${server.url}/hang`, { ...LIMITS, timeoutMs: 300 })).rejects.toMatchObject({ code: 'PD_FEED_TIMEOUT' });
  });

  it('reports HTTP errors with the status, and Retry-After for 429', async () => {
    const tooMany = await fetchBounded(`${server.url}/status/429`, LIMITS).catch((e: unknown) => e);
    expect(tooMany).toMatchObject({ code: 'PD_FEED_HTTP', details: { httpStatus: 429, retryAfter: '120' } });
    expect((tooMany as Error).message).toContain('HTTP 429 (Retry-After: 120)');
    await expect(fetchBounded(`${server.url}/status/500`, LIMITS)).rejects.toMatchObject({ code: 'PD_FEED_HTTP', details: { httpStatus: 500 } });
    await expect(fetchBounded(`${server.url}/file/missing`, LIMITS)).rejects.toMatchObject({ code: 'PD_FEED_HTTP', details: { httpStatus: 404 } });
  });

  it('reports a refused connection', async () => {
    const port = await closedPort();
    await expect(fetchBounded(`http://127.0.0.1:${port}/feed`, LIMITS)).rejects.toMatchObject({ code: 'PD_FEED_UNREACHABLE' });
  });

  it('fetches only http and https URLs', async () => {
    await expect(fetchBounded('file:///etc/passwd', LIMITS)).rejects.toMatchObject({ code: 'PD_FEED_URL' });
    await expect(fetchBounded('not a url', LIMITS)).rejects.toMatchObject({ code: 'PD_FEED_URL' });
    await expect(fetchBounded(`${server.url}/redirect?to=file:///etc/passwd`, LIMITS)).rejects.toMatchObject({ code: 'PD_FEED_URL' });
  });
});
