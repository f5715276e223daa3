import { PatchdeckError } from '../core/errors.js';
import type { HostInput } from '../core/types.js';
import { validateHost, type InventoryFormat, type InventoryReject } from './types.js';

/** `[{"name":"web-01","os":"Debian:12",…,"packages":[{"ecosystem":…,"name":…,"version":…}]}]`, or `{"hosts":[…]}`. */
export const jsonInventory: InventoryFormat = {
  name: 'json',
  extensions: ['.json'],
  description: 'JSON array of hosts, each with its packages',
  parse(text, source) {
    let document: unknown;
    try {
      document = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (error) {
      throw new PatchdeckError('PD_INVENTORY_PARSE', `${source} is not valid JSON: ${(error as Error).message}`);
    }
    const list = Array.isArray(document)
      ? document
      : typeof document === 'object' && document !== null && Array.isArray((document as { hosts?: unknown }).hosts)
        ? ((document as { hosts: unknown[] }).hosts)
        : null;
    if (list === null) {
      throw new PatchdeckError('PD_INVENTORY_PARSE', `${source} must hold a JSON array of hosts (or an object with a "hosts" array)`);
    }
    const hosts: HostInput[] = [];
    const rejects: InventoryReject[] = [];
    const firstIndex = new Map<string, number>();
    list.forEach((raw, index) => {
      const location = `hosts[${index}]`;
      const rawName = typeof raw === 'object' && raw !== null && typeof (raw as { name?: unknown }).name === 'string' ? (raw as { name: string }).name.trim() : null;
      const checked = validateHost(raw);
      if ('faults' in checked) {
        for (const fault of checked.faults) rejects.push({ location, host: rawName, ...fault });
        return;
      }
      const first = firstIndex.get(checked.host.name);
      if (first !== undefined) {
        rejects.push({ location, host: checked.host.name, field: 'name', message: `duplicate of hosts[${first}]; only the first is imported` });
        return;
      }
      firstIndex.set(checked.host.name, index);
      hosts.push(checked.host);
    });
    return { hosts, rejects };
  },
};
