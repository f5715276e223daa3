import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createConnectorRegistry } from '../../src/connectors/index.js';
import { createSimulatorConnector } from '../../src/connectors/simulator.js';
import type { ConnectorArtifact, ConnectorTarget } from '../../src/connectors/types.js';

const SETTINGS = { seed: 3, failureRate: 0, rebootFailureRate: 0, delayMs: 0 };
const SHA = 'ab'.repeat(32);
const DEB: ConnectorArtifact = { package: 'libssl3', path: `/cache/sha256/ab/${SHA}`, sha256: SHA, size: 10, fileName: 'libssl3_3.0.2_amd64.deb', url: 'http://m/libssl3.deb' };

function target(artifacts: ConnectorArtifact[], names = ['libssl3', 'curl']): ConnectorTarget {
  return { rolloutId: 1, hostName: 'web-01', packages: names.map((name) => ({ ecosystem: 'Ubuntu:22.04:LTS', name, installed: '1', fixed: '2' })), artifacts };
}

describe('simulator connector with cached artifacts', () => {
  it('names the artifact it installed from, per package, and reports it', async () => {
    const result = await createSimulatorConnector(SETTINGS).install(target([DEB]));
    expect(result).toEqual({
      ok: true,
      detail: `installed libssl3 2 from libssl3_3.0.2_amd64.deb (sha256 ${SHA.slice(0, 12)}), curl 2`,
      rebootRequired: true,
      artifacts: [{ package: 'libssl3', fileName: 'libssl3_3.0.2_amd64.deb', sha256: SHA }],
    });
    // Without artifacts it answers as before, with no artifacts field.
    expect(await createSimulatorConnector(SETTINGS).install(target([], ['curl']))).toEqual({ ok: true, detail: 'installed curl 2', rebootRequired: false });
  });

  it('fails the host when the policy requires offline artifacts and a package has none, and remembers it as unpatched', async () => {
    const connector = createSimulatorConnector(SETTINGS, undefined, { requireOfflineArtifacts: true });
    const result = await connector.install(target([DEB]));
    expect(result).toEqual({ ok: false, detail: expect.stringContaining('no verified offline artifact for curl'), rebootRequired: false });
    expect(result.detail).toContain('[PD_ARTIFACT_MISSING]');
    expect(await connector.getState(target([DEB]))).toBe('unpatched');
    expect((await connector.install(target([DEB], ['libssl3']))).ok).toBe(true);
  });

  it('reads the policy from config deploy.requireOfflineArtifacts (off by default, so the demo installs without a cache)', async () => {
    expect(parseConfig({}).deploy.requireOfflineArtifacts).toBe(false);
    const off = createConnectorRegistry(parseConfig({ connectors: { simulator: SETTINGS } })).get('simulator');
    expect((await off.install(target([]))).ok).toBe(true);
    const on = createConnectorRegistry(parseConfig({ deploy: { requireOfflineArtifacts: true }, connectors: { simulator: SETTINGS } })).get('simulator');
    expect((await on.install(target([]))).ok).toBe(false);
  });
});
