import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { SLACK_EVENTS_PATH } from '../../../src/chat/slack/face.js';

describe('manifests/slack.yaml', () => {
  const manifest = YAML.parse(readFileSync(new URL('../../../manifests/slack.yaml', import.meta.url), 'utf8')) as {
    display_information: { name: string };
    features: { bot_user: { display_name: string } };
    oauth_config: { scopes: { bot: string[] } };
    settings: { interactivity: { is_enabled: boolean; request_url: string }; socket_mode_enabled: boolean };
  };

  it('asks only for the scopes the notifier uses and points interactivity at the events endpoint', () => {
    expect(manifest.display_information.name).toBe('Patchdeck');
    expect(manifest.features.bot_user.display_name).toBe('Patchdeck');
    expect(manifest.oauth_config.scopes.bot.sort()).toEqual(['chat:write', 'chat:write.public']);
    expect(manifest.settings.interactivity).toEqual({ is_enabled: true, request_url: `https://patchdeck.example.com${SLACK_EVENTS_PATH}` });
    expect(manifest.settings.socket_mode_enabled).toBe(false);
  });
});
