import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getInventoryFormat, INVENTORY_FORMATS, INVENTORY_SCANNERS, inventoryFormatForFile, inventoryFormatNames } from '../../src/inventory/index.js';

const INVENTORY_DIR = new URL('../../src/inventory/', import.meta.url);

describe('inventory format registry', () => {
  it('registers exactly the format and scanner files of src/inventory, each under its file name', () => {
    const files = readdirSync(INVENTORY_DIR, { withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts') && e.name !== 'index.ts' && e.name !== 'types.ts')
      .map((e) => e.name.replace(/\.ts$/, ''))
      .sort();
    const names = [...inventoryFormatNames(), ...INVENTORY_SCANNERS.map((s) => s.name)];
    expect(names.sort()).toEqual(files);
    expect(new Set(names).size).toBe(INVENTORY_FORMATS.length + INVENTORY_SCANNERS.length);
  });

  it('guesses the format from the extension, in any case', () => {
    expect(inventoryFormatForFile('/tmp/hosts.json')?.name).toBe('json');
    expect(inventoryFormatForFile('fleet.CSV')?.name).toBe('csv');
    expect(inventoryFormatForFile('fleet.txt')).toBeNull();
    // osquery results and hotfix lists are JSON or CSV too: they are chosen with --format only.
    expect(inventoryFormatForFile('results.log')).toBeNull();
    expect(inventoryFormatForFile('fleet')).toBeNull();
  });

  it('refuses an unknown format and lists the known ones', () => {
    expect(getInventoryFormat('JSON').name).toBe('json');
    expect(() => getInventoryFormat('xml')).toThrow(expect.objectContaining({ code: 'PD_INVENTORY_FORMAT', message: expect.stringContaining('json, csv, osquery, windows-kb') }));
  });
});
