import type { Config } from '../config/schema.js';

/** One package to bring to its fixed version on a host. */
export interface ConnectorPackage {
  ecosystem: string;
  name: string;
  installed: string;
  /** The version that fixes the advisory; null when no fix is published. */
  fixed: string | null;
}

/** What a connector is asked to patch: one host in one rollout. */
export interface ConnectorTarget {
  rolloutId: number;
  hostName: string;
  packages: ConnectorPackage[];
}

export interface InstallResult {
  ok: boolean;
  /** One line for people: what happened, or the tail of the tool's error output. */
  detail: string;
  /** The host or the package says a reboot is needed before the fix takes effect. */
  rebootRequired: boolean;
}

export interface RebootResult {
  ok: boolean;
  detail: string;
}

export type HostPatchState = 'patched' | 'unpatched' | 'unknown';

/**
 * The port through which rollouts act on hosts. A failed install or reboot answers ok=false; a refusal
 * to act at all (unsafe input, missing settings) throws a PatchdeckError. The workflow records both.
 */
export interface Connector {
  readonly kind: string;
  install(target: ConnectorTarget, signal?: AbortSignal): Promise<InstallResult>;
  reboot(target: ConnectorTarget, signal?: AbortSignal): Promise<RebootResult>;
  getState(target: ConnectorTarget): Promise<HostPatchState>;
}

export interface ConnectorDeps {
  config: Config;
  /** Waits; tests pass one that returns at once. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** A connector kind, as listed in `connectors/index.ts`. */
export interface ConnectorPlugin {
  kind: string;
  description: string;
  create(deps: ConnectorDeps): Connector;
}
