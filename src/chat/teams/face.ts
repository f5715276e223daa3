import express, { Router, type Request } from 'express';
import { recordRejectedChatRequest } from '../../workflow/chat-requests.js';
import type { WorkflowContext } from '../../workflow/context.js';
import type { Notifier } from '../../workflow/notifications.js';
import { createWorkQueue } from '../slack/work-queue.js';
import { handleTeamsTurn, type TeamsActionDeps } from './actions.js';
import { createBotbuilderConnector } from './botbuilder-connector.js';
import { createCardUpdateThrottle, createTeamsClickState } from './click-state.js';
import type { TeamsConnector } from './connector.js';
import { createTeamsDirectNotifier } from './direct.js';
import { createTeamsNotifier } from './notifier.js';
import type { DirectNotifier } from '../../workflow/reboots.js';

export const TEAMS_MESSAGES_PATH = '/api/messages';

/** Answered card actions waiting to run; beyond this, new votes are refused with "busy" rather than piling up. */
const MAX_PENDING_WORK = 10_000;

/** Least time between two updates of one card after votes on it (Teams throttles message updates). */
const CARD_UPDATE_SPACING_MS = 1_000;

/** Activities are small; a card action carries the card's data only. */
const MAX_BODY = '1mb';

export interface TeamsFaceDeps {
  ctx: WorkflowContext;
  appId: string;
  appPassword: string;
  /** Set for a single-tenant bot: activities from any other tenant are refused. */
  tenantId?: string;
  /** Where the Bot Connector's signing keys are described; tests point it at a fake. */
  openIdMetadataUrl?: string;
  /** Token authority for outgoing calls; tests point it at a fake. */
  loginUrl?: string;
  /** Another SDK behind the same seam (tests, or a future @microsoft/agents-hosting connector). */
  connector?: TeamsConnector;
  /** Overrides the invoke deadline (tests). */
  invokeDeadlineMs?: number;
}

export interface TeamsFace {
  /** Mount on the web app; handles POST /api/messages. Parses its own body. */
  router: Router;
  notifier: Notifier;
  /** Personal-chat messages (reboot notices) by stored conversation reference. */
  direct: DirectNotifier;
  /** Resolves once the work of every answered card action is done (votes, card updates; for shutdown and tests). */
  drain(): Promise<void>;
}

function tenantOf(req: Request): string | null {
  const body = req.body as { channelData?: { tenant?: { id?: unknown } }; conversation?: { tenantId?: unknown } } | undefined;
  const id = body?.channelData?.tenant?.id ?? body?.conversation?.tenantId;
  return typeof id === 'string' ? id : null;
}

/**
 * The Microsoft Teams face: the Bot Framework messaging endpoint and a notifier that posts Adaptive
 * Cards. A request whose token the connector refuses is audited and answered 401 with no detail.
 */
export function createTeamsFace(deps: TeamsFaceDeps): TeamsFace {
  const { ctx } = deps;
  const connector =
    deps.connector ??
    createBotbuilderConnector({
      appId: deps.appId,
      appPassword: deps.appPassword,
      ...(deps.tenantId ? { tenantId: deps.tenantId } : {}),
      ...(deps.openIdMetadataUrl ? { openIdMetadataUrl: deps.openIdMetadataUrl } : {}),
      ...(deps.loginUrl ? { loginUrl: deps.loginUrl } : {}),
      clock: ctx.clock,
      logger: ctx.logger,
    });
  const work = createWorkQueue({
    // SQLite's driver is synchronous: one task at a time, so the event loop gets a turn between them.
    concurrency: ctx.store.dialect === 'sqlite' ? 1 : 4,
    maxPending: MAX_PENDING_WORK,
    onError: (error) => ctx.logger.error({ err: (error as Error).message }, 'Teams work failed'),
  });
  const actionDeps: TeamsActionDeps = {
    ctx,
    connector,
    work,
    state: createTeamsClickState(),
    cardUpdates: createCardUpdateThrottle(CARD_UPDATE_SPACING_MS, (key, task) => {
      if (work.push(key, task) === 'full') ctx.logger.warn({ key }, 'Teams card update dropped: the face\'s work queue is full');
    }),
    ...(deps.invokeDeadlineMs === undefined ? {} : { deadlineMs: deps.invokeDeadlineMs }),
  };
  const router = Router();
  const readJson = express.json({ limit: MAX_BODY, type: () => true });
  router.post(TEAMS_MESSAGES_PATH, (req, res, next) => {
    readJson(req, res, (error?: unknown) => {
      if (!error) return next();
      const status = (error as { status?: number }).status;
      res.status(status === 413 ? 413 : 400).type('text/plain').send(status === 413 ? 'request too large' : 'bad request');
    });
  }, (req, res, next) => {
    const audit = (reason: string) =>
      recordRejectedChatRequest(ctx, { platform: 'teams', reason, remoteAddress: req.ip ?? req.socket.remoteAddress ?? null, path: req.originalUrl.slice(0, 200) });
    connector
      .handle(req, res, {
        onRejected: audit,
        onTurn: async (turn) => {
          const tenant = tenantOf(req);
          if (deps.tenantId !== undefined && tenant !== deps.tenantId) {
            await audit('wrong_tenant');
            return { status: 403 };
          }
          return handleTeamsTurn(actionDeps, turn);
        },
      })
      .catch(next);
  });
  return {
    router,
    notifier: createTeamsNotifier({ ctx, connector }),
    direct: createTeamsDirectNotifier({ ctx, connector }),
    async drain() {
      await work.drain();
      // A card update waiting for its turn is queued when the turn comes; then the queue is drained again.
      await actionDeps.cardUpdates.settled();
      await work.drain();
    },
  };
}
