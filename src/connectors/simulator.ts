import { createHash } from 'node:crypto';
import type { Connector, ConnectorDeps, ConnectorPlugin, ConnectorTarget, HostPatchState, InstallResult, RebootResult } from './types.js';

/**
 * A fleet that is not there: installs and reboots succeed or fail by a hash of
 * (seed, rollout, host), so the same seed always gives the same outcomes — for the demo, the
 * benchmarks and tests. It remembers what it installed, so getState answers like a real host would,
 * and "installs" from the cached artifacts it is given, naming them in its answer. With
 * `requireOfflineArtifacts`, a package without one fails the host, as a host without network access would.
 */
export interface SimulatorSettings {
  seed: number;
  failureRate: number;
  rebootFailureRate: number;
  delayMs: number;
}

/** Packages whose update only takes effect after a reboot (kernel, C library, init, TLS library). */
const REBOOT_PACKAGE = /^(linux-image|linux-modules|linux-generic|kernel|glibc|libc6|libc-bin|systemd|libssl|openssl)/;

const INSTALL_FAILURES = [
  'E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4711 (unattended-upgr)',
  'dpkg: error processing package {package} (--configure): installed {package} package post-installation script subprocess returned error exit status 1',
  'E: You don\'t have enough free space in /var/cache/apt/archives/.',
  'ssh: connect to host {host} port 22: Connection timed out',
] as const;

const REBOOT_FAILURES = [
  'host did not come back within 10 minutes after reboot',
  'reboot blocked: a user session is active and the host is in use',
  'host came back with a failed unit: networking.service',
] as const;

/** A number in [0, 1) from a hash of the inputs: the simulator's whole notion of chance. */
export function hashUnit(...parts: (string | number)[]): number {
  const digest = createHash('sha256').update(parts.join('\u0000')).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

function pick<T>(items: readonly T[], unit: number): T {
  return items[Math.min(items.length - 1, Math.floor(unit * items.length))]!;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface SimulatorPolicy {
  requireOfflineArtifacts: boolean;
}

export function createSimulatorConnector(
  settings: SimulatorSettings,
  sleep: ConnectorDeps['sleep'] = defaultSleep,
  policy: SimulatorPolicy = { requireOfflineArtifacts: false },
): Connector {
  const installed = new Map<string, boolean>();
  const key = (target: ConnectorTarget) => `${target.rolloutId}\u0000${target.hostName}`;
  const wait = async (signal?: AbortSignal) => {
    if (settings.delayMs > 0) await sleep(settings.delayMs, signal);
  };
  const fill = (text: string, target: ConnectorTarget) =>
    text.replaceAll('{host}', target.hostName).replaceAll('{package}', target.packages[0]?.name ?? 'package');

  return {
    kind: 'simulator',
    async install(target, signal): Promise<InstallResult> {
      await wait(signal);
      const artifacts = target.artifacts ?? [];
      if (policy.requireOfflineArtifacts) {
        const missing = target.packages.filter((p) => !artifacts.some((a) => a.package === p.name)).map((p) => p.name);
        if (missing.length > 0) {
          installed.set(key(target), false);
          const detail = `no verified offline artifact for ${missing.join(', ')} and deploy.requireOfflineArtifacts is on; fetch it with "patchdeck patches fetch" for the case [PD_ARTIFACT_MISSING]`;
          return { ok: false, detail, rebootRequired: false };
        }
      }
      const roll = hashUnit(settings.seed, target.rolloutId, target.hostName, 'install');
      if (roll < settings.failureRate) {
        installed.set(key(target), false);
        const detail = fill(pick(INSTALL_FAILURES, hashUnit(settings.seed, target.rolloutId, target.hostName, 'install-detail')), target);
        return { ok: false, detail, rebootRequired: false };
      }
      installed.set(key(target), true);
      const versions = target.packages
        .map((p) => {
          const from = artifacts.filter((a) => a.package === p.name).map((a) => `${a.fileName} (sha256 ${a.sha256.slice(0, 12)})`);
          return `${p.name} ${p.fixed ?? '(latest)'}${from.length > 0 ? ` from ${from.join(', ')}` : ''}`;
        })
        .join(', ');
      const rebootRequired = target.packages.some((p) => REBOOT_PACKAGE.test(p.name));
      const used = artifacts.map((a) => ({ package: a.package, fileName: a.fileName, sha256: a.sha256 }));
      return { ok: true, detail: versions === '' ? 'nothing to install' : `installed ${versions}`, rebootRequired, ...(used.length > 0 ? { artifacts: used } : {}) };
    },
    async reboot(target, signal): Promise<RebootResult> {
      await wait(signal);
      const roll = hashUnit(settings.seed, target.rolloutId, target.hostName, 'reboot');
      if (roll < settings.rebootFailureRate) {
        return { ok: false, detail: pick(REBOOT_FAILURES, hashUnit(settings.seed, target.rolloutId, target.hostName, 'reboot-detail')) };
      }
      return { ok: true, detail: 'rebooted and back online' };
    },
    async getState(target): Promise<HostPatchState> {
      const done = installed.get(key(target));
      if (done === undefined) return 'unknown';
      return done ? 'patched' : 'unpatched';
    },
  };
}

export const simulatorConnector: ConnectorPlugin = {
  kind: 'simulator',
  description: 'Simulated hosts with deterministic, seeded install and reboot outcomes (demo and tests)',
  create(deps) {
    return createSimulatorConnector(deps.config.connectors.simulator, deps.sleep, { requireOfflineArtifacts: deps.config.deploy.requireOfflineArtifacts });
  },
};
