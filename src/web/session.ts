import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

/**
 * The console's demo sign-in: a cookie holding who signed in and the session's CSRF token, signed with
 * HMAC-SHA256 so it cannot be forged or edited. It is NOT authentication: anyone who reaches the login
 * page may pick any configured person. Anonymous visitors get a session too (person null), so the
 * login form itself carries a CSRF token.
 */
export interface WebSession {
  personId: string | null;
  csrf: string;
  /** Milliseconds since the epoch, from the workflow clock. */
  issuedAt: number;
}

export const SESSION_COOKIE = 'pd_session';
export const SESSION_MAX_AGE_MS = 12 * 3_600_000;

export interface SessionManager {
  /** The valid session the request carries, or null (absent, tampered with, expired). */
  read(req: Request): WebSession | null;
  /** Writes a new session cookie (a fresh CSRF token each time: sign-in rotates it). */
  issue(res: Response, personId: string | null): WebSession;
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

  const encode = (session: WebSession): string => {
    const body = `v1.${Buffer.from(JSON.stringify(session), 'utf8').toString('base64url')}`;
    return `${body}.${sign(body).toString('base64url')}`;
  };

  const decode = (value: string): WebSession | null => {
    const cut = value.lastIndexOf('.');
    if (cut <= 0 || !value.startsWith('v1.')) return null;
    const body = value.slice(0, cut);
    const given = Buffer.from(value.slice(cut + 1), 'base64url');
    const expected = sign(body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body.slice(3), 'base64url').toString('utf8'));
    } catch {
      return null;
    }
    if (typeof parsed !== 'object' || parsed === null) return null;
    const { personId, csrf, issuedAt } = parsed as Record<string, unknown>;
    if ((personId !== null && typeof personId !== 'string') || typeof csrf !== 'string' || typeof issuedAt !== 'number') return null;
    const age = options.now().getTime() - issuedAt;
    if (age > SESSION_MAX_AGE_MS || age < -SESSION_MAX_AGE_MS) return null;
    return { personId, csrf, issuedAt };
  };

  const read = (req: Request): WebSession | null => {
    const raw = readCookie(req, SESSION_COOKIE);
    return raw === null ? null : decode(raw);
  };

  const issue = (res: Response, personId: string | null): WebSession => {
    const session: WebSession = { personId, csrf: randomBytes(24).toString('base64url'), issuedAt: options.now().getTime() };
    const attributes = ['Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${SESSION_MAX_AGE_MS / 1000}`];
    if (options.secureCookie) attributes.push('Secure');
    res.append('Set-Cookie', `${SESSION_COOKIE}=${encode(session)}; ${attributes.join('; ')}`);
    return session;
  };

  return {
    read,
    issue,
    ensure: (req, res) => read(req) ?? issue(res, null),
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
