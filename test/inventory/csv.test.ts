import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { csvInventory } from '../../src/inventory/csv.js';
import { jsonInventory } from '../../src/inventory/json.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/inventory');
const read = (file: string) => readFileSync(path.join(FIXTURES, file), 'utf8');

describe('CSV inventory', () => {
  it('reads the same fleet as the JSON fixture, one row per package', () => {
    const csv = csvInventory.parse(read('hosts.csv'), 'hosts.csv');
    const json = jsonInventory.parse(read('hosts.json'), 'hosts.json');
    expect(csv.rejects).toEqual([]);
    expect(csv.hosts).toEqual(json.hosts);
  });

  it('reports each bad row by line and field, holds back the rest of that host, and keeps the good hosts', () => {
    const { hosts, rejects } = csvInventory.parse(read('hosts-bad.csv'), 'hosts-bad.csv');
    expect(hosts.map((h) => h.name)).toEqual(['good-01', 'nopkg-01']);
    expect(hosts[0]!.packages).toHaveLength(2);
    expect(hosts[1]).toMatchObject({ role: 'kiosk', packages: [] });
    const summary = rejects.map((r) => [r.location, r.host, r.field]);
    expect(summary).toEqual([
      ['line 4', 'urgent-01', 'criticality'],
      ['line 5', '-oProxyCommand=touch_pwned', 'host'],
      ['line 6', 'web 02', 'host'],
      ['line 7', 'half-01', '(host)'],
      ['line 8', 'half-01', 'version'],
      ['line 10', 'busy-01', 'usage'],
      ['line 11', 'split-01', '(host)'],
      ['line 12', 'split-01', 'role'],
      ['line 14', 'partial-01', 'version'],
      ['line 15', 'short-01', '(row)'],
    ]);
    expect(rejects.find((r) => r.location === 'line 7')!.message).toBe('host not imported because line 8 was rejected; its stored packages are unchanged');
    expect(rejects.find((r) => r.location === 'line 12')!.message).toBe('"workstation" differs from "server" on line 11, the host\'s first row');
    expect(rejects.find((r) => r.location === 'line 10')!.message).toBe('usage must be from 0 to 1');
  });

  it('takes columns in any order and case, ignores unknown ones, and strips a BOM', () => {
    const text = '\uFEFFVersion,Package,Ecosystem,Host,OS,Role,Criticality,Rack\n1.2.3,lodash,npm,app-01,Debian:12,server,low,R7\n';
    expect(csvInventory.parse(text, 'x.csv')).toEqual({
      hosts: [{ name: 'app-01', os: 'Debian:12', role: 'server', criticality: 'low', usage: 0, owner: '', groups: [], packages: [{ ecosystem: 'npm', name: 'lodash', version: '1.2.3' }] }],
      rejects: [],
    });
  });

  it('refuses a file without the required columns, naming them', () => {
    expect(() => csvInventory.parse('host,os\nweb-01,Debian:12\n', 'short.csv')).toThrow(
      expect.objectContaining({ code: 'PD_INVENTORY_PARSE', message: expect.stringContaining('lacks column(s) role, criticality, ecosystem, package, version') }),
    );
    expect(() => csvInventory.parse('', 'empty.csv')).toThrow(/empty\.csv is empty/);
  });

  it('refuses the whole file on broken quoting, since the rows after it cannot be trusted', () => {
    const text = 'host,os,role,criticality,ecosystem,package,version\nweb-01,Debian:12,server,low,Debian:12,"curl,1\nweb-02,Debian:12,server,low,Debian:12,curl,1\n';
    expect(() => csvInventory.parse(text, 'quote.csv')).toThrow(expect.objectContaining({ code: 'PD_INVENTORY_PARSE', message: expect.stringMatching(/quote\.csv line \d+: .*nothing was imported/) }));
  });
});
