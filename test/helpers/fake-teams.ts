import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';

/** The issuer of every token the Bot Connector sends to a bot. */
export const CHANNEL_ISSUER = 'https://api.botframework.com';
export const TEST_APP_ID = '00000000-0000-4000-8000-00000000a99d';
export const TEST_APP_PASSWORD = 'test-app-password';
export const TEST_TENANT_ID = '11111111-1111-4111-8111-111111111111';

export interface FakeTeamsCall {
  method: string;
  path: string;
  body: Record<string, unknown>;
  authorization: string | null;
}

/** The conversation id a Bot Connector call names in its path (decoded: a reply chain keeps its `;messageid=`). */
export function conversationOfCall(call: FakeTeamsCall): string | null {
  const match = /^\/teams\/v3\/conversations\/([^/]+)\/activities/.exec(call.path);
  return match ? decodeURIComponent(match[1]!) : null;
}

export interface TokenOptions {
  audience?: string;
  issuer?: string;
  serviceUrl?: string | null;
  /** `untrusted` signs with a key the metadata does not publish, under the published key id. */
  key?: 'trusted' | 'untrusted';
  expiresInSeconds?: number;
}

export interface FakeTeams {
  readonly url: string;
  /** The activities' serviceUrl: outgoing Bot Connector calls land here. */
  readonly serviceUrl: string;
  readonly openIdMetadataUrl: string;
  /** Token authority for the bot's outgoing tokens. */
  readonly loginUrl: string;
  readonly calls: FakeTeamsCall[];
  /** Calls of the Bot Connector API (not metadata, keys or tokens). */
  connectorCalls(): FakeTeamsCall[];
  tokenRequests(): FakeTeamsCall[];
  /** `POST /v3/conversations` calls: the bot starting a 1:1 chat. */
  conversationCreations(): FakeTeamsCall[];
  /** The HTTP status later chat creations answer (201 by default; 403 is "app not installed for the user"). */
  answerConversationCreations(status: number): void;
  /** Resolves with the `count`-th connector call once it has arrived. */
  waitForConnectorCall(count?: number, timeoutMs?: number): Promise<FakeTeamsCall>;
  /** A JWT as the Bot Connector would send it, valid for the test app unless told otherwise. */
  signToken(options?: TokenOptions): Promise<string>;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return {};
  if (req.headers['content-type']?.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * A stand-in for the Bot Framework on 127.0.0.1: OpenID metadata and signing keys (endorsed for
 * msteams) for inbound tokens, a token endpoint for the bot's outgoing token, and the Bot Connector
 * conversation API, recording every call. The metadata path carries a random segment, because
 * botbuilder caches keys per metadata URL for the life of the process and ports get reused.
 */
export async function startFakeTeams(): Promise<FakeTeams> {
  const trusted = await generateKeyPair('RS256', { extractable: true });
  const untrusted = await generateKeyPair('RS256', { extractable: true });
  const kid = `fake-${randomBytes(6).toString('hex')}`;
  const nonce = randomBytes(6).toString('hex');
  const jwk = { ...(await exportJWK(trusted.publicKey)), kid, use: 'sig', alg: 'RS256', endorsements: ['msteams'] };
  const calls: FakeTeamsCall[] = [];
  const waiters = new Set<() => void>();
  let activityCounter = 0;
  let tokenCounter = 0;
  let conversationCounter = 0;
  let creationStatus = 201;
  let base = '';

  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      const body: Record<string, unknown> = await readBody(req).catch(() => ({}));
      calls.push({ method: req.method ?? 'GET', path, body, authorization: req.headers.authorization ?? null });
      for (const wake of [...waiters]) wake();
      const json = (status: number, answer: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer));
      };
      if (path === `/${nonce}/v1/.well-known/openidconfiguration`) {
        return json(200, { issuer: CHANNEL_ISSUER, jwks_uri: `${base}/${nonce}/keys`, id_token_signing_alg_values_supported: ['RS256'] });
      }
      if (path === `/${nonce}/keys`) return json(200, { keys: [jwk] });
      if (/^\/login\/[^/]+\/oauth2\/v2\.0\/token$/.test(path) && req.method === 'POST') {
        if (body.client_id !== TEST_APP_ID || body.client_secret !== TEST_APP_PASSWORD) return json(401, { error: 'invalid_client' });
        return json(200, { token_type: 'Bearer', expires_in: 3600, access_token: `fake-bot-token-${++tokenCounter}` });
      }
      if (path === '/teams/v3/conversations' && req.method === 'POST') {
        if (creationStatus >= 400) return json(creationStatus, { error: { code: 'Forbidden', message: 'The bot is not part of the conversation roster.' } });
        return json(creationStatus, { id: `a:created-${++conversationCounter}` });
      }
      const activity = /^\/teams\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(path);
      if (activity) {
        if (req.method === 'PUT') return json(200, { id: decodeURIComponent(activity[2] ?? '') });
        return json(201, { id: `activity-${++activityCounter}` });
      }
      json(404, { error: { code: 'NotFound', message: path } });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const isConnectorCall = (c: FakeTeamsCall) => c.path.startsWith('/teams/v3/');

  const fake: FakeTeams = {
    url: base,
    serviceUrl: `${base}/teams/`,
    openIdMetadataUrl: `${base}/${nonce}/v1/.well-known/openidconfiguration`,
    loginUrl: `${base}/login/botframework.com`,
    calls,
    connectorCalls: () => calls.filter(isConnectorCall),
    tokenRequests: () => calls.filter((c) => c.path.endsWith('/oauth2/v2.0/token')),
    conversationCreations: () => calls.filter((c) => c.method === 'POST' && c.path === '/teams/v3/conversations'),
    answerConversationCreations(status) {
      creationStatus = status;
    },
    waitForConnectorCall(count = 1, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = calls.filter(isConnectorCall)[count - 1];
          if (!found) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no connector call #${count} within ${timeoutMs} ms; calls: ${calls.map((c) => `${c.method} ${c.path}`).join(', ')}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    async signToken(options = {}) {
      const key: CryptoKey = options.key === 'untrusted' ? untrusted.privateKey : trusted.privateKey;
      const serviceUrl = options.serviceUrl === undefined ? fake.serviceUrl : options.serviceUrl;
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT(serviceUrl === null ? {} : { serviceurl: serviceUrl })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .setIssuer(options.issuer ?? CHANNEL_ISSUER)
        .setAudience(options.audience ?? TEST_APP_ID)
        .setIssuedAt(now - 10)
        .setNotBefore(now - 10)
        .setExpirationTime(now + (options.expiresInSeconds ?? 3600))
        .sign(key);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}

export interface ActivityOptions {
  serviceUrl: string;
  conversationId?: string;
  channelName?: string | null;
  teamName?: string;
  tenantId?: string;
  userId?: string;
  aadObjectId?: string;
}

function baseActivity(type: string, o: ActivityOptions): Record<string, unknown> {
  const conversationId = o.conversationId ?? '19:patching@thread.tacv2';
  return {
    type,
    id: `act-${randomBytes(4).toString('hex')}`,
    timestamp: '2026-11-23T10:00:00.000Z',
    channelId: 'msteams',
    serviceUrl: o.serviceUrl,
    from: { id: o.userId ?? '29:alice-mri', name: 'Someone', aadObjectId: o.aadObjectId ?? 'aad-alice' },
    recipient: { id: `28:${TEST_APP_ID}`, name: 'Patchdeck' },
    conversation: { id: conversationId, conversationType: 'channel', isGroup: true, tenantId: o.tenantId ?? TEST_TENANT_ID },
    channelData: {
      tenant: { id: o.tenantId ?? TEST_TENANT_ID },
      team: { id: '19:team@thread.tacv2', name: o.teamName ?? 'Operations' },
      ...(o.channelName === null ? {} : { channel: { id: conversationId, name: o.channelName ?? 'Patching' } }),
    },
  };
}

export function messageActivity(o: ActivityOptions & { text?: string }): Record<string, unknown> {
  return { ...baseActivity('message', o), text: o.text ?? '<at>Patchdeck</at> hello' };
}

export function installationActivity(o: ActivityOptions & { action?: string }): Record<string, unknown> {
  return { ...baseActivity('installationUpdate', o), action: o.action ?? 'add' };
}

/** `replyToId`: the activity id of the card the button is on (Teams sends it for cards in messages). */
export function cardActionActivity(o: ActivityOptions & { verb: string; data: unknown; actionId?: string; trigger?: string; replyToId?: string }): Record<string, unknown> {
  return {
    ...baseActivity('invoke', o),
    ...(o.replyToId === undefined ? {} : { replyToId: o.replyToId }),
    name: 'adaptiveCard/action',
    value: {
      action: { type: 'Action.Execute', verb: o.verb, data: o.data, ...(o.actionId === undefined ? {} : { id: o.actionId }) },
      trigger: o.trigger ?? 'manual',
    },
  };
}
