import * as client from 'openid-client';
import { PatchdeckError } from '../core/errors.js';

/** The OpenID Connect settings of the web console (config `web.auth.oidc`, secret possibly from the environment). */
export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret?: string | undefined;
  /** Absolute URL the provider sends the browser back to; registered at the provider. */
  redirectUrl: string;
  allowHttpIssuer: boolean;
}

/** What the browser has to bring back to finish a sign-in: kept in a signed, short-lived cookie. */
export interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
  /** Path on this site to go to afterwards (already checked by safeNextPath). */
  next: string;
  /** True when the provider was asked for a fresh login (`prompt=login`, `max_age`). */
  forced: boolean;
}

export interface OidcIdentity {
  subject: string;
  email: string | null;
  /** False only when the provider says the email is not verified (`email_verified: false`). */
  emailVerified: boolean;
  name: string | null;
  /** The provider's `auth_time` in milliseconds since the epoch, or null when it sent none. */
  authTime: number | null;
}

export interface OidcClient {
  /** The provider's authorization URL for a new sign-in, with PKCE (S256), state and nonce. */
  start(options: { next: string; forceLoginMaxAgeSeconds?: number }): Promise<{ url: URL; pending: PendingSignIn }>;
  /** Exchanges the code of the callback (its query string) and checks state, nonce, PKCE and the ID token. */
  finish(callbackQuery: string, pending: PendingSignIn): Promise<OidcIdentity>;
}

export const OIDC_SCOPES = 'openid email profile';

/**
 * The web console's OpenID Connect client (authorization code flow) on `openid-client`. The provider's
 * discovery document is read on first use and kept; a failed discovery is retried on the next sign-in.
 * ID token times (iat, exp) are checked by the library against the system clock; `auth_time` freshness
 * is judged by the caller with the workflow clock.
 */
export function createOidcClient(settings: OidcSettings, deps: { fetch?: typeof fetch } = {}): OidcClient {
  let discovered: Promise<client.Configuration> | null = null;

  const configuration = (): Promise<client.Configuration> => {
    discovered ??= (async () => {
      const auth = settings.clientSecret === undefined ? client.None() : client.ClientSecretBasic(settings.clientSecret);
      const options: client.DiscoveryRequestOptions = {};
      if (settings.allowHttpIssuer) options.execute = [client.allowInsecureRequests];
      if (deps.fetch) options[client.customFetch] = deps.fetch as client.CustomFetch;
      try {
        const config = await client.discovery(new URL(settings.issuer), settings.clientId, undefined, auth, options);
        if (deps.fetch) config[client.customFetch] = deps.fetch as client.CustomFetch;
        return config;
      } catch (error) {
        throw new PatchdeckError(
          'PD_OIDC_DISCOVERY',
          `the sign-in provider at ${settings.issuer} (config setting "web.auth.oidc.issuer") could not be reached or described itself wrongly: ${(error as Error).message}`,
          { status: 502 },
        );
      }
    })();
    discovered.catch(() => {
      discovered = null;
    });
    return discovered;
  };

  return {
    async start(options) {
      const config = await configuration();
      const verifier = client.randomPKCECodeVerifier();
      const pending: PendingSignIn = { state: client.randomState(), nonce: client.randomNonce(), verifier, next: options.next, forced: options.forceLoginMaxAgeSeconds !== undefined };
      const parameters: Record<string, string> = {
        redirect_uri: settings.redirectUrl,
        scope: OIDC_SCOPES,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state: pending.state,
        nonce: pending.nonce,
      };
      if (options.forceLoginMaxAgeSeconds !== undefined) {
        parameters.prompt = 'login';
        parameters.max_age = String(options.forceLoginMaxAgeSeconds);
      }
      return { url: client.buildAuthorizationUrl(config, parameters), pending };
    },

    async finish(callbackQuery, pending) {
      const config = await configuration();
      // The token request's redirect_uri must be the registered one, not whatever host the proxy forwarded.
      const currentUrl = new URL(settings.redirectUrl);
      currentUrl.search = callbackQuery;
      let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
      try {
        tokens = await client.authorizationCodeGrant(config, currentUrl, {
          pkceCodeVerifier: pending.verifier,
          expectedState: pending.state,
          expectedNonce: pending.nonce,
          idTokenExpected: true,
        });
      } catch (error) {
        throw new PatchdeckError('PD_OIDC_REFUSED', `the sign-in could not be completed: ${(error as Error).message}. Start again from the sign-in page.`, { status: 400 });
      }
      const claims = tokens.claims();
      if (!claims) throw new PatchdeckError('PD_OIDC_REFUSED', 'the sign-in provider sent no ID token. Start again from the sign-in page.', { status: 400 });
      const email = typeof claims.email === 'string' && claims.email !== '' ? claims.email : null;
      return {
        subject: claims.sub,
        email,
        emailVerified: claims.email_verified !== false,
        name: typeof claims.name === 'string' ? claims.name : null,
        authTime: typeof claims.auth_time === 'number' ? claims.auth_time * 1000 : null,
      };
    },
  };
}

/** How long `patchdeck start` waits for the provider's discovery document. */
export const OIDC_STARTUP_TIMEOUT_MS = 10_000;

/**
 * Reads the provider's discovery document once at start-up, so a wrong `web.auth.oidc.issuer` stops
 * the server with PD_OIDC_ISSUER instead of showing as an error page at the first sign-in. Checks that
 * it answers, answers JSON and names itself with exactly the configured issuer (as the sign-in will).
 */
export async function checkOidcIssuer(issuer: string, deps: { fetch?: typeof fetch; timeoutMs?: number } = {}): Promise<void> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const timeoutMs = deps.timeoutMs ?? OIDC_STARTUP_TIMEOUT_MS;
  const refuse = (what: string, cause?: unknown) =>
    new PatchdeckError('PD_OIDC_ISSUER', `the sign-in provider in config setting "web.auth.oidc.issuer" (${issuer}) ${what}; check the setting and that this server can reach the provider`, { status: 500, ...(cause === undefined ? {} : { cause }) });
  let body: string;
  try {
    const response = await (deps.fetch ?? fetch)(url, { headers: { accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    if (response.status !== 200) throw refuse(`answered HTTP ${response.status} at ${url}`);
    body = await response.text();
  } catch (error) {
    if (error instanceof PatchdeckError) throw error;
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    const reason = timedOut ? `did not answer within ${timeoutMs / 1000} s` : `could not be reached (${describeFetchError(error)})`;
    throw refuse(`${reason} at ${url}`, error);
  }
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch (error) {
    throw refuse(`did not answer JSON at ${url}`, error);
  }
  const named = typeof document === 'object' && document !== null ? (document as { issuer?: unknown }).issuer : undefined;
  if (named !== issuer) throw refuse(`describes itself as issuer ${typeof named === 'string' ? `"${named}"` : '(none)'}, not the configured "${issuer}"`);
}

/** Node's fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND) is in its cause. */
function describeFetchError(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  return error instanceof Error ? error.message : String(error);
}

/** The redirect URL in effect: the configured one, else `<publicUrl>/login/callback`. */
export function oidcRedirectUrl(publicUrl: string, configured: string | undefined): string {
  return configured ?? `${publicUrl.replace(/\/$/, '')}/login/callback`;
}
