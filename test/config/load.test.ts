import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'patchdeck-config-'));
}

describe('loadConfig', () => {
  it('runs the offline demo when no config file exists', () => {
    const { config, source } = loadConfig({ cwd: tempDir(), env: {} });
    expect(config.demo.enabled).toBe(true);
    expect(config.databaseUrl).toBe('sqlite:./data/patchdeck.db');
    expect(config.people.map((p) => p.id)).toEqual(['alice', 'bob', 'carol', 'dave']);
    expect(config.feeds.map((f) => f.kind)).toEqual(['kev', 'osv', 'osv', 'rss', 'rss']);
    expect(source).toMatch(/demo/);
  });

  it('reads patchdeck.yaml from the working directory and applies environment overrides', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'patchdeck.yaml'), 'timezone: Europe/Berlin\nport: 4000\npolicy:\n  sla:\n    critical: 12h\n');
    const { config } = loadConfig({
      cwd: dir,
      env: { PORT: '5000', DATABASE_URL: 'postgres://db/x', SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's3cret', SLACK_API_URL: 'http://127.0.0.1:9/api/' },
    });
    expect(config.timezone).toBe('Europe/Berlin');
    expect(config.port).toBe(5000);
    expect(config.databaseUrl).toBe('postgres://db/x');
    expect(config.policy.sla).toEqual({ critical: '12h', high: '7d', medium: '30d', low: '90d' });
    expect(config.slack).toMatchObject({ botToken: 'xoxb-1', signingSecret: 's3cret', apiUrl: 'http://127.0.0.1:9/api/' });
    expect(config.demo.enabled).toBe(false);
  });

  it('fails fast naming the setting at fault', () => {
    expect(() => parseConfig({ policy: { sla: { high: 'a week' } } })).toThrow(/policy\.sla\.high/);
    expect(() => parseConfig({ timezone: 'Mars/Olympus' })).toThrow(/timezone/);
    expect(() => parseConfig({ slack: { botToken: 'xoxb-only' } })).toThrow(/signingSecret/);
    expect(() => loadConfig({ cwd: tempDir(), env: { PORT: 'eighty' } })).toThrow(/PORT/);
    expect(() => loadConfig({ cwd: tempDir(), file: 'missing.yaml', env: {} })).toThrow(/does not exist/);
  });

  it('reports a broken YAML file with its path', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'bad.yaml'), 'port: [unclosed\n');
    expect(() => loadConfig({ cwd: dir, file: 'bad.yaml', env: {} })).toThrow(/bad\.yaml is not valid YAML/);
  });
});

describe('channel settings and maintenance', () => {
  it('names a bad quiet-hours time or time zone at start-up, and fills in the reboot notice defaults', () => {
    expect(() => parseConfig({ routing: { channels: { '#p': { quietHours: { start: '24:00', end: '07:00' } } } } })).toThrow(/routing\.channels\.#p\.quietHours\.start/);
    expect(() => parseConfig({ routing: { channels: { '#p': { timezone: 'Mars/Olympus' } } } })).toThrow(/IANA time zone/);
    expect(parseConfig({}).maintenance).toEqual({ rebootNotices: true, rebootNoticeLead: '1h', rebootPostpone: '2h', rebootPostponeLimit: 2, rebootDeadline: '24h' });
    expect(parseConfig({}).routing.slaReminderAt).toBe(0.75);
  });
});
