import { CsvError, parse } from 'csv-parse/sync';
import { PatchdeckError } from '../core/errors.js';
import type { HostInput } from '../core/types.js';
import { validateHost, type InventoryFormat, type InventoryReject } from './types.js';

const REQUIRED_COLUMNS = ['host', 'os', 'role', 'criticality', 'ecosystem', 'package', 'version'] as const;
const OPTIONAL_COLUMNS = ['usage', 'owner', 'groups'] as const;
/** Host attributes repeated on every row of a host; rows must agree on them. */
const HOST_COLUMNS = ['os', 'role', 'criticality', 'usage', 'owner', 'groups'] as const;

type Column = (typeof REQUIRED_COLUMNS)[number] | (typeof OPTIONAL_COLUMNS)[number];
type Row = Record<Column, string>;

interface HostRows {
  name: string;
  /** The host's first well-formed row: its host columns are the host's attributes. */
  first: { line: number; row: Row } | null;
  packages: { line: number; row: Row }[];
  lines: number[];
  badLines: number[];
}

/**
 * One row per (host, package): `host,os,role,criticality,usage,owner,ecosystem,package,version`
 * (`usage`, `owner` and `groups` optional; groups separated by `;`). A row with ecosystem, package and
 * version all empty lists a host without packages.
 */
export const csvInventory: InventoryFormat = {
  name: 'csv',
  extensions: ['.csv'],
  description: 'CSV, one row per host and package, with a header row',
  parse(text, source) {
    let records: { record: string[]; info: { lines: number } }[];
    try {
      // With `info: true` csv-parse returns {record, info} pairs; its typings only know plain rows.
      records = parse(text, { bom: true, info: true, skip_empty_lines: true, relax_column_count: true, trim: true }) as unknown as typeof records;
    } catch (error) {
      // A broken quote swallows the rows after it; importing the rest could cut a host's package list.
      const line = error instanceof CsvError ? (error as CsvError & { lines?: number }).lines : undefined;
      throw new PatchdeckError('PD_INVENTORY_PARSE', `${source}${line ? ` line ${line}` : ''}: ${(error as Error).message}; nothing was imported`);
    }
    const header = records.shift();
    if (!header) throw new PatchdeckError('PD_INVENTORY_PARSE', `${source} is empty; expected a header row: ${REQUIRED_COLUMNS.join(',')}`);
    const columns = header.record.map((c) => c.toLowerCase());
    const missing = REQUIRED_COLUMNS.filter((c) => !columns.includes(c));
    if (missing.length > 0) {
      throw new PatchdeckError(
        'PD_INVENTORY_PARSE',
        `${source} line ${header.info.lines}: header lacks column(s) ${missing.join(', ')}; expected ${[...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS].join(',')}`,
      );
    }

    const rejects: InventoryReject[] = [];
    const byHost = new Map<string, HostRows>();
    for (const { record, info } of records) {
      const line = info.lines;
      const reject = (host: string | null, field: string, message: string) => rejects.push({ location: `line ${line}`, host, field, message });
      const row = Object.fromEntries([...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS].map((c) => [c, record[columns.indexOf(c)] ?? ''])) as Row;
      const name = row.host;
      if (name === '') {
        reject(null, 'host', 'host is required');
        continue;
      }
      let entry = byHost.get(name);
      if (record.length !== columns.length) {
        reject(name, '(row)', `row has ${record.length} fields, the header has ${columns.length}`);
        if (entry) {
          entry.lines.push(line);
          entry.badLines.push(line);
        } else byHost.set(name, { name, first: null, packages: [], lines: [line], badLines: [line] });
        continue;
      }
      if (!entry) {
        entry = { name, first: { line, row }, packages: [], lines: [line], badLines: [] };
        byHost.set(name, entry);
      } else if (entry.first === null) {
        entry.lines.push(line);
        entry.first = { line, row };
      } else {
        entry.lines.push(line);
        const first = entry.first;
        const conflict = HOST_COLUMNS.find((c) => row[c] !== first.row[c]);
        if (conflict !== undefined) {
          reject(name, conflict, `"${row[conflict]}" differs from "${first.row[conflict]}" on line ${first.line}, the host's first row`);
          entry.badLines.push(line);
          continue;
        }
      }
      const given = [row.ecosystem, row.package, row.version].filter((v) => v !== '').length;
      if (given === 3) entry.packages.push({ line, row });
      else if (given > 0) {
        const absent = (['ecosystem', 'package', 'version'] as const).filter((c) => row[c] === '');
        reject(name, absent[0]!, `${absent.join(' and ')} missing; give ecosystem, package and version, or leave all three empty for a host without packages`);
        entry.badLines.push(line);
      }
    }

    const hosts: HostInput[] = [];
    for (const entry of byHost.values()) {
      if (entry.first === null) continue;
      const { row, line } = entry.first;
      const checked = validateHost({
        name: entry.name,
        os: row.os,
        role: row.role,
        criticality: row.criticality,
        usage: row.usage === '' ? undefined : Number(row.usage),
        owner: row.owner,
        groups: row.groups.split(';').map((g) => g.trim()).filter((g) => g !== ''),
        packages: entry.packages.map((p) => ({ ecosystem: p.row.ecosystem, name: p.row.package, version: p.row.version })),
      });
      if ('faults' in checked) {
        for (const fault of checked.faults) {
          const packageFault = /^packages\[(\d+)\]\.?(.*)$/.exec(fault.field);
          if (packageFault) {
            const pkg = entry.packages[Number(packageFault[1])]!;
            const field = packageFault[2] === 'name' ? 'package' : packageFault[2] || 'package';
            rejects.push({ location: `line ${pkg.line}`, host: entry.name, field, message: fault.message });
            entry.badLines.push(pkg.line);
          } else {
            rejects.push({ location: `line ${line}`, host: entry.name, field: fault.field === 'name' ? 'host' : fault.field, message: fault.message });
            entry.badLines.push(line);
          }
        }
      }
      const lines = [...new Set(entry.badLines)].sort((a, b) => a - b);
      if (lines.length > 0) {
        // Say so when good rows of the host are held back too, so no one wonders where they went.
        if (entry.lines.some((l) => !lines.includes(l))) {
          const which = lines.length === 1 ? `line ${lines[0]} was` : `lines ${lines.join(', ')} were`;
          rejects.push({
            location: `line ${line}`,
            host: entry.name,
            field: '(host)',
            message: `host not imported because ${which} rejected; its stored packages are unchanged`,
          });
        }
        continue;
      }
      if ('host' in checked) hosts.push(checked.host);
    }
    rejects.sort((a, b) => lineOf(a) - lineOf(b));
    return { hosts, rejects };
  },
};

function lineOf(reject: InventoryReject): number {
  return Number(reject.location.replace(/^line /, ''));
}
