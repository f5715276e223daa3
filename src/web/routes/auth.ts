import express, { type Application, type Request, type Response } from 'express';
import { parseDurationMs, type Config } from '../../config/schema.js';
import { isPatchdeckError } from '../../core/errors.js';
import { findPersonById, findPersonByOidcIdentity } from '../../core/people.js';
import { recordWebSignIn } from '../../workflow/sign-in.js';
import { checkOidcIssuer, createOidcClient, oidcRedirectUrl, type PendingSignIn } from '../oidc.js';
import { isCrossOriginPost } from '../session.js';
import { readViewer, sendErrorPage, sendPage, type WebAuth, type WebContext } from '../web-context.js';

/** The cookie holding a sign-in in progress (state, nonce, PKCE verifier), signed, for 10 minutes. */
export const PENDING_SIGNIN_COOKIE = 'pd_oidc';
const PENDING_SIGNIN_MAX_AGE_MS = 10 * 60_000;
/** A provider clock this far ahead of ours still counts as a fresh sign-in. */
const AUTH_TIME_SKEW_MS = 60_000;

export function createWebAuth(config: Config, oidcFetch?: typeof fetch): WebAuth {
  const auth = config.web.auth;
  const reauthMaxAgeMs = parseDurationMs(auth.reauthMaxAge);
  if (auth.mode !== 'oidc' || auth.oidc === undefined) return { mode: 'demo', oidc: null, callbackPath: '/login/callback', reauthMaxAgeMs };
  const redirectUrl = oidcRedirectUrl(config.publicUrl, auth.oidc.redirectUrl);
  const settings = { issuer: auth.oidc.issuer, clientId: auth.oidc.clientId, clientSecret: auth.oidc.clientSecret, redirectUrl, allowHttpIssuer: auth.oidc.allowHttpIssuer };
  return { mode: 'oidc', oidc: createOidcClient(settings, oidcFetch ? { fetch: oidcFetch } : {}), callbackPath: new URL(redirectUrl).pathname, reauthMaxAgeMs };
}

/** In oidc mode, fails (PD_OIDC_ISSUER) unless the configured provider answers its discovery document; run once at start-up. */
export async function checkWebAuthProvider(config: Config, oidcFetch?: typeof fetch): Promise<void> {
  const auth = config.web.auth;
  if (auth.mode === 'oidc' && auth.oidc !== undefined) await checkOidcIssuer(auth.oidc.issuer, oidcFetch ? { fetch: oidcFetch } : {});
}

/** True when the provider sign-in behind this auth time is recent enough for a critical vote. */
export function isFreshAuthentication(web: WebContext, authTime: number | null): boolean {
  if (authTime === null) return false;
  const now = web.ctx.clock.now().getTime();
  return authTime >= now - web.auth.reauthMaxAgeMs && authTime <= now + AUTH_TIME_SKEW_MS;
}

/**
 * Sends the browser to the provider to sign in, then back to `next`. `forceLogin` asks for a new
 * login (`prompt=login`, `max_age` = web.auth.reauthMaxAge) for a critical vote.
 */
export async function redirectToProvider(web: WebContext, res: Response, next: string, forceLogin: boolean): Promise<void> {
  if (web.auth.oidc === null) throw new Error('redirectToProvider called in demo mode');
  const { url, pending } = await web.auth.oidc.start({ next, ...(forceLogin ? { forceLoginMaxAgeSeconds: Math.floor(web.auth.reauthMaxAgeMs / 1000) } : {}) });
  web.sessions.seal(res, PENDING_SIGNIN_COOKIE, pending, PENDING_SIGNIN_MAX_AGE_MS);
  res.redirect(303, url.href);
}

function readPending(value: unknown): PendingSignIn | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.state !== 'string' || typeof v.nonce !== 'string' || typeof v.verifier !== 'string' || typeof v.next !== 'string' || typeof v.forced !== 'boolean') return null;
  return { state: v.state, nonce: v.nonce, verifier: v.verifier, next: safeNextPath(v.next), forced: v.forced };
}

export const formBody = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });

export function formFields(req: Request): Record<string, unknown> {
  return typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {};
}

/** Where to go after signing in: only a path on this site, never `//other.example` or a full URL. */
export function safeNextPath(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.includes('\\') || value.length > 200) return '/';
  return value;
}

/** Refuses a POST from another site or without this session's form token; true when refused. */
export function refuseForgedPost(web: WebContext, req: Request, res: Response): boolean {
  if (isCrossOriginPost(req, web.ctx.config.publicUrl)) {
    sendErrorPage(web, req, res, 403, 'Request refused', 'This form was sent from another site. Open Patchdeck directly and try again.');
    return true;
  }
  const session = web.sessions.read(req);
  if (!session || !web.sessions.checkCsrf(session, formFields(req).csrf)) {
    sendErrorPage(web, req, res, 403, 'Form expired', 'This form has expired or did not come from this page. Reload the page and try again.');
    return true;
  }
  return false;
}

function renderLogin(web: WebContext, req: Request, res: Response, status: number, error: string | null, next: string): void {
  const session = web.sessions.ensure(req, res);
  const viewer = readViewer(web, req);
  const people = web.ctx.config.people.map((p) => ({ id: p.id, name: p.name, groups: p.groups.join(', ') }));
  sendPage(web, res, 'login', { status, title: 'Sign in', viewer }, { people, csrf: session.csrf, next, error, approversGroup: web.ctx.config.approvals.approversGroup });
}

export function registerAuthRoutes(app: Application, web: WebContext): void {
  if (web.auth.mode === 'oidc') registerOidcRoutes(app, web);
  else registerDemoRoutes(app, web);

  app.post('/logout', formBody, (req, res) => {
    if (refuseForgedPost(web, req, res)) return;
    web.sessions.issue(res, { personId: null });
    res.redirect(303, '/');
  });
}

function registerDemoRoutes(app: Application, web: WebContext): void {
  app.get('/login', (req, res) => {
    renderLogin(web, req, res, 200, null, safeNextPath(req.query.next));
  });

  app.post('/login', formBody, (req, res) => {
    if (refuseForgedPost(web, req, res)) return;
    const fields = formFields(req);
    const next = safeNextPath(fields.next);
    const person = typeof fields.person === 'string' ? findPersonById(web.ctx.config.people, fields.person) : null;
    if (!person) {
      renderLogin(web, req, res, 400, 'Choose one of the people listed below.', next);
      return;
    }
    web.sessions.issue(res, { personId: person.id, method: 'demo' });
    web.ctx.logger.info({ person: person.id }, 'web console sign-in');
    res.redirect(303, next);
  });
}

function registerOidcRoutes(app: Application, web: WebContext): void {
  app.get('/login', async (req, res) => {
    await redirectToProvider(web, res, safeNextPath(req.query.next), false);
  });

  app.post('/login', (req, res) => {
    sendErrorPage(web, req, res, 405, 'Sign in at your provider', 'This console signs people in at the organisation\'s identity provider. Open the sign-in page and follow the link.');
  });

  app.get(web.auth.callbackPath, async (req, res) => {
    const pending = readPending(web.sessions.unseal(req, PENDING_SIGNIN_COOKIE));
    web.sessions.clear(res, PENDING_SIGNIN_COOKIE);
    const refuse = async (status: number, code: string, reason: string, identity: { subject?: string; email?: string | null } = {}) => {
      await recordWebSignIn(web.ctx, { personId: null, method: 'oidc', ...identity, refusal: { code, reason }, reauth: pending?.forced ?? false });
      sendErrorPage(web, req, res, status, 'Sign-in refused', reason);
    };
    if (pending === null) {
      await refuse(400, 'PD_OIDC_NO_PENDING', 'This sign-in has expired or was started in another browser. Open the sign-in page and try again.');
      return;
    }
    const query = new URL(req.originalUrl, 'http://callback.invalid').search;
    const params = new URLSearchParams(query);
    if (params.get('state') !== pending.state) {
      await refuse(400, 'PD_OIDC_STATE', 'This sign-in answer does not belong to the sign-in this browser started. Open the sign-in page and try again.');
      return;
    }
    const providerError = params.get('error');
    if (providerError !== null) {
      await refuse(400, 'PD_OIDC_PROVIDER_ERROR', `The identity provider did not sign you in (${providerError.slice(0, 100)}). Open the sign-in page and try again.`);
      return;
    }
    let identity;
    try {
      identity = await web.auth.oidc!.finish(query, pending);
    } catch (error) {
      if (!isPatchdeckError(error) || error.code !== 'PD_OIDC_REFUSED') throw error;
      await refuse(400, error.code, error.message);
      return;
    }
    const who = { subject: identity.subject, email: identity.email };
    const person = findPersonByOidcIdentity(web.ctx.config.people, identity);
    if (!person) {
      const shown = identity.email ?? identity.subject;
      await refuse(
        403,
        'PD_OIDC_UNKNOWN_PERSON',
        `${shown} is not a Patchdeck person. Ask an administrator to add you to "people" in the config with this email (or your account's subject as oidcSubject).`,
        who,
      );
      return;
    }
    if (pending.forced && !isFreshAuthentication(web, identity.authTime)) {
      await refuse(403, 'PD_OIDC_NOT_FRESH', 'The identity provider did not confirm a new sign-in, which this decision needs. Try again, or ask an administrator whether the provider honours prompt=login.', who);
      return;
    }
    web.sessions.issue(res, { personId: person.id, method: 'oidc', ...(identity.authTime === null ? {} : { authTime: identity.authTime }) });
    await recordWebSignIn(web.ctx, { personId: person.id, method: 'oidc', ...who, reauth: pending.forced });
    res.redirect(303, pending.next);
  });
}
