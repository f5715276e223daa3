import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FEED_PLUGINS, getFeedPlugin, listFeedKinds } from '../../src/feeds/index.js';

const FEEDS_DIR = new URL('../../src/feeds/', import.meta.url);

describe('feed registry', () => {
  it('registers exactly the plugin files of src/feeds, each under its file name', () => {
    const files = readdirSync(FEEDS_DIR, { withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts') && e.name !== 'index.ts' && e.name !== 'types.ts')
      .map((e) => e.name.replace(/\.ts$/, ''))
      .sort();
    expect(listFeedKinds().sort()).toEqual(files);
    expect(new Set(listFeedKinds()).size).toBe(FEED_PLUGINS.length);
  });

  it('describes every plugin and names the extensions a directory read picks up', () => {
    for (const plugin of FEED_PLUGINS) {
      expect(plugin.description.length).toBeGreaterThan(10);
      expect(plugin.fileExtensions.length).toBeGreaterThan(0);
    }
  });

  it('refuses an unknown kind and lists the known ones', () => {
    expect(getFeedPlugin('osv').kind).toBe('osv');
    expect(() => getFeedPlugin('nessus')).toThrow(expect.objectContaining({ code: 'PD_FEED_UNKNOWN_KIND', message: expect.stringContaining('kev, osv, rss') }));
  });
});
