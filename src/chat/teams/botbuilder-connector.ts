import { CloudAdapter, ConfigurationBotFrameworkAuthentication, TurnContext, type Activity, type ConversationParameters, type ConversationReference } from 'botbuilder';
import type { Request, Response } from 'express';
import { decodeJwt } from 'jose';
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { PatchdeckError } from '../../core/errors.js';
import { TeamsActivitySchema, threadedConversationId, type TeamsConnector, type TeamsConversationReference, type TeamsInvokeAnswer, type TeamsOutgoingMessage, type TeamsRequestHooks, type TeamsSendOptions } from './connector.js';

/** Bot Framework's public cloud: who issues the tokens Teams sends, where its keys are, who issues ours. */
export const BOT_FRAMEWORK = {
  tokenIssuer: 'https://api.botframework.com',
  openIdMetadataUrl: 'https://login.botframework.com/v1/.well-known/openidconfiguration',
  loginUrlPrefix: 'https://login.microsoftonline.com/',
  oauthScope: 'https://api.botframework.com',
} as const;

export interface BotbuilderConnectorOptions {
  appId: string;
  appPassword: string;
  /** Single-tenant bots get their outgoing tokens from their own tenant. */
  tenantId?: string;
  openIdMetadataUrl?: string;
  /** Token authority; `<loginUrl>/oauth2/v2.0/token` is asked for outgoing tokens. */
  loginUrl?: string;
  clock: Clock;
  logger: Logger;
  /** Outgoing token requests (tests need none: the fake answers on loopback). */
  fetch?: typeof fetch;
}

type AuthenticationCtorArgs = ConstructorParameters<typeof ConfigurationBotFrameworkAuthentication>;
type CredentialsFactory = NonNullable<AuthenticationCtorArgs[1]>;
type ServiceClientCredentials = Awaited<ReturnType<CredentialsFactory['createCredentials']>>;

/** The part of botbuilder's ConnectorClient used here (the class itself is not exported by botbuilder). */
interface ConversationsClient {
  conversations: {
    sendToConversation(conversationId: string, activity: Partial<Activity>): Promise<{ id?: string }>;
    updateActivity(conversationId: string, activityId: string, activity: Partial<Activity>): Promise<unknown>;
  };
}

/** Renew a token this long before it runs out. */
const TOKEN_MARGIN_MS = 5 * 60_000;
const TOKEN_TIMEOUT_MS = 15_000;

/**
 * Outgoing calls carry an app-only token from the client-credentials grant. botbuilder's own factory
 * goes through MSAL, which insists on Microsoft's authority discovery; this small client asks the
 * configured token endpoint directly, so a fake can stand in for it, and caches each token until
 * shortly before it expires.
 */
function createClientCredentialsFactory(options: BotbuilderConnectorOptions): CredentialsFactory {
  const fetchImpl = options.fetch ?? fetch;
  const cache = new Map<string, { token: string; until: number }>();
  async function tokenFor(loginEndpoint: string, scope: string): Promise<string> {
    const key = `${loginEndpoint} ${scope}`;
    const now = options.clock.now().getTime();
    const cached = cache.get(key);
    if (cached && cached.until > now) return cached.token;
    const response = await fetchImpl(`${loginEndpoint.replace(/\/+$/, '')}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: options.appId, client_secret: options.appPassword, scope: `${scope}/.default` }),
      signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
    });
    const body = (await response.json().catch(() => null)) as { access_token?: unknown; expires_in?: unknown; error?: unknown } | null;
    if (!response.ok || typeof body?.access_token !== 'string') {
      // The error code (e.g. invalid_client) says what to fix; the answer's description may echo ids, not secrets.
      throw new Error(`Teams token request failed with HTTP ${response.status}${typeof body?.error === 'string' ? ` (${body.error})` : ''}: check teams.appId and teams.appPassword`);
    }
    const lifetimeMs = (typeof body.expires_in === 'number' ? body.expires_in : Number(body.expires_in ?? 3600)) * 1000;
    cache.set(key, { token: body.access_token, until: now + Math.max(lifetimeMs - TOKEN_MARGIN_MS, 0) });
    return body.access_token;
  }
  return {
    isValidAppId: async (appId: string) => appId === options.appId,
    isAuthenticationDisabled: async () => false,
    async createCredentials(appId: string, audience: string | undefined, loginEndpoint: string): Promise<ServiceClientCredentials> {
      if (appId !== options.appId) throw new Error('Teams: credentials were asked for another app id');
      const scope = audience ?? BOT_FRAMEWORK.oauthScope;
      return {
        async signRequest(resource) {
          resource.headers.set('authorization', `Bearer ${await tokenFor(loginEndpoint, scope)}`);
          return resource;
        },
      };
    },
    // Keeps the password out of any log line that serialises the factory.
    toJSON: () => ({ appId: options.appId }),
  } as CredentialsFactory;
}

/** Exposes the adapter's protected processActivity so authentication can happen (and be audited) first. */
class PatchdeckCloudAdapter extends CloudAdapter {
  constructor(private readonly authentication: ConfigurationBotFrameworkAuthentication) {
    super(authentication);
  }

  authenticate(activity: Activity, authHeader: string) {
    return this.authentication.authenticateRequest(activity, authHeader);
  }

  run(result: Awaited<ReturnType<PatchdeckCloudAdapter['authenticate']>>, activity: Activity, logic: (context: TurnContext) => Promise<void>) {
    return this.processActivity(result, activity, logic);
  }
}

/** Names why botbuilder refused a token, for the audit log (the HTTP answer stays a bare 401). */
function classifyAuthenticationError(error: unknown): string {
  const name = (error as { name?: unknown }).name;
  const message = String((error as { message?: unknown }).message ?? error);
  if (/ServiceUrl claim/i.test(message)) return 'service_url_mismatch';
  if (/Invalid AppId/i.test(message)) return 'wrong_audience';
  if (name === 'TokenExpiredError' || /expired/i.test(message)) return 'expired_token';
  if (name === 'NotBeforeError') return 'token_not_yet_valid';
  if (/invalid signature/i.test(message)) return 'bad_signature';
  if (/Signing Key could not be retrieved/i.test(message)) return 'unknown_signing_key';
  if (/endorsement/i.test(message)) return 'missing_endorsement';
  if (/No valid identity|Issuer/i.test(message)) return 'wrong_issuer';
  return 'invalid_token';
}

/** Keep a validated token at most this long (and never past its own expiry). */
const VALIDATED_KEPT_MS = 10 * 60_000;
const MAX_VALIDATED = 1_000;

/**
 * Tokens botbuilder accepted, per (token, serviceUrl, channelId): everything its check depends on.
 * The Bot Connector sends the same token with every activity for about an hour, and checking its
 * RSA signature again costs more than answering an invoke. Only invokes use it (see handle).
 */
function createValidatedTokenCache() {
  const entries = new Map<string, number>();
  return {
    has(key: string, nowMs: number): boolean {
      const until = entries.get(key);
      if (until === undefined) return false;
      if (until > nowMs) return true;
      entries.delete(key);
      return false;
    },
    add(key: string, authHeader: string, nowMs: number): void {
      let expMs = nowMs + VALIDATED_KEPT_MS;
      try {
        const exp = decodeJwt(authHeader.slice('Bearer '.length)).exp;
        if (typeof exp !== 'number') return;
        expMs = Math.min(expMs, exp * 1000);
      } catch {
        return;
      }
      entries.delete(key);
      entries.set(key, expMs);
      for (const oldest of entries.keys()) {
        if (entries.size <= MAX_VALIDATED) break;
        entries.delete(oldest);
      }
    },
  };
}

/** Checks what can be checked before botbuilder runs: a bearer token, issued by the Bot Framework. */
function precheckToken(authHeader: string): string | null {
  const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(authHeader);
  if (!match) return authHeader === '' ? 'missing_token' : 'malformed_token';
  try {
    // Only tokens from the channel issuer are ever accepted; this keeps emulator and skill tokens
    // (other issuers, other key sets fetched from elsewhere) away from the adapter entirely.
    return decodeJwt(match[1]!).iss === BOT_FRAMEWORK.tokenIssuer ? null : 'wrong_issuer';
  } catch {
    return 'malformed_token';
  }
}

/**
 * The TeamsConnector on botbuilder's CloudAdapter. botbuilder validates the JWT (signature against the
 * keys in the OpenID metadata, issuer, audience = our app id, `serviceurl` claim = the activity's
 * serviceUrl) and makes the outgoing calls to the activity's serviceUrl.
 */
export function createBotbuilderConnector(options: BotbuilderConnectorOptions): TeamsConnector {
  const logger = options.logger.child({ component: 'teams' });
  const loginUrl = options.loginUrl ?? `${BOT_FRAMEWORK.loginUrlPrefix}${options.tenantId ?? 'botframework.com'}`;
  const openIdMetadataUrl = options.openIdMetadataUrl ?? BOT_FRAMEWORK.openIdMetadataUrl;
  const authentication = new ConfigurationBotFrameworkAuthentication(
    {
      MicrosoftAppId: options.appId,
      ...(options.tenantId ? { MicrosoftAppTenantId: options.tenantId } : {}),
      ValidateAuthority: true,
      ToChannelFromBotLoginUrl: loginUrl,
      ToChannelFromBotOAuthScope: BOT_FRAMEWORK.oauthScope,
      ToBotFromChannelTokenIssuer: BOT_FRAMEWORK.tokenIssuer,
      OAuthUrl: BOT_FRAMEWORK.oauthScope,
      ToBotFromChannelOpenIdMetadataUrl: openIdMetadataUrl,
      // Never used: precheckToken refuses every issuer but the channel's before botbuilder looks.
      ToBotFromEmulatorOpenIdMetadataUrl: openIdMetadataUrl,
      CallerId: 'urn:botframework:azure',
    },
    createClientCredentialsFactory(options),
  );
  const adapter = new PatchdeckCloudAdapter(authentication);
  const validated = createValidatedTokenCache();
  adapter.onTurnError = async (_context, error) => {
    logger.error({ err: error.message }, 'Teams turn failed');
    throw error;
  };

  /**
   * Runs `work` with the Bot Connector client of a stored conversation. The client is used directly:
   * TurnContext.sendActivity would make every proactive post a reply to the continuation activity.
   */
  async function withConversationClient(reference: TeamsConversationReference, work: (client: ConversationsClient) => Promise<void>): Promise<void> {
    await adapter.continueConversationAsync(options.appId, reference as unknown as Partial<ConversationReference>, async (context) => {
      await work(context.turnState.get(adapter.ConnectorClientKey) as ConversationsClient);
    });
  }

  /** The conversation id a message goes to: the stored conversation, or a post's reply chain in it. */
  function conversationIdFor(reference: TeamsConversationReference, options: TeamsSendOptions | undefined): string {
    return options?.replyToId === undefined ? reference.conversation.id : threadedConversationId(reference.conversation.id, options.replyToId);
  }

  function messageActivity(reference: TeamsConversationReference, message: TeamsOutgoingMessage, conversationId: string): Partial<Activity> {
    return {
      type: 'message',
      channelId: reference.channelId,
      serviceUrl: reference.serviceUrl,
      conversation: { ...reference.conversation, id: conversationId } as unknown as Activity['conversation'],
      from: reference.bot as unknown as Activity['from'],
      summary: message.summary,
      attachments: message.attachments,
    };
  }

  return {
    async handle(req: Request, res: Response, hooks: TeamsRequestHooks) {
      const parsed = TeamsActivitySchema.safeParse(req.body);
      if (!parsed.success) {
        res.status(400).type('text/plain').send('not a Bot Framework activity');
        return;
      }
      const activity = parsed.data;
      const authHeader = typeof req.headers.authorization === 'string' ? req.headers.authorization.trim() : '';
      const reject = async (reason: string) => {
        await hooks.onRejected(reason).catch((error: unknown) => logger.error({ err: (error as Error).message, reason }, 'could not audit a rejected Teams request'));
        res.status(401).type('text/plain').send('unauthorized');
      };
      const early = precheckToken(authHeader) ?? (activity.serviceUrl ? null : 'missing_service_url');
      if (early !== null) return reject(early);
      const trustKey = `${authHeader}\u0000${activity.serviceUrl ?? ''}\u0000${activity.channelId ?? ''}`;
      let authenticated: Awaited<ReturnType<PatchdeckCloudAdapter['authenticate']>> | null = null;
      if (activity.type !== 'invoke' || !validated.has(trustKey, options.clock.now().getTime())) {
        try {
          authenticated = await adapter.authenticate(activity as unknown as Activity, authHeader);
        } catch (error) {
          return reject(classifyAuthenticationError(error));
        }
        validated.add(trustKey, authHeader, options.clock.now().getTime());
      }
      let answer: TeamsInvokeAnswer | null = null;
      try {
        if (activity.type === 'invoke') {
          // An invoke is answered in the HTTP response, never with a reply in the turn, so it skips the
          // turn context processActivity builds (a new Bot Connector client per request costs more than the answer).
          const reference = TurnContext.getConversationReference(activity as unknown as Activity) as unknown as TeamsConversationReference;
          answer = await hooks.onTurn({
            activity,
            reference,
            reply: async () => {
              throw new Error('an invoke is answered in its HTTP response, not with a reply');
            },
          });
        } else {
          // Non-invokes are always authenticated above (only invokes use the cache).
          await adapter.run(authenticated!, activity as unknown as Activity, async (context) => {
            const reference = TurnContext.getConversationReference(context.activity) as unknown as TeamsConversationReference;
            answer = await hooks.onTurn({
              activity,
              reference,
              reply: async (text) => {
                await context.sendActivity({ type: 'message', text });
              },
            });
          });
        }
      } catch (error) {
        logger.error({ err: (error as Error).message, type: activity.type }, 'Teams activity failed');
        if (!res.headersSent) res.status(500).type('text/plain').send('internal error');
        return;
      }
      const final = answer as TeamsInvokeAnswer | null;
      if (final === null) res.status(200).end();
      else if (final.body === undefined) res.status(final.status).end();
      else res.status(final.status).json(final.body);
    },

    async send(reference, message, options) {
      const conversationId = conversationIdFor(reference, options);
      let id: string | undefined;
      await withConversationClient(reference, async (client) => {
        id = (await client.conversations.sendToConversation(conversationId, messageActivity(reference, message, conversationId))).id;
      });
      if (!id) throw new Error(`Teams answered a post to conversation ${conversationId} without an activity id`);
      return { id };
    },

    async update(reference, activityId, message, options) {
      const conversationId = conversationIdFor(reference, options);
      await withConversationClient(reference, async (client) => {
        await client.conversations.updateActivity(conversationId, activityId, { ...messageActivity(reference, message, conversationId), id: activityId });
      });
    },

    async createPersonalConversation(target) {
      const bot = { id: `28:${options.appId}` };
      // Teams wants the tenant both at the top and in channelData; without it the call is refused as a malformed tenant.
      const parameters = {
        isGroup: false,
        bot,
        members: [{ id: target.memberId }],
        tenantId: target.tenantId,
        channelData: { tenant: { id: target.tenantId } },
      } as unknown as ConversationParameters;
      let conversationId: string | undefined;
      try {
        await adapter.createConversationAsync(options.appId, 'msteams', target.serviceUrl, BOT_FRAMEWORK.oauthScope, parameters, async (context) => {
          conversationId = context.activity.conversation?.id;
        });
      } catch (error) {
        const status = (error as { statusCode?: unknown }).statusCode;
        if (status === 403 || status === 404) {
          throw new PatchdeckError(
            'PD_TEAMS_APP_NOT_INSTALLED',
            `Teams refused to start a chat with user ${target.aadObjectId} (HTTP ${status}): the Patchdeck app must be installed for that user (they open it once, or an admin installs it for them)`,
            { status: 409, cause: error },
          );
        }
        throw error;
      }
      if (!conversationId) throw new Error(`Teams answered the new chat with user ${target.aadObjectId} without a conversation id`);
      // The reference a personal chat's own activities would give: findPersonalConversation matches on its user.
      return {
        conversation: { id: conversationId, conversationType: 'personal', tenantId: target.tenantId },
        serviceUrl: target.serviceUrl,
        channelId: 'msteams',
        bot,
        user: { id: target.memberId, aadObjectId: target.aadObjectId },
      };
    },
  };
}
