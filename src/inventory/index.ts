import path from 'node:path';
import { PatchdeckError } from '../core/errors.js';
import { csvInventory } from './csv.js';
import { jsonInventory } from './json.js';
import { osqueryInventory } from './osquery.js';
import { sshScanner } from './ssh-scan.js';
import { windowsKbInventory } from './windows-kb.js';
import type { InventoryFormat } from './types.js';

export type { InventoryFormat, InventoryReject, InventoryScanner, ParsedInventory } from './types.js';

/** Every inventory format, one per file in this folder. */
export const INVENTORY_FORMATS: readonly InventoryFormat[] = [jsonInventory, csvInventory, osqueryInventory, windowsKbInventory];

/** Every live scanner, one per file in this folder. */
export const INVENTORY_SCANNERS = [sshScanner] as const;

export function inventoryFormatNames(): string[] {
  return INVENTORY_FORMATS.map((f) => f.name);
}

export function getInventoryFormat(name: string): InventoryFormat {
  const format = INVENTORY_FORMATS.find((f) => f.name === name.toLowerCase());
  if (!format) {
    throw new PatchdeckError('PD_INVENTORY_FORMAT', `unknown inventory format "${name}"; use one of ${inventoryFormatNames().join(', ')}`);
  }
  return format;
}

/** The format a file name's extension selects, or null when it selects none. */
export function inventoryFormatForFile(file: string): InventoryFormat | null {
  const extension = path.extname(file).toLowerCase();
  return INVENTORY_FORMATS.find((f) => f.extensions.includes(extension)) ?? null;
}
