import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/app/logger.js';
import { createRuntime, type Runtime } from '../../src/app/runtime.js';
import { startServer } from '../../src/app/server.js';
import { parseConfig } from '../../src/config/load.js';
import { fixedClock } from '../../src/core/clock.js';
import { migrateToLatest, openStore } from '../../src/store/db.js';
import { checkOidcIssuer } from '../../src/web/oidc.js';
import { startFakeOidc, type FakeOidc } from '../helpers/fake-oidc.js';
import { oidcWebConfig } from '../helpers/oidc-browser.js';

const NOW = '2026-11-23T09:00:00.000Z';

let fake: FakeOidc;
let runtime: Runtime | null = null;

beforeEach(async () => {
  fake = await startFakeOidc({ now: () => new Date(NOW), user: { sub: 'alice-subject' } });
});
afterEach(async () => {
  await runtime?.close();
  runtime = null;
  await fake.close();
});

const runtimeWithIssuer = async (issuer: string): Promise<Runtime> => {
  const store = await openStore('sqlite::memory:');
  await migrateToLatest(store);
  const web = oidcWebConfig(fake) as { auth: { oidc: { issuer: string } } };
  web.auth.oidc.issuer = issuer;
  runtime = await createRuntime({ config: parseConfig({ web }), clock: fixedClock(NOW), logger: createSilentLogger(), store });
  return runtime;
};

it('starts when the configured issuer answers its discovery document', async () => {
  const server = await startServer(await runtimeWithIssuer(fake.issuer), { port: 0, host: '127.0.0.1', worker: false, scheduler: false });
  try {
    expect((await fetch(`${server.url}/login`, { redirect: 'manual' })).status).toBe(303);
  } finally {
    await server.stop();
  }
});

it('refuses to start, fast, with PD_OIDC_ISSUER naming web.auth.oidc.issuer when the issuer URL is wrong', async () => {
  const port = Number(new URL(fake.issuer).port);
  const cases: [string, RegExp][] = [
    // The fake answers 404 under another path.
    [`${fake.issuer}/realms/wrong`, /answered HTTP 404 at http:\/\/127\.0\.0\.1:\d+\/realms\/wrong\/\.well-known\/openid-configuration/],
    // The same provider under another host name: the ID tokens would name another issuer.
    [`http://localhost:${port}`, /describes itself as issuer "http:\/\/127\.0\.0\.1:\d+", not the configured "http:\/\/localhost:\d+"/],
  ];
  for (const [issuer, reason] of cases) {
    const started = Date.now();
    const rt = await runtimeWithIssuer(issuer);
    await expect(startServer(rt, { port: 0, host: '127.0.0.1', worker: false, scheduler: false })).rejects.toMatchObject({
      code: 'PD_OIDC_ISSUER',
      message: expect.stringMatching(reason),
    });
    await expect(startServer(rt, { port: 0, host: '127.0.0.1', worker: false, scheduler: false })).rejects.toThrow(/config setting "web\.auth\.oidc\.issuer"/);
    expect(Date.now() - started).toBeLessThan(5_000);
    await rt.close();
    runtime = null;
  }
});

it('names an unreachable provider, a non-JSON answer and a provider that does not answer in time', async () => {
  const closed = await startFakeOidc({ now: () => new Date(NOW), user: { sub: 'x' } });
  await closed.close();
  await expect(checkOidcIssuer(closed.issuer)).rejects.toMatchObject({ code: 'PD_OIDC_ISSUER', message: expect.stringContaining('could not be reached (ECONNREFUSED)') });

  const html: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>sign in</html>'));
  await new Promise<void>((resolve) => html.listen(0, '127.0.0.1', resolve));
  const htmlIssuer = `http://127.0.0.1:${(html.address() as AddressInfo).port}`;
  try {
    await expect(checkOidcIssuer(htmlIssuer)).rejects.toMatchObject({ code: 'PD_OIDC_ISSUER', message: expect.stringContaining('did not answer JSON') });
  } finally {
    await new Promise((resolve) => html.close(resolve));
  }

  const silent: typeof fetch = (_url, init) => new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)));
  await expect(checkOidcIssuer(fake.issuer, { fetch: silent, timeoutMs: 50 })).rejects.toMatchObject({ code: 'PD_OIDC_ISSUER', message: expect.stringContaining('did not answer within 0.05 s') });
});
