import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { CLI_NOW, pilotedCase, runCliFor, writeCliConfig } from '../helpers/case-fixtures.js';
import { describeEachStore } from '../helpers/stores.js';

const NOW = CLI_NOW;

describeEachStore('patchdeck rollout commands', (s) => {
  let configFile: string;
  beforeEach(() => {
    const dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-cli-rollout-'));
    configFile = writeCliConfig(dir);
    return () => rmSync(dir, { recursive: true, force: true });
  });
  const run = (...argv: string[]) => runCliFor(s, configFile, ...argv);

  it('lists rollouts and says so when there are none', async () => {
    expect((await run('rollout', 'list')).out).toBe('No rollouts yet; a rollout starts when a case is approved.\n');
    expect(JSON.parse((await run('rollout', 'list', '--json')).out)).toEqual([]);
    const { caseId } = await pilotedCase(s);
    const list = await run('rollout', 'list');
    expect(list.code, list.err).toBe(0);
    expect(list.out.split('\n')[0]).toMatch(/^ID\s+CASE\s+STATE\s+WAVE\s+HOSTS\s+FAILED\s+CONNECTOR\s+STARTED\s+TITLE$/);
    expect(list.out.split('\n')[1]).toMatch(new RegExp(`^1\\s+${caseId}\\s+awaiting_signoff\\s+1/2\\s+6\\s+0\\s+simulator\\s+2026-11-23 10:00 CET\\s+OpenSSL vulnerabilities$`));
    const json = JSON.parse((await run('rollout', 'list', '--json')).out) as Record<string, unknown>[];
    expect(json).toEqual([
      { id: 1, caseId, caseTitle: 'OpenSSL vulnerabilities', state: 'awaiting_signoff', connector: 'simulator', startedBy: 'alice', currentWave: 0, waves: 2, targets: 6, failed: 0, createdAt: NOW, completedAt: null },
    ]);
  });

  it('shows a rollout with counts per state and every host', async () => {
    const { caseId } = await pilotedCase(s, { failureRate: 1 });
    const status = await run('rollout', 'status', '1');
    expect(status.code, status.err).toBe(0);
    expect(status.out).toContain(`Rollout #1 for case #${caseId}: OpenSSL vulnerabilities\n`);
    expect(status.out).toContain('State: halted, wave 1 of 2, connector simulator, started by alice\n');
    expect(status.out).toContain('Halted: pilot (wave 0): 2 of 2 hosts failed (100%: 2 installs), above the 20% limit\n');
    expect(status.out).toContain('Hosts: 6 (4 queued, 2 failed)\n');
    expect(status.out).toMatch(/WAVE\s+RING\s+HOST\s+STATE\s+TRIES\s+UPDATED\s+DETAIL/);
    expect(status.out).toMatch(/0\s+pilot\s+host-00[15]\s+failed\s+1\s+2026-11-23 10:00 CET\s+\S+/);
    expect(status.out.match(/broad\s+host-\d+\s+queued/g)).toHaveLength(4);
    const json = JSON.parse((await run('rollout', 'status', '1', '--json')).out) as { state: string; byState: Record<string, number>; hosts: { hostName: string; state: string; detail: string | null }[] };
    expect(json.state).toBe('halted');
    expect(json.byState).toEqual({ failed: 2, queued: 4 });
    expect(json.hosts).toHaveLength(6);
    expect(json.hosts.filter((h) => h.state === 'failed').every((h) => (h.detail ?? '').length > 0)).toBe(true);
  });

  it('refuses a missing rollout (exit 1) and a malformed id (exit 2)', async () => {
    const missing = await run('rollout', 'status', '77');
    expect([missing.code, missing.err]).toEqual([1, 'patchdeck: [PD_ROLLOUT_NOT_FOUND] there is no rollout 77; see `patchdeck rollout list`\n']);
    expect((await run('rollout', 'status', '-3')).code).toBe(2);
    expect((await run('rollout', 'status', '1.5')).code).toBe(2);
    const help = await run('rollout', 'status', '--help');
    expect(help.out.replace(/\s+/g, ' ')).toContain('and every host with its wave, state and last result');
  });
});
