import type { Config } from '../config/schema.js';

/** One package to bring to its fixed version on a host. */
export interface ConnectorPackage {
  ecosystem: string;
  name: string;
  installed: string;
  /** The version that fixes the advisory; null when no fix is published. */
  fixed: string | null;
}

/**
 * A patch file from the offline cache (`patchdeck patches fetch`), re-verified by hash before its wave
 * started. Connectors install from it instead of the network when it is there.
 */
export interface ConnectorArtifact {
  /** The package (or KB) it fixes, as in `packages[].name`. */
  package: string;
  /** Absolute path of the content-addressed file in the cache (named by its hash, no extension). */
  path: string;
  sha256: string;
  size: number;
  /** The file name the source gave it (`libssl3_3.0.2_amd64.deb`), made safe for a path; installers often need the extension. */
  fileName: string;
  url: string;
}

/** What a connector is asked to patch: one host in one rollout. */
export interface ConnectorTarget {
  rolloutId: number;
  hostName: string;
  packages: ConnectorPackage[];
  /** The cached artifacts for this host's packages (none when nothing was fetched for them). */
  artifacts?: ConnectorArtifact[];
}

export interface InstallResult {
  ok: boolean;
  /** One line for people: what happened, or the tail of the tool's error output. */
  detail: string;
  /** The host or the package says a reboot is needed before the fix takes effect. */
  rebootRequired: boolean;
  /** The cached artifacts the install used, recorded with the target's outcome. */
  artifacts?: { package: string; fileName: string; sha256: string }[];
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
