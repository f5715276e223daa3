import type { webApi } from '@slack/bolt';
import type { ChatMessage } from '../../core/messages.js';
import type { Notifier, PostOptions } from '../../workflow/notifications.js';
import { renderSlackMessage } from './render.js';

/** Slack allows about one chat.postMessage per second per channel; chat.update shares the pace. */
export const SLACK_CHANNEL_SPACING_MS = 1000;

export interface SlackNotifierOptions {
  /** Least time between two calls into one channel; tests shorten it. */
  channelSpacingMs?: number;
}

/**
 * One queue per channel: each call starts `spacingMs` after the previous call into the same channel
 * finished (counting from the finish keeps arrivals at Slack spaced however long a call takes), so a
 * 429 being waited out holds the channel's later calls too. Channels are independent. A channel posted to by name is also known by the id
 * Slack answers with, so later updates (which use the id) share its queue.
 */
export function createChannelPacer(spacingMs: number) {
  const tails = new Map<string, Promise<void>>();
  const lastDone = new Map<string, number>();
  const aliases = new Map<string, string>();
  const keyOf = (channel: string) => aliases.get(channel) ?? channel;
  return {
    run<T>(channel: string, call: () => Promise<T>): Promise<T> {
      const key = keyOf(channel);
      const previous = tails.get(key) ?? Promise.resolve();
      const result = previous.then(async () => {
        const wait = (lastDone.get(key) ?? -Infinity) + spacingMs - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        try {
          return await call();
        } finally {
          lastDone.set(key, Date.now());
        }
      });
      const tail = result.then(
        () => undefined,
        () => undefined,
      );
      tails.set(key, tail);
      // Forget idle channels, so the map holds only channels with calls in flight.
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },
    /** Records that `name` (e.g. `#patching`) is the channel Slack calls `id`. */
    alias(name: string, id: string): void {
      if (name === id) return;
      aliases.set(name, id);
      const named = lastDone.get(name);
      if (named !== undefined && named > (lastDone.get(id) ?? -Infinity)) lastDone.set(id, named);
    },
  };
}

/**
 * Posts and updates Block Kit messages through the Bolt app's WebClient, paced per channel. Rate
 * limits (429 with Retry-After) are waited out and retried by the WebClient itself, inside the
 * channel's turn; other failures throw, so the job that called us is retried by the queue.
 */
export function createSlackNotifier(client: webApi.WebClient, options: SlackNotifierOptions = {}): Notifier {
  const pacer = createChannelPacer(options.channelSpacingMs ?? SLACK_CHANNEL_SPACING_MS);
  return {
    platform: 'slack',
    async post(channel: string, message: ChatMessage, options?: PostOptions) {
      const { text, blocks } = renderSlackMessage(message);
      const thread = options?.threadTs === undefined ? {} : { thread_ts: options.threadTs };
      const answer = await pacer.run(channel, () => client.chat.postMessage({ channel, text, blocks, unfurl_links: false, unfurl_media: false, ...thread }));
      if (typeof answer.ts !== 'string' || typeof answer.channel !== 'string') {
        throw new Error(`Slack chat.postMessage to ${channel} answered without a channel and ts`);
      }
      pacer.alias(channel, answer.channel);
      return { channel: answer.channel, ts: answer.ts };
    },
    async update(channel: string, ts: string, message: ChatMessage) {
      const { text, blocks } = renderSlackMessage(message);
      await pacer.run(channel, () => client.chat.update({ channel, ts, text, blocks }));
    },
  };
}
