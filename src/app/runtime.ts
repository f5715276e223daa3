import type { Logger } from 'pino';
import { createConsoleNotifier } from '../chat/console/notifier.js';
import { createSlackDirectNotifier } from '../chat/slack/direct.js';
import { createSlackFace, type SlackFace } from '../chat/slack/face.js';
import { createTeamsFace, type TeamsFace } from '../chat/teams/face.js';
import { createConnectorRegistry, type ConnectorRegistry } from '../connectors/index.js';
import type { Clock } from '../core/clock.js';
import type { Config } from '../config/schema.js';
import { migrateToLatest, openStore, type Store } from '../store/db.js';
import type { WorkflowContext } from '../workflow/context.js';
import { createApprovalJobHandlers } from '../workflow/approvals.js';
import { createAssessJobHandlers } from '../workflow/assess-jobs.js';
import { createExemptionJobHandlers } from '../workflow/exemptions.js';
import { createFeedJobHandlers } from '../workflow/feeds.js';
import type { JobHandlers } from '../workflow/jobs.js';
import { createNotificationJobHandlers, type Notifier } from '../workflow/notifications.js';
import { createConsoleDirectNotifier, createRebootJobHandlers, type DirectNotifier } from '../workflow/reboots.js';
import { createRolloutJobHandlers } from '../workflow/rollouts.js';
import { createReviewJobHandlers } from '../workflow/reviews.js';
import { createWithdrawalJobHandlers } from '../workflow/withdrawals.js';
import { createDigestJobHandlers } from '../workflow/digest.js';
import { createSlaJobHandlers } from '../workflow/sla-sweep.js';

/** Everything one Patchdeck instance runs on, wired once. */
export interface Runtime {
  ctx: WorkflowContext;
  /** The first enabled platform's notifier (the console when no chat platform is configured). */
  notifier: Notifier;
  slack: SlackFace | null;
  teams: TeamsFace | null;
  connectors: ConnectorRegistry;
  handlers: JobHandlers;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  config: Config;
  clock: Clock;
  logger: Logger;
  /** An already open store (tests); otherwise config.databaseUrl is opened and migrated. */
  store?: Store;
  /** Connectors' sleep, injectable so tests need not wait for simulated delays. */
  sleep?: (ms: number) => Promise<void>;
}

export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config, clock, logger } = options;
  const ownsStore = options.store === undefined;
  const store = options.store ?? (await openStore(config.databaseUrl));
  try {
    if (ownsStore) await migrateToLatest(store);
    const ctx: WorkflowContext = { store, clock, logger, config };
    const connectors = createConnectorRegistry(config, options.sleep ? { sleep: options.sleep } : {});
    // Fail at start-up, naming the setting, rather than at the first approval.
    connectors.get(config.rollout.connector);
    const slack =
      config.slack.botToken && config.slack.signingSecret
        ? createSlackFace({
            ctx,
            botToken: config.slack.botToken,
            signingSecret: config.slack.signingSecret,
            ...(config.slack.apiUrl ? { apiUrl: config.slack.apiUrl } : {}),
            ...(config.slack.botUserId ? { botUserId: config.slack.botUserId } : {}),
            ...(config.slack.botId ? { botId: config.slack.botId } : {}),
          })
        : null;
    const teams =
      config.teams.appId && config.teams.appPassword
        ? createTeamsFace({
            ctx,
            appId: config.teams.appId,
            appPassword: config.teams.appPassword,
            ...(config.teams.tenantId ? { tenantId: config.teams.tenantId } : {}),
            ...(config.teams.openIdMetadataUrl ? { openIdMetadataUrl: config.teams.openIdMetadataUrl } : {}),
            ...(config.teams.loginUrl ? { loginUrl: config.teams.loginUrl } : {}),
          })
        : null;
    const notifiers: Notifier[] = [slack?.notifier, teams?.notifier].filter((n): n is Notifier => n !== undefined);
    if (notifiers.length === 0) notifiers.push(createConsoleNotifier());
    const notifier = notifiers[0]!;
    // Direct messages to one person (reboot notices): a Slack DM, a Teams personal chat, else the web console.
    const directNotifiers: DirectNotifier[] = [slack ? createSlackDirectNotifier(slack.app.client) : undefined, teams?.direct].filter((n): n is DirectNotifier => n !== undefined);
    if (directNotifiers.length === 0) directNotifiers.push(createConsoleDirectNotifier());
    const handlers: JobHandlers = {
      ...createFeedJobHandlers({ notifiers }),
      ...createNotificationJobHandlers({ notifiers, people: config.people }),
      ...createRolloutJobHandlers({ connectors }),
      ...createRebootJobHandlers({ notifiers: directNotifiers }),
      ...createSlaJobHandlers({ directNotifiers }),
      ...createDigestJobHandlers({ notifiers }),
      ...createApprovalJobHandlers(),
      ...createExemptionJobHandlers({ notifiers, directNotifiers }),
      ...createWithdrawalJobHandlers(),
      ...createReviewJobHandlers({ notifiers }),
      ...createAssessJobHandlers(),
    };
    return {
      ctx,
      notifier,
      slack,
      teams,
      connectors,
      handlers,
      async close() {
        if (ownsStore) await store.close();
      },
    };
  } catch (error) {
    if (ownsStore) await store.close();
    throw error;
  }
}
