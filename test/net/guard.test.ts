import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuardedAgent, fetchBounded, type FetchLimits } from '../../src/net/fetch.js';

const LIMITS: FetchLimits = { maxBytes: 64 * 1024, timeoutMs: 2000, maxRedirects: 3 };
const BODY = '{"ok": true}';

/** A loopback server: `/doc` honours ETag / Last-Modified, `/redirect?to=` redirects anywhere. */
let base: string;
let port: number;
const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  seen.push({ path: url.pathname, headers: req.headers });
  if (url.pathname === '/redirect') {
    res.writeHead(302, { location: url.searchParams.get('to') ?? '/' }).end();
    return;
  }
  if (url.pathname === '/doc') {
    const validators = { etag: '"v1"', 'last-modified': 'Sun, 22 Nov 2026 08:00:00 GMT' };
    if (req.headers['if-none-match'] === '"v1"' || req.headers['if-modified-since'] === validators['last-modified']) {
      res.writeHead(304, validators).end();
      return;
    }
    res.writeHead(200, { ...validators, 'content-type': 'application/json' }).end(BODY);
    return;
  }
  res.writeHead(404).end();
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function blocked(url: string, limits: FetchLimits = LIMITS) {
  const before = seen.length;
  const error = await fetchBounded(url, limits).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'PD_FEED_BLOCKED_ADDRESS', status: 403 });
  return { message: (error as Error).message, requests: seen.length - before };
}

describe('address guard', () => {
  it('refuses loopback by IP, by name, as IPv4-mapped IPv6 and as 0.0.0.0 without sending a request', async () => {
    const direct = await blocked(`${base}/doc`);
    expect(direct.message).toBe('refusing to fetch from 127.0.0.1: 127.0.0.1 is loopback. If this feed really is on an internal host, add it to config fetch.allowHosts');
    expect(direct.requests).toBe(0);
    const byName = await blocked(`http://localhost:${port}/doc`);
    expect(byName.message).toContain('localhost: it resolves to 127.0.0.1, loopback');
    expect(byName.requests).toBe(0);
    expect((await blocked(`http://[::ffff:127.0.0.1]:${port}/doc`)).message).toContain('IPv4-mapped form of 127.0.0.1');
    expect((await blocked(`http://0.0.0.0:${port}/doc`)).message).toContain('"this network"');
    expect((await blocked('http://169.254.169.254/latest/meta-data/')).message).toContain('link-local (cloud metadata');
    expect((await blocked('http://[fd00::1]/')).message).toContain('unique local');
  });

  it('refuses decimal, octal and hex spellings of an address even when the address is allowed', async () => {
    const allowed = { ...LIMITS, allowHosts: ['127.0.0.1'] };
    for (const host of ['2130706433', '0177.0.0.1', '0x7f.1', '127.1']) {
      const result = await blocked(`http://${host}:${port}/doc`, allowed);
      expect(result.message).toContain(`unusual IPv4 form in "http://${host}:${port}/doc"; write the address as 127.0.0.1`);
      expect(result.requests).toBe(0);
    }
  });

  it('lets a host in allowHosts through, by IP or by name', async () => {
    const byIp = await fetchBounded(`${base}/doc`, { ...LIMITS, allowHosts: ['127.0.0.1'] });
    expect(byIp.body.toString()).toBe(BODY);
    const byName = await fetchBounded(`http://localhost:${port}/doc`, { ...LIMITS, allowHosts: ['LOCALHOST'] });
    expect(byName.body.toString()).toBe(BODY);
    // An allowed address lets through a name that resolves to it; another loopback address stays refused.
    const resolved = await fetchBounded(`http://localhost:${port}/doc`, { ...LIMITS, allowHosts: ['127.0.0.1'] });
    expect(resolved.body.toString()).toBe(BODY);
    expect((await blocked(`http://127.0.0.2:${port}/doc`, { ...LIMITS, allowHosts: ['127.0.0.1', 'localhost'] })).message).toContain('127.0.0.2 is loopback');
  });

  it('checks every redirect hop', async () => {
    const limits = { ...LIMITS, allowHosts: ['localhost'] };
    const toMetadata = await blocked(`http://localhost:${port}/redirect?to=http://169.254.169.254/latest/`, limits);
    expect(toMetadata.requests).toBe(1);
    const toLoopbackIp = await blocked(`http://localhost:${port}/redirect?to=http://127.0.0.1:${port}/doc`, limits);
    expect(toLoopbackIp.message).toContain('127.0.0.1 is loopback');
    expect(toLoopbackIp.requests).toBe(1);
    await blocked(`http://localhost:${port}/redirect?to=http://0x7f.1:${port}/doc`, limits);
  });

  it('checks the address actually connected to, where no lookup happens', async () => {
    // Straight through the agent (no URL pre-check): an IP literal skips DNS, so only the socket check can refuse it.
    const guarded = createGuardedAgent({ allowHosts: [], connectTimeoutMs: 1000 });
    const before = seen.length;
    const error = await undiciFetch(`${base}/doc`, { dispatcher: guarded }).catch((e: unknown) => e);
    await guarded.destroy();
    expect(String((error as { cause?: Error }).cause)).toContain('connected to 127.0.0.1, loopback');
    expect(seen.length).toBe(before);
    const open = createGuardedAgent({ allowHosts: ['127.0.0.1'], connectTimeoutMs: 1000 });
    const response = await undiciFetch(`${base}/doc`, { dispatcher: open });
    expect(await response.text()).toBe(BODY);
    await open.destroy();
  });
});

describe('conditional GET', () => {
  const limits = { ...LIMITS, allowHosts: ['127.0.0.1'] };

  it('returns the validators and answers 304 as not modified with an empty body', async () => {
    const first = await fetchBounded(`${base}/doc`, limits);
    expect(first).toMatchObject({ status: 200, etag: '"v1"', lastModified: 'Sun, 22 Nov 2026 08:00:00 GMT' });
    expect(first.notModified).toBeUndefined();
    const again = await fetchBounded(`${base}/doc`, limits, { etag: first.etag, lastModified: first.lastModified });
    expect(again).toMatchObject({ status: 304, notModified: true, etag: '"v1"' });
    expect(again.body.length).toBe(0);
    const last = seen[seen.length - 1]!;
    expect(last.headers['if-none-match']).toBe('"v1"');
    expect(last.headers['if-modified-since']).toBe('Sun, 22 Nov 2026 08:00:00 GMT');
  });

  it('sends If-Modified-Since alone when there is no ETag, and nothing when there are no validators', async () => {
    const byDate = await fetchBounded(`${base}/doc`, limits, { lastModified: 'Sun, 22 Nov 2026 08:00:00 GMT' });
    expect(byDate.notModified).toBe(true);
    expect(seen[seen.length - 1]!.headers['if-none-match']).toBeUndefined();
    const plain = await fetchBounded(`${base}/doc`, limits, {});
    expect(plain.status).toBe(200);
    expect(seen[seen.length - 1]!.headers['if-modified-since']).toBeUndefined();
  });
});
