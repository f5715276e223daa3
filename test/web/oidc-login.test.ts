import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { fixedClock } from '../../src/core/clock.js';
import { listAudit } from '../../src/store/audit.js';
import { createWebApp } from '../../src/web/app.js';
import { FAKE_OIDC_CLIENT_SECRET, startFakeOidc, type FakeOidc } from '../helpers/fake-oidc.js';
import { followProvider, oidcSignIn, oidcWebConfig } from '../helpers/oidc-browser.js';
import { describeEachStore } from '../helpers/stores.js';
import { createTestContext, listen, NOW, PEOPLE } from './seed.js';

const OIDC_PEOPLE = [
  { ...PEOPLE[0]!, email: 'Alice@Example.org' },
  { ...PEOPLE[1]!, email: 'bob@example.org', oidcSubject: 'bob-subject' },
  PEOPLE[2]!,
];

describeEachStore('web console sign-in with OpenID Connect', (db) => {
  let fake: FakeOidc;
  let server: { url: string; close: () => Promise<void> } | undefined;
  let ctx: ReturnType<typeof createTestContext>;
  let clock: ReturnType<typeof fixedClock>;

  const start = async (overrides: Record<string, unknown> = {}) => {
    ctx = { ...createTestContext(db.store, { people: OIDC_PEOPLE, web: oidcWebConfig(fake), ...overrides }), clock };
    server = await listen(createWebApp({ ctx, slackEnabled: false }));
    return server.url;
  };
  const signInAudit = async () => (await listAudit(db.store.db, { subjectType: 'person' })).filter((e) => e.action.startsWith('web.signin'));

  beforeEach(async () => {
    clock = fixedClock(NOW);
    fake = await startFakeOidc({ now: () => clock.now(), user: { sub: 'alice-subject', email: 'alice@example.org', name: 'Alice' } });
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await fake.close();
  });

  it('signs a person in by email with PKCE, state and nonce; the session cookie is HttpOnly, SameSite=Lax, expiring and signed', async () => {
    const url = await start();
    const login = await fetch(`${url}/login?next=/cases`, { redirect: 'manual' });
    expect(login.status).toBe(303);
    const pendingCookie = login.headers.getSetCookie().find((c) => c.startsWith('pd_oidc='))!;
    expect(pendingCookie).toMatch(/HttpOnly/);
    expect(pendingCookie).toMatch(/SameSite=Lax/);
    const trip = await followProvider(url, login);
    expect(trip.callback.status).toBe(303);
    expect(trip.callback.headers.get('location')).toBe('/cases');

    const asked = fake.authorizeRequests[0]!.params;
    expect(asked).toMatchObject({ response_type: 'code', scope: 'openid email profile', code_challenge_method: 'S256', redirect_uri: 'http://patchdeck.test/login/callback' });
    expect(asked.state!.length).toBeGreaterThan(20);
    expect(asked.nonce!.length).toBeGreaterThan(20);
    expect(asked.prompt).toBeUndefined();
    expect(fake.tokenRequests[0]!.code_verifier!.length).toBeGreaterThanOrEqual(43);

    expect(trip.sessionSetCookie).toMatch(/HttpOnly/);
    expect(trip.sessionSetCookie).toMatch(/SameSite=Lax/);
    expect(trip.sessionSetCookie).toMatch(/Max-Age=43200/);
    expect(trip.sessionSetCookie).not.toMatch(/Secure/);
    // The pending sign-in is single-use: the callback deletes it.
    expect(trip.callback.headers.getSetCookie().some((c) => c.startsWith('pd_oidc=;') && c.includes('Max-Age=0'))).toBe(true);

    const dashboard = await (await fetch(`${url}/`, { headers: { cookie: trip.session! } })).text();
    expect(dashboard).toContain('Alice Example');
    // An edited cookie is not a session.
    const [prefix, body, signature] = trip.session!.slice('pd_session='.length).split('.');
    const edited = Buffer.from(Buffer.from(body!, 'base64url').toString('utf8').replace('"alice"', '"carol"'), 'utf8').toString('base64url');
    const forged = await (await fetch(`${url}/`, { headers: { cookie: `pd_session=${prefix}.${edited}.${signature}` } })).text();
    expect(forged).not.toContain('Carol Checker');
    expect(forged).not.toContain('Alice Example');

    const audit = await signInAudit();
    expect(audit.map((e) => [e.action, e.actor])).toEqual([['web.signin', 'alice']]);
    expect(audit[0]!.after).toMatchObject({ method: 'oidc', subject: 'alice-subject', email: 'alice@example.org' });
  });

  it('marks the session cookie Secure when the public URL is https, and ends it after 12 hours', async () => {
    const url = await start({ publicUrl: 'https://patchdeck.test' });
    const trip = await followProvider(url, await fetch(`${url}/login`, { redirect: 'manual' }));
    expect(trip.sessionSetCookie).toMatch(/; Secure/);
    expect(fake.authorizeRequests[0]!.params.redirect_uri).toBe('https://patchdeck.test/login/callback');
    ctx.clock.advance(12 * 3_600_000);
    const later = await (await fetch(`${url}/`, { headers: { cookie: trip.session! } })).text();
    expect(later).not.toContain('Alice Example');
  });

  it('matches a configured oidcSubject before the email', async () => {
    fake.user = { sub: 'bob-subject', email: 'someone-else@example.org' };
    const url = await start();
    const cookie = await oidcSignIn(url);
    expect(await (await fetch(`${url}/`, { headers: { cookie } })).text()).toContain('Bob Builder');
  });

  it('refuses a callback whose state is not the one this browser started, and audits it', async () => {
    const url = await start();
    const trip = await followProvider(url, await fetch(`${url}/login`, { redirect: 'manual' }), {
      tamper: (callback) => callback.searchParams.set('state', 'attacker-state'),
    });
    expect(trip.callback.status).toBe(400);
    expect(await trip.callback.text()).toContain('does not belong to the sign-in this browser started');
    expect(trip.session).toBeNull();
    expect(fake.tokenRequests).toHaveLength(0);
    const audit = await signInAudit();
    expect(audit.map((e) => e.action)).toEqual(['web.signin.refused']);
    expect(audit[0]!.after).toMatchObject({ code: 'PD_OIDC_STATE' });
  });

  it('refuses a callback without the pending sign-in cookie (another browser)', async () => {
    const url = await start();
    const login = await fetch(`${url}/login`, { redirect: 'manual' });
    const atProvider = await fetch(login.headers.get('location')!, { redirect: 'manual' });
    const back = new URL(atProvider.headers.get('location')!);
    const response = await fetch(`${url}${back.pathname}${back.search}`, { redirect: 'manual' });
    expect(response.status).toBe(400);
    expect(response.headers.getSetCookie().some((c) => c.startsWith('pd_session=') && !c.startsWith('pd_session=;'))).toBe(false);
  });

  it('refuses an ID token whose nonce is not the one requested', async () => {
    const url = await start();
    fake.nonceOverride = 'a-nonce-from-another-sign-in';
    const trip = await followProvider(url, await fetch(`${url}/login`, { redirect: 'manual' }));
    expect(trip.callback.status).toBe(400);
    expect(await trip.callback.text()).toContain('Sign-in refused');
    expect(trip.session).toBeNull();
    const audit = await signInAudit();
    expect(audit.map((e) => e.action)).toEqual(['web.signin.refused']);
    expect(audit[0]!.after).toMatchObject({ code: 'PD_OIDC_REFUSED' });
    expect(String((audit[0]!.after as { reason: string }).reason)).toMatch(/unexpected JWT claim value/);
  });

  it('refuses an identity that is no Patchdeck person with a clear page and an audit event', async () => {
    fake.user = { sub: 'mallory-subject', email: 'mallory@example.org' };
    const url = await start();
    const trip = await followProvider(url, await fetch(`${url}/login`, { redirect: 'manual' }));
    expect(trip.callback.status).toBe(403);
    const html = await trip.callback.text();
    expect(html).toContain('mallory@example.org is not a Patchdeck person');
    expect(html).toContain('oidcSubject');
    expect(trip.session).toBeNull();
    const audit = await signInAudit();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: 'web.signin.refused', subjectId: 'oidc:mallory-subject' });
    expect(audit[0]!.after).toMatchObject({ code: 'PD_OIDC_UNKNOWN_PERSON', email: 'mallory@example.org', subject: 'mallory-subject' });
  });

  it('does not match an email the provider says is unverified', async () => {
    fake.user = { sub: 'x', email: 'alice@example.org', email_verified: false };
    const url = await start();
    const trip = await followProvider(url, await fetch(`${url}/login`, { redirect: 'manual' }));
    expect(trip.callback.status).toBe(403);
  });

  it('has no pick-a-person form in oidc mode', async () => {
    const url = await start();
    const response = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'person=alice' });
    expect(response.status).toBe(405);
    expect(response.headers.getSetCookie().some((c) => c.startsWith('pd_session=v2'))).toBe(false);
  });
});

describe('web.auth settings', () => {
  it('defaults to the demo mode with a 5 minute re-auth age', () => {
    expect(parseConfig({}).web.auth).toEqual({ mode: 'demo', reauthMaxAge: '5m' });
  });

  it('fails fast naming the setting at fault', () => {
    expect(() => parseConfig({ web: { auth: { mode: 'oidc' } } })).toThrow(/config setting "web.auth.oidc": mode "oidc" needs/);
    expect(() => parseConfig({ web: { auth: { mode: 'saml' } } })).toThrow(/config setting "web.auth.mode"/);
    expect(() => parseConfig({ web: { auth: { mode: 'oidc', oidc: { issuer: 'http://idp.example', clientId: 'x' } } } })).toThrow(/config setting "web.auth.oidc.issuer": the issuer must be an https URL/);
    expect(() => parseConfig({ web: { auth: { mode: 'oidc', oidc: { issuer: 'https://idp.example' } } } })).toThrow(/config setting "web.auth.oidc.clientId"/);
    expect(() => parseConfig({ web: { auth: { reauthMaxAge: '5 minutes' } } })).toThrow(/config setting "web.auth.reauthMaxAge"/);
  });

  it('takes the client secret from PATCHDECK_OIDC_CLIENT_SECRET', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pd-oidc-'));
    try {
      const file = path.join(dir, 'patchdeck.yaml');
      writeFileSync(file, 'web:\n  auth:\n    mode: oidc\n    oidc:\n      issuer: https://idp.example\n      clientId: patchdeck\n');
      const { config } = loadConfig({ file, env: { PATCHDECK_OIDC_CLIENT_SECRET: FAKE_OIDC_CLIENT_SECRET } });
      expect(config.web.auth.oidc).toMatchObject({ issuer: 'https://idp.example', clientId: 'patchdeck', clientSecret: FAKE_OIDC_CLIENT_SECRET });
      expect(loadConfig({ file, env: {} }).config.web.auth.oidc?.clientSecret).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
