import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';

export const FAKE_OIDC_CLIENT_ID = 'patchdeck-test';
export const FAKE_OIDC_CLIENT_SECRET = 'fake-oidc-client-secret';

/** The account signed in at the fake provider; the test changes it between sign-ins. */
export interface FakeOidcUser {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
}

export interface FakeOidcAuthorizeRequest {
  params: Record<string, string>;
  /** True when the provider made the user log in again (prompt=login, or max_age passed). */
  relogin: boolean;
}

export interface FakeOidc {
  readonly issuer: string;
  user: FakeOidcUser;
  /** When the user last logged in at the provider, in ms (the test's clock); max_age and prompt=login renew it. */
  lastLoginAt: number;
  /** Sign the next ID token with this nonce instead of the requested one (a replayed or forged token). */
  nonceOverride: string | null;
  /** Ignore prompt=login and max_age (a provider that does not honour them). */
  ignorePrompt: boolean;
  readonly authorizeRequests: FakeOidcAuthorizeRequest[];
  readonly tokenRequests: Record<string, string>[];
  close(): Promise<void>;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  nonce: string | undefined;
  challenge: string | undefined;
  authTime: number;
  user: FakeOidcUser;
}

async function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

/** `id:secret` of an HTTP Basic header, each form-urlencoded first as RFC 6749 section 2.3.1 asks. */
function basicCredentials(header: string | undefined): string | null {
  if (header === undefined || !header.startsWith('Basic ')) return null;
  const [id, secret] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
  const decode = (part: string | undefined) => decodeURIComponent((part ?? '').replace(/\+/g, ' '));
  return `${decode(id)}:${decode(secret)}`;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * An OpenID Connect provider on loopback for tests: discovery document, JWKS (an RS256 key minted here
 * with jose), an authorize endpoint that signs the current `user` in without a page and redirects back
 * with a code, and a token endpoint that checks client secret, redirect URI and PKCE and returns an ID
 * token. `now` is the test's clock: it sets `auth_time`; iat/exp use the system clock, as a real
 * provider's would, because openid-client checks them against it.
 */
export async function startFakeOidc(options: { now: () => Date; user: FakeOidcUser }): Promise<FakeOidc> {
  const { publicKey, privateKey } = (await generateKeyPair('RS256', { extractable: true })) as { publicKey: CryptoKey; privateKey: CryptoKey };
  const kid = randomBytes(6).toString('hex');
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const codes = new Map<string, IssuedCode>();

  let issuer = '';
  const fake: FakeOidc = {
    get issuer() {
      return issuer;
    },
    user: options.user,
    lastLoginAt: options.now().getTime(),
    nonceOverride: null,
    ignorePrompt: false,
    authorizeRequests: [],
    tokenRequests: [],
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', issuer);
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
      json(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
        scopes_supported: ['openid', 'email', 'profile'],
      });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/jwks') {
      json(res, 200, { keys: [jwk] });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/authorize') {
      const params = Object.fromEntries(url.searchParams);
      const now = options.now().getTime();
      const maxAge = params.max_age === undefined ? null : Number(params.max_age);
      const relogin = !fake.ignorePrompt && (params.prompt === 'login' || (maxAge !== null && now - fake.lastLoginAt > maxAge * 1000));
      if (relogin) fake.lastLoginAt = now;
      fake.authorizeRequests.push({ params, relogin });
      if (params.response_type !== 'code' || params.client_id !== FAKE_OIDC_CLIENT_ID || !params.redirect_uri) {
        json(res, 400, { error: 'invalid_request' });
        return;
      }
      const code = randomBytes(16).toString('base64url');
      codes.set(code, { clientId: params.client_id, redirectUri: params.redirect_uri, nonce: params.nonce, challenge: params.code_challenge, authTime: fake.lastLoginAt, user: { ...fake.user } });
      const back = new URL(params.redirect_uri);
      back.searchParams.set('code', code);
      if (params.state !== undefined) back.searchParams.set('state', params.state);
      back.searchParams.set('iss', issuer);
      res.writeHead(302, { location: back.href });
      res.end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/token') {
      const form = await readForm(req);
      fake.tokenRequests.push(form);
      if (basicCredentials(req.headers.authorization) !== `${FAKE_OIDC_CLIENT_ID}:${FAKE_OIDC_CLIENT_SECRET}`) {
        json(res, 401, { error: 'invalid_client' });
        return;
      }
      const issued = form.code === undefined ? undefined : codes.get(form.code);
      if (form.code !== undefined) codes.delete(form.code);
      const verifierOk = issued?.challenge !== undefined && form.code_verifier !== undefined && createHash('sha256').update(form.code_verifier).digest('base64url') === issued.challenge;
      if (form.grant_type !== 'authorization_code' || !issued || issued.redirectUri !== form.redirect_uri || !verifierOk) {
        json(res, 400, { error: 'invalid_grant' });
        return;
      }
      const nonce = fake.nonceOverride ?? issued.nonce;
      fake.nonceOverride = null;
      const idToken = await new SignJWT({ ...issued.user, ...(nonce === undefined ? {} : { nonce }), auth_time: Math.floor(issued.authTime / 1000) })
        .setProtectedHeader({ alg: 'RS256', kid })
        .setIssuer(issuer)
        .setAudience(issued.clientId)
        .setSubject(issued.user.sub)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(privateKey);
      json(res, 200, { access_token: randomBytes(16).toString('base64url'), token_type: 'Bearer', expires_in: 600, id_token: idToken });
      return;
    }
    json(res, 404, { error: 'not_found' });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => json(res, 500, { error: 'server_error', error_description: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
