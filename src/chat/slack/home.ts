import type { App, webApi } from '@slack/bolt';
import { claimChatEvent } from '../../workflow/chat-events.js';
import type { WorkflowContext } from '../../workflow/context.js';
import { loadMyWork, replyOptionsFor } from './my-work.js';
import { buildHomeView } from './replies.js';
import type { SlackHandlerDeps } from './services.js';

/**
 * The App Home tab, published when a user opens it. Bolt acknowledges events before listeners run;
 * Slack redelivers an event it thinks we missed (`X-Slack-Retry-Num`), so each event id is claimed
 * once in the store and a redelivery is dropped even when it reaches another instance.
 */
export function registerSlackHome(app: App, deps: SlackHandlerDeps): void {
  const { ctx, work } = deps;
  app.event('app_home_opened', async ({ event, body, client, context }) => {
    if (event.tab !== 'home') return;
    const eventId = typeof body.event_id === 'string' ? body.event_id : null;
    // Opening the tab twice before the first is published needs one publish.
    work.push(`home:${event.user}`, async () => {
      try {
        if (eventId !== null && !(await claimChatEvent(ctx, { platform: 'slack', eventId }))) {
          ctx.logger.debug({ eventId, retryNum: context.retryNum }, 'Slack event delivered again; already handled');
          return;
        }
        await publishHome(ctx, client, event.user, null);
      } catch (error) {
        ctx.logger.error({ err: (error as Error).message, eventId }, 'could not publish the Slack Home tab');
      }
    });
  });
}

/** Renders one user's Home tab and sends it; `notice` is shown on top (the outcome of a click there). */
export async function publishHome(ctx: WorkflowContext, client: webApi.WebClient, slackUserId: string, notice: string | null): Promise<void> {
  const view = buildHomeView(await loadMyWork(ctx, slackUserId), slackUserId, replyOptionsFor(ctx), notice);
  // Sent without waiting: a slow or rate-limited Slack must not hold the face's work queue.
  void client.views.publish({ user_id: slackUserId, view }).catch((error: unknown) => {
    ctx.logger.error({ err: (error as Error).message, user: slackUserId }, 'could not publish the Slack Home tab');
  });
}
