import type { webApi } from '@slack/bolt';
import type { ChatMessage } from '../../core/messages.js';
import type { Notifier } from '../../workflow/notifications.js';
import { renderSlackMessage } from './render.js';

/**
 * Posts and updates Block Kit messages through the Bolt app's WebClient. Rate limits (429 with
 * Retry-After) are waited out and retried by the WebClient itself; other failures throw, so the job
 * that called us is retried by the queue.
 */
export function createSlackNotifier(client: webApi.WebClient): Notifier {
  return {
    platform: 'slack',
    async post(channel: string, message: ChatMessage) {
      const { text, blocks } = renderSlackMessage(message);
      const answer = await client.chat.postMessage({ channel, text, blocks, unfurl_links: false, unfurl_media: false });
      if (typeof answer.ts !== 'string' || typeof answer.channel !== 'string') {
        throw new Error(`Slack chat.postMessage to ${channel} answered without a channel and ts`);
      }
      return { channel: answer.channel, ts: answer.ts };
    },
    async update(channel: string, ts: string, message: ChatMessage) {
      const { text, blocks } = renderSlackMessage(message);
      await client.chat.update({ channel, ts, text, blocks });
    },
  };
}
