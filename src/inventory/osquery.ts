import { z } from 'zod';
import { PatchdeckError } from '../core/errors.js';
import type { HostInput } from '../core/types.js';
import { hotfixDate, normalizeKb, osEcosystem } from './shared/os.js';
import { HOST_NAME_PATTERN, validateHost, WINDOWS_ECOSYSTEM, type InventoryFormat, type InventoryReject } from './types.js';

/** osquery reports every column as a string; absent columns (older versions) are tolerated. */
const Row = z.record(z.string(), z.unknown());
type Row = z.infer<typeof Row>;

/** One line of an osqueryd results log: snapshot (`snapshot` rows) or differential (`columns` + `action`). */
const ResultLogLine = z
  .object({
    name: z.string().optional(),
    hostIdentifier: z.string({ error: 'hostIdentifier is required' }),
    action: z.string().optional(),
    columns: Row.optional(),
    snapshot: z.array(Row).optional(),
  })
  .passthrough();

type Table = 'deb_packages' | 'rpm_packages' | 'programs' | 'patches' | 'os_version' | 'system_info';

const str = (row: Row, key: string): string => (typeof row[key] === 'string' ? (row[key] as string).trim() : typeof row[key] === 'number' ? String(row[key]) : '');

/**
 * Which table a row comes from, by its columns (osquery's documented schemas): query names in a
 * results log are chosen by whoever wrote the pack, so they are only a fallback.
 */
function tableOf(row: Row, queryName: string | undefined): Table | null {
  const has = (key: string) => key in row;
  if (has('hotfix_id')) return 'patches';
  if (has('platform') && has('major') && has('build')) return 'os_version';
  if (has('name') && has('version') && has('release') && has('epoch')) return 'rpm_packages';
  if (has('name') && has('version') && (has('revision') || has('maintainer') || has('admindir') || has('priority'))) return 'deb_packages';
  if (has('name') && (has('install_location') || has('publisher') || has('identifying_number') || has('uninstall_string'))) return 'programs';
  if (has('hostname') && (has('cpu_brand') || has('uuid') || has('computer_name'))) return 'system_info';
  const named = /(deb_packages|rpm_packages|programs|patches|os_version|system_info)/.exec(queryName ?? '')?.[1];
  return (named as Table | undefined) ?? null;
}

interface HostRows {
  name: string;
  location: string;
  rows: Map<string, { table: Table; row: Row }>;
}

/** Rows are keyed by table and content, so a differential `removed` cancels the matching `added`. */
const rowKey = (table: Table, row: Row) => `${table}\u0000${JSON.stringify(Object.entries(row).sort(([a], [b]) => (a < b ? -1 : 1)))}`;

/**
 * osquery results as JSON: `osqueryi --json` output (an array of rows; the host is a `system_info`
 * row's `hostname`, or else the file's base name) or an osqueryd filesystem results log (one JSON
 * object per line with `hostIdentifier` and `snapshot` rows or `columns` + `action`). Rows of
 * deb_packages, rpm_packages, patches, programs (KB entries only), os_version and system_info are used.
 * osquery knows the OS and packages, not role or criticality: a known host keeps those, and only its
 * packages of the ecosystems reported here are replaced.
 */
export const osqueryInventory: InventoryFormat = {
  name: 'osquery',
  extensions: [],
  description: 'osquery JSON results: osqueryi --json rows or an osqueryd results log (deb/rpm packages, patches, os_version)',
  parse(text, source) {
    const body = text.replace(/^\uFEFF/, '').trim();
    const rejects: InventoryReject[] = [];
    const hosts = new Map<string, HostRows>();
    const hostFor = (name: string, location: string) => {
      let entry = hosts.get(name);
      if (!entry) {
        entry = { name, location, rows: new Map() };
        hosts.set(name, entry);
      }
      return entry;
    };
    const add = (entry: HostRows, row: Row, queryName: string | undefined, removed: boolean) => {
      const table = tableOf(row, queryName);
      if (table === null) return;
      const key = rowKey(table, row);
      if (removed) entry.rows.delete(key);
      else entry.rows.set(key, { table, row });
    };

    if (body.startsWith('[')) {
      let rows: unknown;
      try {
        rows = JSON.parse(body);
      } catch (error) {
        throw new PatchdeckError('PD_INVENTORY_PARSE', `${source} is not valid JSON: ${(error as Error).message}`);
      }
      const parsed = z.array(Row).safeParse(rows);
      if (!parsed.success) throw new PatchdeckError('PD_INVENTORY_PARSE', `${source}: expected an array of osquery result rows (objects)`);
      const hostname = parsed.data.map((r) => (tableOf(r, undefined) === 'system_info' ? str(r, 'hostname') : '')).find((h) => h !== '');
      const name = hostname ?? source.replace(/^file:/, '').replace(/\.[^.]*$/, '');
      const entry = hostFor(name, 'rows');
      for (const row of parsed.data) add(entry, row, undefined, false);
    } else {
      const lines = body.split('\n');
      lines.forEach((line, index) => {
        if (line.trim() === '') return;
        const location = `line ${index + 1}`;
        let raw: unknown;
        try {
          raw = JSON.parse(line);
        } catch (error) {
          rejects.push({ location, host: null, field: '(line)', message: `not JSON: ${(error as Error).message}` });
          return;
        }
        const parsed = ResultLogLine.safeParse(raw);
        if (!parsed.success) {
          rejects.push({ location, host: null, field: parsed.error.issues[0]?.path.join('.') || '(line)', message: parsed.error.issues[0]?.message ?? 'not an osquery result' });
          return;
        }
        const result = parsed.data;
        const entry = hostFor(result.hostIdentifier.trim(), location);
        if (result.snapshot) {
          // A snapshot is the table's whole content at that time: it replaces earlier rows of that table.
          const table = result.snapshot.map((r) => tableOf(r, result.name)).find((t) => t !== null);
          if (table) for (const [key, value] of entry.rows) if (value.table === table) entry.rows.delete(key);
          for (const row of result.snapshot) add(entry, row, result.name, false);
        } else if (result.columns) {
          add(entry, result.columns, result.name, result.action === 'removed');
        }
      });
    }

    const out: HostInput[] = [];
    for (const entry of hosts.values()) {
      const reject = (field: string, message: string) => rejects.push({ location: entry.location, host: entry.name, field, message });
      if (!HOST_NAME_PATTERN.test(entry.name)) {
        reject('hostIdentifier', `host name "${entry.name}" must be letters, digits, "-", "_" and dots, not starting with "-"`);
        continue;
      }
      const rows = [...entry.rows.values()];
      const os = rows.find((r) => r.table === 'os_version')?.row;
      const ecosystem = os ? osEcosystem(str(os, 'platform'), [str(os, 'major'), str(os, 'minor')].filter((p) => p !== '').join('.')) : null;
      const windows = os !== undefined && str(os, 'platform') === 'windows';
      const packages: HostInput['packages'] = [];
      const linuxRows = rows.filter((r) => r.table === 'deb_packages' || r.table === 'rpm_packages');
      if (linuxRows.length > 0 && ecosystem === null) {
        reject('os_version', os ? `no advisory ecosystem for ${str(os, 'name')} ${str(os, 'version')}; its packages cannot be matched` : 'packages without an os_version row: the ecosystem (e.g. Debian:12) is unknown; add SELECT * FROM os_version');
        continue;
      }
      for (const { table, row } of linuxRows) {
        if (table === 'deb_packages') {
          // dpkg's status database also lists removed packages whose config files remain.
          const status = str(row, 'status');
          if (status !== '' && !status.endsWith(' installed')) continue;
          packages.push({ ecosystem: ecosystem!, name: str(row, 'name'), version: str(row, 'version') });
        } else {
          const epoch = str(row, 'epoch') || '0';
          const release = str(row, 'release');
          packages.push({ ecosystem: ecosystem!, name: str(row, 'name'), version: `${epoch}:${str(row, 'version')}${release === '' ? '' : `-${release}`}` });
        }
      }
      const kbs = new Map<string, string>();
      for (const { table, row } of rows) {
        if (table === 'patches') {
          const kb = normalizeKb(str(row, 'hotfix_id'));
          if (kb !== null) kbs.set(kb, hotfixDate(str(row, 'installed_on')) || kbs.get(kb) || '');
        } else if (table === 'programs') {
          // Updates appear in Programs and Features as "Security Update for … (KB5031354)"; other programs have no advisory name.
          const kb = /\bKB(\d{6,8})\b/.exec(str(row, 'name'))?.[1];
          if (kb !== undefined && !kbs.has(`KB${kb}`)) kbs.set(`KB${kb}`, hotfixDate(str(row, 'install_date')));
        }
      }
      for (const [kb, installed] of kbs) packages.push({ ecosystem: WINDOWS_ECOSYSTEM, name: kb, version: installed });
      const checked = validateHost({
        name: entry.name,
        os: ecosystem ?? (os ? `${str(os, 'name')} ${str(os, 'version')}`.trim() : windows || kbs.size > 0 ? 'Windows' : 'unknown'),
        role: windows || (os === undefined && kbs.size > 0) ? 'workstation' : 'server',
        criticality: 'medium',
        packages,
      });
      if ('faults' in checked) {
        for (const fault of checked.faults) reject(fault.field, fault.message);
        continue;
      }
      out.push(checked.host);
    }
    return { hosts: out, rejects, scope: { keep: ['role', 'criticality', 'usage', 'owner', 'groups'], replace: 'reported-ecosystems' } };
  },
};
