import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

/**
 * The console's session: a cookie holding who signed in, how, when they last proved it at the identity
 * provider and the session's CSRF token, signed with HMAC-SHA256 so it cannot be forged or edited.
 * In `demo` mode the person was merely picked (not authentication); in `oidc` mode `authTime` is the
 * provider's `auth_time`. Anonymous visitors get a session too (person null), so forms carry a CSRF token.
 */
export interface WebSession {
  personId: string | null;
  csrf: string;
  /** Milliseconds since the epoch, from the workflow clock. */
  issuedAt: number;
  /** The session ends here (ms since the epoch), whatever the cookie's Max-Age says. */
  expiresAt: number;
  /** How the person signed in; null for an anonymous session. */
  method: 'demo' | 'oidc' | null;
  /** When the person last authenticated at the provider (ms since the epoch); null unless `method` is oidc. */
  authTime: number | null;
}

export interface SessionIdentity {
  personId: string | null;
  method?: 'demo' | 'oidc';
  authTime?: number;
}

export const SESSION_COOKIE = 'pd_session';
export const SESSION_MAX_AGE_MS = 12 * 3_600_000;

export interface SessionManager {
  /** The valid session the request carries, or null (absent, tampered with, expired). */
  read(req: Request): WebSession | null;
  /** Writes a new session cookie (a fresh CSRF token each time: sign-in rotates it). */
  issue(res: Response, identity: SessionIdentity): WebSession;
  /** Writes a short-lived signed cookie (e.g. a sign-in in progress); `maxAgeMs` bounds it. */
  seal(res: Response, name: string, value: unknown, maxAgeMs: number): void;
  /** The value of a cookie written by `seal`, or null (absent, tampered with, expired). */
  unseal(req: Request, name: string): unknown;
  /** Deletes a cookie written by `seal`. */
  clear(res: Response, name: string): void;
  /** The request's session, or a new anonymous one written to the response. */
  ensure(req: Request, res: Response): WebSession;
  /** Constant-time comparison of a submitted form token with the session's. */
  checkCsrf(session: WebSession, submitted: unknown): boolean;
}

export interface SessionOptions {
  /** config.web.sessionSecret; without it a random per-process secret (sessions end on restart). */
  secret: string | undefined;
  secureCookie: boolean;
  now: () => Date;
}

export function createSessionManager(options: SessionOptions): SessionManager {
  const key = options.secret !== undefined ? Buffer.from(options.secret, 'utf8') : randomBytes(32);
  const sign = (body: string) => createHmac('sha256', key).update(body).digest();

  // The cookie name is signed too, so a value sealed for one cookie cannot be replayed as another.
  const encode = (name: string, value: unknown): string => {
    const body = `v2.${Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')}`;
    return `${body}.${sign(`${name}:${body}`).toString('base64url')}`;
  };

  const verified = (name: string, value: string): unknown => {
    const cut = value.lastIndexOf('.');
    if (cut <= 0 || !value.startsWith('v2.')) return null;
    const body = value.slice(0, cut);
    const given = Buffer.from(value.slice(cut + 1), 'base64url');
    const expected = sign(`${name}:${body}`);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    try {
      return JSON.parse(Buffer.from(body.slice(3), 'base64url').toString('utf8')) as unknown;
    } catch {
      return null;
    }
  };

  const decode = (value: string): WebSession | null => {
    const parsed = verified(SESSION_COOKIE, value);
    if (typeof parsed !== 'object' || parsed === null) return null;
    const { personId, csrf, issuedAt, expiresAt, method, authTime } = parsed as Record<string, unknown>;
    if ((personId !== null && typeof personId !== 'string') || typeof csrf !== 'string' || typeof issuedAt !== 'number' || typeof expiresAt !== 'number') return null;
    if (method !== null && method !== 'demo' && method !== 'oidc') return null;
    if (authTime !== null && typeof authTime !== 'number') return null;
    const now = options.now().getTime();
    if (now >= expiresAt || issuedAt - now > SESSION_MAX_AGE_MS) return null;
    return { personId, csrf, issuedAt, expiresAt, method, authTime };
  };

  const attributes = (maxAgeMs: number): string => {
    const list = ['Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${Math.max(0, Math.floor(maxAgeMs / 1000))}`];
    if (options.secureCookie) list.push('Secure');
    return list.join('; ');
  };

  const read = (req: Request): WebSession | null => {
    const raw = readCookie(req, SESSION_COOKIE);
    return raw === null ? null : decode(raw);
  };

  const issue = (res: Response, identity: SessionIdentity): WebSession => {
    const now = options.now().getTime();
    const session: WebSession = {
      personId: identity.personId,
      csrf: randomBytes(24).toString('base64url'),
      issuedAt: now,
      expiresAt: now + SESSION_MAX_AGE_MS,
      method: identity.personId === null ? null : (identity.method ?? 'demo'),
      authTime: identity.personId !== null && identity.method === 'oidc' ? (identity.authTime ?? null) : null,
    };
    res.append('Set-Cookie', `${SESSION_COOKIE}=${encode(SESSION_COOKIE, session)}; ${attributes(SESSION_MAX_AGE_MS)}`);
    return session;
  };

  return {
    read,
    issue,
    seal(res, name, value, maxAgeMs) {
      const sealed = { value, expiresAt: options.now().getTime() + maxAgeMs };
      res.append('Set-Cookie', `${name}=${encode(name, sealed)}; ${attributes(maxAgeMs)}`);
    },
    unseal(req, name) {
      const raw = readCookie(req, name);
      const sealed = raw === null ? null : verified(name, raw);
      if (typeof sealed !== 'object' || sealed === null) return null;
      const { value, expiresAt } = sealed as { value?: unknown; expiresAt?: unknown };
      return typeof expiresAt === 'number' && options.now().getTime() < expiresAt ? (value ?? null) : null;
    },
    clear(res, name) {
      res.append('Set-Cookie', `${name}=; ${attributes(0)}`);
    },
    ensure: (req, res) => read(req) ?? issue(res, { personId: null }),
    checkCsrf(session, submitted) {
      if (typeof submitted !== 'string' || submitted.length === 0) return false;
      const a = Buffer.from(submitted, 'utf8');
      const b = Buffer.from(session.csrf, 'utf8');
      return a.length === b.length && timingSafeEqual(a, b);
    },
  };
}

function readCookie(req: Request, name: string): string | null {
  const header = req.get('cookie');
  if (header === undefined) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/**
 * True when a browser tells us the POST comes from another site: `Sec-Fetch-Site` other than
 * same-origin/none, or an `Origin` that is neither the public URL's nor the Host the request was sent to.
 * Clients that send neither header (curl, scripts) are judged by the CSRF token alone.
 */
export function isCrossOriginPost(req: Request, publicUrl: string): boolean {
  const fetchSite = req.get('sec-fetch-site');
  if (fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none') return true;
  const origin = req.get('origin');
  if (origin === undefined) return false;
  const allowed = new Set<string>([new URL(publicUrl).origin]);
  const host = req.get('host');
  if (host !== undefined) allowed.add(`${req.protocol}://${host}`);
  return !allowed.has(origin);
}
