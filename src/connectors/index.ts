import type { Config } from '../config/schema.js';
import { PatchdeckError } from '../core/errors.js';
import { shellConnector } from './shell.js';
import { simulatorConnector } from './simulator.js';
import type { Connector, ConnectorDeps, ConnectorPlugin } from './types.js';

/** Every connector kind, one file each in this folder. */
export const CONNECTOR_PLUGINS: readonly ConnectorPlugin[] = [simulatorConnector, shellConnector];

/** What the rollout workflow needs: a connector by kind. */
export interface ConnectorLookup {
  get(kind: string): Connector;
}

export interface ConnectorRegistry extends ConnectorLookup {
  kinds(): string[];
}

/**
 * Builds connectors on first use and keeps them, so a connector's memory (what it installed) lasts
 * as long as the process. An unconfigured kind fails when asked for, not at start-up.
 */
export function createConnectorRegistry(config: Config, options: Omit<ConnectorDeps, 'config'> = {}): ConnectorRegistry {
  const built = new Map<string, Connector>();
  return {
    kinds: () => CONNECTOR_PLUGINS.map((p) => p.kind),
    get(kind) {
      const existing = built.get(kind);
      if (existing) return existing;
      const plugin = CONNECTOR_PLUGINS.find((p) => p.kind === kind);
      if (!plugin) {
        throw new PatchdeckError('PD_CONNECTOR_UNKNOWN', `unknown connector "${kind}" (known: ${CONNECTOR_PLUGINS.map((p) => p.kind).join(', ')}); check rollout.connector`);
      }
      const connector = plugin.create({ config, ...options });
      built.set(kind, connector);
      return connector;
    },
  };
}
