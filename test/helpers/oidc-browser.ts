import type { FakeOidc } from './fake-oidc.js';
import { FAKE_OIDC_CLIENT_ID, FAKE_OIDC_CLIENT_SECRET } from './fake-oidc.js';

/** The `web` config block of an app that signs in at the fake provider. */
export function oidcWebConfig(fake: FakeOidc, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sessionSecret: 'test-session-secret-0123456789',
    auth: { mode: 'oidc', oidc: { issuer: fake.issuer, clientId: FAKE_OIDC_CLIENT_ID, clientSecret: FAKE_OIDC_CLIENT_SECRET, allowHttpIssuer: true }, ...extra },
  };
}

function cookieNamed(response: Response, name: string): string | null {
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  return cookie === undefined ? null : cookie;
}

export interface ProviderRoundTrip {
  /** The app's answer to the callback. */
  callback: Response;
  /** `pd_session=…` set by the callback, or null. */
  session: string | null;
  /** The full Set-Cookie line of the session (to check its attributes). */
  sessionSetCookie: string | null;
  /** The provider's redirect back, as the browser would follow it (before any tampering). */
  callbackUrl: URL;
}

/**
 * Follows a redirect to the provider as a browser would: keeps the pending sign-in cookie, lets the
 * fake provider redirect back and opens the callback on the app (whose public URL is a placeholder,
 * so the callback's origin is swapped for the app's). `tamper` may edit the callback URL first.
 */
export async function followProvider(appUrl: string, toProvider: Response, options: { cookie?: string; tamper?: (url: URL) => void } = {}): Promise<ProviderRoundTrip> {
  if (toProvider.status !== 303) throw new Error(`expected a redirect to the provider, got ${toProvider.status}`);
  const pending = cookieNamed(toProvider, 'pd_oidc');
  if (pending === null) throw new Error('no pending sign-in cookie');
  const atProvider = await fetch(toProvider.headers.get('location')!, { redirect: 'manual' });
  if (atProvider.status !== 302) throw new Error(`the provider answered ${atProvider.status}: ${await atProvider.text()}`);
  const back = new URL(atProvider.headers.get('location')!);
  const callbackUrl = new URL(`${appUrl}${back.pathname}${back.search}`);
  options.tamper?.(callbackUrl);
  const cookies = [pending.split(';')[0]!, ...(options.cookie ? [options.cookie] : [])].join('; ');
  const callback = await fetch(callbackUrl, { redirect: 'manual', headers: { cookie: cookies, accept: 'text/html' } });
  const sessionSetCookie = cookieNamed(callback, 'pd_session');
  return { callback, session: sessionSetCookie?.split(';')[0] ?? null, sessionSetCookie, callbackUrl: back };
}

/** Signs in at the app through the fake provider; returns the session cookie. */
export async function oidcSignIn(appUrl: string, next = '/'): Promise<string> {
  const start = await fetch(`${appUrl}/login?next=${encodeURIComponent(next)}`, { redirect: 'manual' });
  const trip = await followProvider(appUrl, start);
  if (trip.callback.status !== 303 || trip.session === null) throw new Error(`sign-in answered ${trip.callback.status}: ${await trip.callback.text()}`);
  return trip.session;
}
