import { App, ExpressReceiver } from '@slack/bolt';
import { Router } from 'express';
import type { WorkflowContext } from '../../workflow/context.js';
import type { Notifier } from '../../workflow/notifications.js';
import { registerSlackActions } from './actions.js';
import { registerSlackCommands } from './commands.js';
import { registerSlackHome } from './home.js';
import { registerSlackRebootActions } from './reboot-actions.js';
import { createBoltLogger } from './logger.js';
import { registerSlackModals } from './modals.js';
import { createSlackNotifier } from './notifier.js';
import { WORKFLOW_SERVICES, type SlackServices } from './services.js';
import { registerSlackShortcuts } from './shortcuts.js';
import { createWorkQueue } from './work-queue.js';
import { createSlackSignatureVerifier } from './verify.js';

export const SLACK_EVENTS_PATH = '/slack/events';

/** Acknowledged work waiting to run; beyond this, new work is dropped and logged rather than piling up. */
const MAX_PENDING_WORK = 10_000;

export interface SlackFaceDeps {
  ctx: WorkflowContext;
  signingSecret: string;
  botToken: string;
  /** Web API base URL; tests point it at a fake. Default: Slack's own. */
  apiUrl?: string;
  /** With both ids given Bolt never calls auth.test; otherwise it asks once per incoming request. */
  botUserId?: string;
  botId?: string;
  /** Least time between two posts or updates into one channel. Default: Slack's pace, 1 s. */
  channelSpacingMs?: number;
  /** The workflow services clicks and commands call. Default: the real ones. */
  services?: SlackServices;
}

export interface SlackFace {
  /** Mount on the web app; handles POST /slack/events (interactivity, /patchdeck, events). Parses its own body. */
  router: Router;
  notifier: Notifier;
  app: App;
  /** Resolves once the work of every acknowledged click, command and event is done (for shutdown). */
  drain(): Promise<void>;
}

/**
 * The Slack face in HTTP mode. Our signature check runs first, on the raw body and against the
 * workflow clock, in both time directions. Bolt's own check is off: it reads the wall clock and accepts
 * timestamps from the future, so it would only be a weaker second opinion.
 *
 * `processBeforeResponse` stays false (Bolt's default, spelled out): ack() writes the HTTP answer at
 * once, and the work a click or command causes runs after Slack has had its answer, well within 3 s.
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
    processBeforeResponse: false,
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
  const work = createWorkQueue({
    // SQLite's driver is synchronous: one task at a time, so the event loop gets a turn between them.
    concurrency: ctx.store.dialect === 'sqlite' ? 1 : 4,
    maxPending: MAX_PENDING_WORK,
    onError: (error) => ctx.logger.error({ err: (error as Error).message }, 'Slack work failed'),
  });
  const handlerDeps = { ctx, services: deps.services ?? WORKFLOW_SERVICES, work };
  registerSlackActions(app, handlerDeps);
  registerSlackModals(app, handlerDeps);
  registerSlackRebootActions(app, handlerDeps);
  registerSlackCommands(app, handlerDeps);
  registerSlackHome(app, handlerDeps);
  registerSlackShortcuts(app, handlerDeps);
  const notifier = createSlackNotifier(app.client, deps.channelSpacingMs !== undefined ? { channelSpacingMs: deps.channelSpacingMs } : {});
  return { router, notifier, app, drain: () => work.drain() };
}
