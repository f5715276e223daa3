import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { CONNECTOR_PLUGINS, createConnectorRegistry } from '../../src/connectors/index.js';

const CONNECTORS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/connectors');

describe('connector registry', () => {
  it('registers exactly one connector per file in src/connectors', () => {
    const files = readdirSync(CONNECTORS_DIR)
      .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && f !== 'types.ts')
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();
    expect(CONNECTOR_PLUGINS.map((p) => p.kind).sort()).toEqual(files);
    for (const plugin of CONNECTOR_PLUGINS) expect(plugin.description.length).toBeGreaterThan(10);
  });

  it('builds a connector once per kind and names the known kinds for an unknown one', () => {
    const registry = createConnectorRegistry(parseConfig({}));
    expect(registry.kinds()).toEqual(['simulator', 'shell']);
    const simulator = registry.get('simulator');
    expect(simulator.kind).toBe('simulator');
    expect(registry.get('simulator')).toBe(simulator);
    expect(() => registry.get('ansible')).toThrow(expect.objectContaining({ code: 'PD_CONNECTOR_UNKNOWN', message: expect.stringContaining('simulator, shell') }));
  });

  it('refuses the shell connector until its install command is configured', () => {
    expect(() => createConnectorRegistry(parseConfig({})).get('shell')).toThrow(expect.objectContaining({ code: 'PD_CONNECTOR_NOT_CONFIGURED' }));
    const configured = createConnectorRegistry(parseConfig({ connectors: { shell: { install: ['true', '{host}'] } } }));
    expect(configured.get('shell').kind).toBe('shell');
  });
});
