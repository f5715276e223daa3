import { App, ExpressReceiver } from '@slack/bolt';
import { Router } from 'express';
import type { WorkflowContext } from '../../workflow/context.js';
import type { Notifier } from '../../workflow/notifications.js';
import { registerSlackActions } from './actions.js';
import { createBoltLogger } from './logger.js';
import { createSlackNotifier } from './notifier.js';
import { createSlackSignatureVerifier } from './verify.js';

export const SLACK_EVENTS_PATH = '/slack/events';

export interface SlackFaceDeps {
  ctx: WorkflowContext;
  signingSecret: string;
  botToken: string;
  /** Web API base URL; tests point it at a fake. Default: Slack's own. */
  apiUrl?: string;
  /** With both ids given Bolt never calls auth.test; otherwise it asks once per incoming request. */
  botUserId?: string;
  botId?: string;
}

export interface SlackFace {
  /** Mount on the web app; handles POST /slack/events (interactivity). Parses its own body. */
  router: Router;
  notifier: Notifier;
  app: App;
}

/**
 * The Slack face in HTTP mode. Our signature check runs first, on the raw body and against the
 * workflow clock, in both time directions. Bolt's own check is off: it reads the wall clock and accepts
 * timestamps from the future, so it would only be a weaker second opinion.
 */
export function createSlackFace(deps: SlackFaceDeps): SlackFace {
  const { ctx } = deps;
  const logger = createBoltLogger(ctx.logger);
  const router = Router();
  router.post(SLACK_EVENTS_PATH, createSlackSignatureVerifier({ ctx, signingSecret: deps.signingSecret }));
  const receiver = new ExpressReceiver({
    signingSecret: deps.signingSecret,
    signatureVerification: false,
    endpoints: SLACK_EVENTS_PATH,
    router,
    logger,
  });
  const app = new App({
    receiver,
    token: deps.botToken,
    // No auth.test at start-up: offline runs and tests have no Slack to ask (see FIELD-NOTES).
    tokenVerificationEnabled: false,
    ...(deps.botUserId !== undefined ? { botUserId: deps.botUserId } : {}),
    ...(deps.botId !== undefined ? { botId: deps.botId } : {}),
    logger,
    convoStore: false,
    clientOptions: {
      ...(deps.apiUrl !== undefined ? { slackApiUrl: deps.apiUrl } : {}),
      // Bounded, so a job never outlives its lease while the WebClient waits; Retry-After is still honoured.
      retryConfig: { retries: 3 },
      timeout: 15_000,
    },
  });
  registerSlackActions(app, ctx);
  return { router, notifier: createSlackNotifier(app.client), app };
}
