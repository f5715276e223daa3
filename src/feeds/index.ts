import { PatchdeckError } from '../core/errors.js';
import { csafFeed } from './csaf.js';
import { distroFeed } from './distro.js';
import { epssFeed } from './epss.js';
import { kevFeed } from './kev.js';
import { msrcFeed } from './msrc.js';
import { osvFeed } from './osv.js';
import { rssFeed } from './rss.js';
import type { FeedPlugin } from './types.js';

/** Every feed kind Patchdeck reads, one plugin file each in this folder. */
export const FEED_PLUGINS: readonly FeedPlugin[] = [kevFeed, osvFeed, rssFeed, distroFeed, csafFeed, epssFeed, msrcFeed];

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
