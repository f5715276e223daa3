import type { ChatMessage } from '../core/messages.js';

/** The port through which the workflow talks to a chat platform (or the web console's inbox). */
export interface Notifier {
  readonly platform: 'slack' | 'console' | 'teams';
  post(channel: string, message: ChatMessage): Promise<{ channel: string; ts: string | null }>;
  update(channel: string, ts: string, message: ChatMessage): Promise<void>;
}
