import type { webApi } from '@slack/bolt';
import type { ChatMessage } from '../../core/messages.js';
import type { DirectNotifier } from '../../workflow/reboots.js';
import { renderSlackMessage } from './render.js';

/**
 * Direct messages through the Bolt app's WebClient: `conversations.open` with the person's Slack user
 * id gives the DM channel (the same one every time), then `chat.postMessage` into it. People without a
 * Slack id are not reachable here.
 */
export function createSlackDirectNotifier(client: webApi.WebClient): DirectNotifier {
  return {
    platform: 'slack',
    async postDirect(person, message: ChatMessage) {
      if (person.slack === undefined) return null;
      const opened = await client.conversations.open({ users: person.slack });
      const channel = opened.channel?.id;
      if (typeof channel !== 'string') throw new Error(`Slack conversations.open for ${person.id} answered without a channel id`);
      const { text, blocks } = renderSlackMessage(message);
      const answer = await client.chat.postMessage({ channel, text, blocks, unfurl_links: false, unfurl_media: false });
      if (typeof answer.ts !== 'string') throw new Error(`Slack chat.postMessage to ${person.id} answered without a ts`);
      return { channel: typeof answer.channel === 'string' ? answer.channel : channel, ts: answer.ts };
    },
    async update(channel, ts, message) {
      const { text, blocks } = renderSlackMessage(message);
      await client.chat.update({ channel, ts, text, blocks });
    },
  };
}
