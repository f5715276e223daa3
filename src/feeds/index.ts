import { PatchdeckError } from '../core/errors.js';
import { kevFeed } from './kev.js';
import { osvFeed } from './osv.js';
import { rssFeed } from './rss.js';
import type { FeedPlugin } from './types.js';

/** Every feed kind Patchdeck reads, one plugin file each in this folder. */
export const FEED_PLUGINS: readonly FeedPlugin[] = [kevFeed, osvFeed, rssFeed];

export function listFeedKinds(): string[] {
  return FEED_PLUGINS.map((plugin) => plugin.kind);
}

export function getFeedPlugin(kind: string): FeedPlugin {
  const plugin = FEED_PLUGINS.find((p) => p.kind === kind);
  if (!plugin) {
    throw new PatchdeckError('PD_FEED_UNKNOWN_KIND', `unknown feed kind "${kind}" (known kinds: ${listFeedKinds().join(', ')})`);
  }
  return plugin;
}
