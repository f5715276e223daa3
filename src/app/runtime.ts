import type { Logger } from 'pino';
import { createConsoleNotifier } from '../chat/console/notifier.js';
import { createSlackFace, type SlackFace } from '../chat/slack/face.js';
import { createConnectorRegistry, type ConnectorRegistry } from '../connectors/index.js';
import type { Clock } from '../core/clock.js';
import type { Config } from '../config/schema.js';
import { migrateToLatest, openStore, type Store } from '../store/db.js';
import type { WorkflowContext } from '../workflow/context.js';
import { createFeedJobHandlers } from '../workflow/feeds.js';
import type { JobHandlers } from '../workflow/jobs.js';
import { createNotificationJobHandlers, type Notifier } from '../workflow/notifications.js';
import { createRolloutJobHandlers } from '../workflow/rollouts.js';

/** Everything one Patchdeck instance runs on, wired once. */
export interface Runtime {
  ctx: WorkflowContext;
  notifier: Notifier;
  slack: SlackFace | null;
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
    const notifier = slack?.notifier ?? createConsoleNotifier();
    const handlers: JobHandlers = {
      ...createFeedJobHandlers({}),
      ...createNotificationJobHandlers({ notifier, people: config.people }),
      ...createRolloutJobHandlers({ connectors }),
    };
    return {
      ctx,
      notifier,
      slack,
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
