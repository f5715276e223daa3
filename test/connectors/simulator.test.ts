import { describe, expect, it } from 'vitest';
import { createSimulatorConnector, hashUnit } from '../../src/connectors/simulator.js';
import type { ConnectorTarget } from '../../src/connectors/types.js';

const settings = { seed: 7, failureRate: 0.3, rebootFailureRate: 0.5, delayMs: 0 };

function target(hostName: string, rolloutId = 1, packageName = 'libssl3'): ConnectorTarget {
  return { rolloutId, hostName, packages: [{ ecosystem: 'Ubuntu:22.04:LTS', name: packageName, installed: '3.0.2-0ubuntu1.10', fixed: '3.0.2-0ubuntu1.18' }] };
}

async function outcomes(config: typeof settings, rolloutId = 1) {
  const connector = createSimulatorConnector(config);
  const results: { install: boolean; installDetail: string; reboot: boolean | null; rebootDetail: string | null }[] = [];
  for (let i = 0; i < 200; i++) {
    const t = target(`host-${i}`, rolloutId);
    const install = await connector.install(t);
    const reboot = install.ok && install.rebootRequired ? await connector.reboot(t) : null;
    results.push({ install: install.ok, installDetail: install.detail, reboot: reboot?.ok ?? null, rebootDetail: reboot?.detail ?? null });
  }
  return results;
}

describe('simulator connector', () => {
  it('gives the same outcomes for the same seed, rollout and host, and others for another seed', async () => {
    const first = await outcomes(settings);
    expect(await outcomes(settings)).toEqual(first);
    expect(await outcomes({ ...settings, seed: 8 })).not.toEqual(first);
    expect(await outcomes(settings, 2)).not.toEqual(first);
    expect(hashUnit(1, 2, 'a')).toBe(hashUnit(1, 2, 'a'));
    expect(hashUnit(1, 2, 'a')).toBeGreaterThanOrEqual(0);
    expect(hashUnit(1, 2, 'a')).toBeLessThan(1);
  });

  it('fails installs and reboots at about the configured rates', async () => {
    const results = await outcomes(settings);
    const failedInstalls = results.filter((r) => !r.install).length;
    const reboots = results.filter((r) => r.reboot !== null);
    const failedReboots = reboots.filter((r) => r.reboot === false).length;
    expect(reboots.length).toBe(200 - failedInstalls);
    expect(failedInstalls).toBeGreaterThan(40);
    expect(failedInstalls).toBeLessThan(80);
    expect(failedReboots / reboots.length).toBeGreaterThan(0.35);
    expect(failedReboots / reboots.length).toBeLessThan(0.65);
    const never = await outcomes({ ...settings, failureRate: 0, rebootFailureRate: 0 });
    expect(never.every((r) => r.install && r.reboot === true)).toBe(true);
    const always = await outcomes({ ...settings, failureRate: 1 });
    expect(always.every((r) => !r.install && r.reboot === null && r.installDetail.length > 0)).toBe(true);
  });

  it('asks for a reboot only for packages that need one', async () => {
    const connector = createSimulatorConnector({ ...settings, failureRate: 0 });
    expect((await connector.install(target('a', 1, 'libssl3'))).rebootRequired).toBe(true);
    expect((await connector.install(target('b', 1, 'linux-image-generic'))).rebootRequired).toBe(true);
    const curl = await connector.install(target('c', 1, 'curl'));
    expect(curl).toEqual({ ok: true, detail: 'installed curl 3.0.2-0ubuntu1.18', rebootRequired: false });
  });

  it('remembers what it installed', async () => {
    const connector = createSimulatorConnector({ ...settings, failureRate: 0 });
    expect(await connector.getState(target('a'))).toBe('unknown');
    await connector.install(target('a'));
    expect(await connector.getState(target('a'))).toBe('patched');
    const failing = createSimulatorConnector({ ...settings, failureRate: 1 });
    await failing.install(target('a'));
    expect(await failing.getState(target('a'))).toBe('unpatched');
  });

  it('waits delayMs per action through the injected sleep, and stops when cancelled', async () => {
    const waits: number[] = [];
    const connector = createSimulatorConnector({ ...settings, delayMs: 250 }, async (ms) => {
      waits.push(ms);
    });
    await connector.install(target('a'));
    await connector.reboot(target('a'));
    expect(waits).toEqual([250, 250]);
    const real = createSimulatorConnector({ ...settings, delayMs: 60_000 });
    const controller = new AbortController();
    const pending = real.install(target('a'), controller.signal);
    controller.abort(new Error('rollout cancelled'));
    await expect(pending).rejects.toThrow('rollout cancelled');
  });
});
