import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { SLASH_COMMAND } from '../../../src/chat/slack/commands.js';
import { SLACK_EVENTS_PATH } from '../../../src/chat/slack/face.js';
import { CASE_SHORTCUT_ID } from '../../../src/chat/slack/shortcuts.js';

describe('manifests/slack.yaml', () => {
  const manifest = YAML.parse(readFileSync(new URL('../../../manifests/slack.yaml', import.meta.url), 'utf8')) as {
    display_information: { name: string };
    features: {
      bot_user: { display_name: string };
      app_home: { home_tab_enabled: boolean };
      slash_commands: { command: string; url: string; description: string; should_escape: boolean }[];
      shortcuts: { name: string; type: string; callback_id: string; description: string }[];
    };
    oauth_config: { scopes: { bot: string[] } };
    settings: {
      interactivity: { is_enabled: boolean; request_url: string };
      event_subscriptions: { request_url: string; bot_events: string[] };
      socket_mode_enabled: boolean;
    };
  };
  const endpoint = `https://patchdeck.example.com${SLACK_EVENTS_PATH}`;

  it('asks only for the scopes the face uses and points interactivity at the events endpoint', () => {
    expect(manifest.display_information.name).toBe('Patchdeck');
    expect(manifest.features.bot_user.display_name).toBe('Patchdeck');
    expect(manifest.oauth_config.scopes.bot.sort()).toEqual(['chat:write', 'chat:write.public', 'commands', 'im:write']);
    expect(manifest.settings.interactivity).toEqual({ is_enabled: true, request_url: endpoint });
    expect(manifest.settings.socket_mode_enabled).toBe(false);
  });

  it('declares /patchdeck, the Home tab, the app_home_opened event and the message shortcut', () => {
    expect(manifest.features.slash_commands).toEqual([expect.objectContaining({ command: SLASH_COMMAND, url: endpoint, should_escape: false })]);
    expect(manifest.features.slash_commands[0]!.description.length).toBeLessThanOrEqual(100);
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
    expect(manifest.settings.event_subscriptions).toEqual({ request_url: endpoint, bot_events: ['app_home_opened'] });
    expect(manifest.features.shortcuts).toEqual([expect.objectContaining({ type: 'message', callback_id: CASE_SHORTCUT_ID })]);
  });
});
