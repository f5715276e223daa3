import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PatchdeckError } from '../../src/core/errors.js';
import { downloadToFile } from '../../src/net/download.js';
import { createGuardedAgent, fetchBounded } from '../../src/net/fetch.js';
import { getFollowingRedirects } from '../../src/net/redirects.js';

/**
 * Two loopback servers on different hosts (127.0.0.1 and 127.0.0.2, both loopback on Linux).
 * `/to?url=…` redirects there; `/doc` answers a body; `/304` answers 304 whatever was sent.
 * Every request is recorded with its headers.
 */
interface Recorded {
  host: string;
  path: string;
  headers: IncomingHttpHeaders;
}
const seen: Recorded[] = [];
const servers: Server[] = [];
let a: string;
let b: string;

async function start(host: string): Promise<string> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push({ host, path: url.pathname, headers: req.headers });
    if (url.pathname === '/to') res.writeHead(302, { location: url.searchParams.get('url') ?? '/' }).end();
    else if (url.pathname === '/doc') res.writeHead(200, { 'content-type': 'text/plain', etag: '"v2"' }).end('document');
    else if (url.pathname === '/304') res.writeHead(304).end();
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  servers.push(server);
  return `http://${host}:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  a = await start('127.0.0.1');
  b = await start('127.0.0.2');
});
afterAll(async () => {
  for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  seen.length = 0;
});

const LIMITS = { maxBytes: 1024 * 1024, timeoutMs: 5000, maxRedirects: 3, allowHosts: ['127.0.0.1', '127.0.0.2'] };
const to = (base: string, target: string) => `${base}/to?url=${encodeURIComponent(target)}`;
const headersAt = (host: string, p: string) => seen.find((r) => r.host === host && r.path === p)?.headers;

describe('one redirect helper for feed fetches and downloads', () => {
  it('keeps conditional headers on a same-origin redirect', async () => {
    const result = await fetchBounded(to(a, `${a}/doc`), LIMITS, { etag: '"v1"', lastModified: 'Mon, 23 Nov 2026 09:00:00 GMT' });
    expect(result).toMatchObject({ status: 200, finalUrl: `${a}/doc`, body: Buffer.from('document') });
    expect(headersAt('127.0.0.1', '/doc')).toMatchObject({ 'if-none-match': '"v1"', 'if-modified-since': 'Mon, 23 Nov 2026 09:00:00 GMT' });
  });

  it('does not send conditional headers to another host, and then takes its 304 for an error, not "unchanged"', async () => {
    const fetched = await fetchBounded(to(a, `${b}/doc`), LIMITS, { etag: '"v1"', lastModified: 'Mon, 23 Nov 2026 09:00:00 GMT' });
    expect(fetched.body.toString()).toBe('document');
    expect(headersAt('127.0.0.1', '/to')).toMatchObject({ 'if-none-match': '"v1"' });
    const atB = headersAt('127.0.0.2', '/doc')!;
    expect(atB['if-none-match']).toBeUndefined();
    expect(atB['if-modified-since']).toBeUndefined();

    await expect(fetchBounded(to(a, `${b}/304`), LIMITS, { etag: '"v1"' })).rejects.toMatchObject({ code: 'PD_FEED_HTTP', details: { httpStatus: 304 } });
  });

  it('drops credentials at the first hop to another origin and never sends them again, even back home', async () => {
    const agent = createGuardedAgent({ allowHosts: LIMITS.allowHosts, connectTimeoutMs: 2000 });
    const fail = (what: string) => () => new PatchdeckError('PD_TEST', what);
    try {
      const outcome = await getFollowingRedirects({
        url: to(a, to(b, `${a}/doc`)),
        headers: { Authorization: 'Bearer secret', cookie: 'session=1', accept: 'text/plain' },
        maxRedirects: 3,
        allowHosts: LIMITS.allowHosts,
        dispatcher: agent,
        signal: new AbortController().signal,
        failures: { connect: fail('connect'), url: (error) => error, noLocation: fail('noLocation'), tooManyRedirects: fail('tooMany') },
      });
      await outcome.response.body?.cancel();
      expect(outcome.url.href).toBe(`${a}/doc`);
      expect(outcome.sent).toEqual({ accept: 'text/plain' });
    } finally {
      await agent.destroy();
    }
    expect(seen.map((r) => `${r.host}${r.path}`)).toEqual(['127.0.0.1/to', '127.0.0.2/to', '127.0.0.1/doc']);
    expect(seen[0]!.headers).toMatchObject({ authorization: 'Bearer secret', cookie: 'session=1' });
    for (const later of seen.slice(1)) {
      expect(later.headers.authorization).toBeUndefined();
      expect(later.headers.cookie).toBeUndefined();
      expect(later.headers.accept).toBe('text/plain');
    }
  });

  it('artifact downloads follow the same hops, with their own codes for too many and for blocked targets', async () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'patchdeck-redirects-'));
    try {
      const file = path.join(scratch, 'doc');
      const downloaded = await downloadToFile(to(a, `${b}/doc`), file, LIMITS);
      expect(downloaded).toMatchObject({ finalUrl: `${b}/doc`, size: 8 });
      expect(readFileSync(file, 'utf8')).toBe('document');

      const loop = to(a, to(a, to(a, to(a, `${a}/doc`))));
      await expect(downloadToFile(loop, path.join(scratch, 'loop'), LIMITS)).rejects.toMatchObject({ code: 'PD_ARTIFACT_REDIRECTS' });
      // A hop to a host that is not allowed is refused by the URL check before connecting.
      await expect(downloadToFile(to(a, 'http://10.0.0.1/doc'), path.join(scratch, 'blocked'), LIMITS)).rejects.toMatchObject({
        code: 'PD_ARTIFACT_BLOCKED_ADDRESS',
      });
      await expect(downloadToFile(to(a, 'ftp://example.test/doc'), path.join(scratch, 'ftp'), LIMITS)).rejects.toMatchObject({ code: 'PD_ARTIFACT_URL' });
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
