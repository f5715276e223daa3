import { CsvError, parse } from 'csv-parse/sync';
import { z } from 'zod';
import { PatchdeckError } from '../core/errors.js';
import type { HostInput } from '../core/types.js';
import { hotfixDate, normalizeKb } from './shared/os.js';
import { HOST_NAME_PATTERN, WINDOWS_ECOSYSTEM, type InventoryFormat, type InventoryReject } from './types.js';

/**
 * A Get-HotFix object as `ConvertTo-Json` writes it (`CSName`/`Source`/`PSComputerName`, `HotFixID`,
 * `InstalledOn` as ISO text, `/Date(ms)/` or `{value, DateTime}`), or the CSV columns' JSON spelling.
 */
const HotfixRecord = z
  .object({
    host: z.string().optional(),
    CSName: z.string().optional(),
    Source: z.string().optional(),
    PSComputerName: z.string().optional(),
    kb: z.string().optional(),
    HotFixID: z.string().optional(),
    installed_on: z.unknown().optional(),
    InstalledOn: z.unknown().optional(),
  })
  .passthrough();

interface Hotfix {
  location: string;
  host: string;
  kb: string;
  installedOn: unknown;
}

/**
 * Windows hotfix lists: CSV `host,kb,installed_on` or the JSON of `Get-HotFix | ConvertTo-Json` (one
 * object or an array). Each KB becomes a package of ecosystem `Windows`, named `KB5031354`, with the
 * install date (`YYYY-MM-DD`, or '' when unknown) as its version. A hotfix list knows nothing else of a
 * host: a known host keeps its attributes and programs, and only its KB list is replaced; a new host is
 * created as a medium-criticality Windows workstation.
 */
export const windowsKbInventory: InventoryFormat = {
  name: 'windows-kb',
  extensions: [],
  description: 'Windows hotfix (KB) lists: CSV host,kb,installed_on or Get-HotFix JSON',
  parse(text, source) {
    const body = text.replace(/^\uFEFF/, '').trim();
    const hotfixes = body.startsWith('[') || body.startsWith('{') ? readJson(body, source) : readCsv(body, source);
    const rejects: InventoryReject[] = [];
    const byHost = new Map<string, { kbs: Map<string, string>; bad: boolean; location: string }>();
    for (const fix of hotfixes) {
      const host = fix.host.trim();
      if (host === '') {
        rejects.push({ location: fix.location, host: null, field: 'host', message: 'host is required' });
        continue;
      }
      let entry = byHost.get(host);
      if (!entry) {
        entry = { kbs: new Map(), bad: false, location: fix.location };
        byHost.set(host, entry);
      }
      if (!HOST_NAME_PATTERN.test(host)) {
        if (!entry.bad) rejects.push({ location: fix.location, host, field: 'host', message: 'host name must be letters, digits, "-", "_" and dots, not starting with "-"' });
        entry.bad = true;
        continue;
      }
      const kb = normalizeKb(fix.kb);
      if (kb === null) {
        rejects.push({ location: fix.location, host, field: 'kb', message: `"${fix.kb}" is not a KB id such as KB5031354` });
        entry.bad = true;
        continue;
      }
      entry.kbs.set(kb, hotfixDate(fix.installedOn) || entry.kbs.get(kb) || '');
    }
    const hosts: HostInput[] = [];
    for (const [name, entry] of byHost) {
      if (entry.bad) {
        // A partial KB list would make the host look exposed to updates it has.
        if (HOST_NAME_PATTERN.test(name)) rejects.push({ location: entry.location, host: name, field: '(host)', message: 'host not imported because some of its rows were rejected; its stored KBs are unchanged' });
        continue;
      }
      hosts.push({
        name,
        os: 'Windows',
        role: 'workstation',
        criticality: 'medium',
        usage: 0,
        owner: '',
        groups: [],
        packages: [...entry.kbs].map(([kb, installed]) => ({ ecosystem: WINDOWS_ECOSYSTEM, name: kb, version: installed })),
      });
    }
    return { hosts, rejects, scope: { keep: ['os', 'role', 'criticality', 'usage', 'owner', 'groups'], replace: 'reported-ecosystems' } };
  },
};

function readJson(body: string, source: string): Hotfix[] {
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch (error) {
    throw new PatchdeckError('PD_INVENTORY_PARSE', `${source} is not valid JSON: ${(error as Error).message}`);
  }
  // ConvertTo-Json writes a lone object, not an array, when there is one hotfix.
  const list = Array.isArray(document) ? document : [document];
  return list.map((raw, index) => {
    const parsed = HotfixRecord.safeParse(raw);
    const record = parsed.success ? parsed.data : {};
    return {
      location: `[${index}]`,
      host: record.host ?? record.CSName ?? record.PSComputerName ?? record.Source ?? '',
      kb: record.kb ?? record.HotFixID ?? '',
      installedOn: record.installed_on ?? record.InstalledOn,
    };
  });
}

function readCsv(body: string, source: string): Hotfix[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    // With `info: true` csv-parse returns {record, info} pairs; its typings only know plain rows.
    records = parse(body, { info: true, skip_empty_lines: true, relax_column_count: true, trim: true }) as unknown as typeof records;
  } catch (error) {
    const line = error instanceof CsvError ? (error as CsvError & { lines?: number }).lines : undefined;
    throw new PatchdeckError('PD_INVENTORY_PARSE', `${source}${line ? ` line ${line}` : ''}: ${(error as Error).message}; nothing was imported`);
  }
  const header = records.shift();
  const columns = header?.record.map((c) => c.toLowerCase()) ?? [];
  const hostColumn = columns.findIndex((c) => c === 'host' || c === 'csname' || c === 'source');
  const kbColumn = columns.findIndex((c) => c === 'kb' || c === 'hotfixid');
  const dateColumn = columns.findIndex((c) => c === 'installed_on' || c === 'installedon');
  if (hostColumn < 0 || kbColumn < 0) {
    throw new PatchdeckError('PD_INVENTORY_PARSE', `${source} line 1: header must have columns host and kb (and optionally installed_on)`);
  }
  return records.map(({ record, info }) => ({
    location: `line ${info.lines}`,
    host: record[hostColumn] ?? '',
    kb: record[kbColumn] ?? '',
    installedOn: dateColumn < 0 ? '' : (record[dateColumn] ?? ''),
  }));
}
