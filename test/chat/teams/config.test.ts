import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../../src/config/load.js';

describe('teams config', () => {
  it('defaults to off, with no channel mapping', () => {
    expect(parseConfig({}).teams).toEqual({ channels: {} });
  });

  it('wants both appId and appPassword, or neither', () => {
    expect(() => parseConfig({ teams: { appId: 'a' } })).toThrow(/"teams": set both appId \(TEAMS_APP_ID\) and appPassword \(TEAMS_APP_PASSWORD\)/);
    expect(() => parseConfig({ teams: { appPassword: 'p' } })).toThrow(/"teams"/);
    expect(parseConfig({ teams: { appId: 'a', appPassword: 'p', channels: { '#patching': '19:x@thread.tacv2' } } }).teams).toMatchObject({ appId: 'a', channels: { '#patching': '19:x@thread.tacv2' } });
  });

  it('takes the app id, password and tenant from the environment, keeping the file\'s other settings', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-teams-config-'));
    const file = path.join(dir, 'patchdeck.yaml');
    writeFileSync(file, 'teams:\n  channels:\n    "#patching": "19:p@thread.tacv2"\npeople:\n  - { id: alice, name: Alice, teams: aad-alice }\n');
    const { config } = loadConfig({ file, env: { TEAMS_APP_ID: 'app', TEAMS_APP_PASSWORD: 'secret', TEAMS_TENANT_ID: 'tenant' } });
    expect(config.teams).toEqual({ appId: 'app', appPassword: 'secret', tenantId: 'tenant', channels: { '#patching': '19:p@thread.tacv2' } });
    expect(config.people[0]).toMatchObject({ id: 'alice', teams: 'aad-alice' });
  });
});
