import type { Notifier } from '../../workflow/notifications.js';

/**
 * The notifier used when no chat platform is configured: nothing leaves the process. The notification
 * service stores every message with platform `console`, and the web console shows those as its inbox,
 * always from the freshest stored payload, so there is nothing to update here.
 */
export function createConsoleNotifier(): Notifier {
  return {
    platform: 'console',
    async post(channel: string) {
      return { channel, ts: null };
    },
    async update() {},
  };
}
