import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { osqueryInventory } from '../../src/inventory/osquery.js';
import { osEcosystem } from '../../src/inventory/shared/os.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/inventory/osquery');
const read = (file: string) => readFileSync(path.join(FIXTURES, file), 'utf8');

describe('osquery inventory', () => {
  it('reads osqueryi --json rows: host from system_info, ecosystem from os_version, installed deb packages only', () => {
    const { hosts, rejects, scope } = osqueryInventory.parse(read('web-02.json'), 'file:web-02.json');
    expect(rejects).toEqual([]);
    expect(hosts).toHaveLength(1);
    expect(hosts[0]).toMatchObject({ name: 'web-02', os: 'Ubuntu:22.04:LTS', role: 'server', criticality: 'medium' });
    expect(hosts[0]!.packages).toEqual([
      { ecosystem: 'Ubuntu:22.04:LTS', name: 'adduser', version: '3.118ubuntu5' },
      { ecosystem: 'Ubuntu:22.04:LTS', name: 'libssl3', version: '3.0.2-0ubuntu1.10' },
      { ecosystem: 'Ubuntu:22.04:LTS', name: 'openssh-server', version: '1:8.9p1-3ubuntu0.4' },
    ]);
    // osquery does not know role or criticality: a stored host keeps them.
    expect(scope).toEqual({ keep: ['role', 'criticality', 'usage', 'owner', 'groups'], replace: 'reported-ecosystems' });
  });

  it('takes the host name from the file name when no system_info row is given', () => {
    const rows = JSON.parse(read('web-02.json')) as Record<string, string>[];
    const { hosts } = osqueryInventory.parse(JSON.stringify(rows.filter((r) => !('hostname' in r))), 'file:app-07.json');
    expect(hosts.map((h) => h.name)).toEqual(['app-07']);
  });

  it('reads an osqueryd results log: snapshots, differential removed/added, RPM EVRs, Windows patches and KB programs', () => {
    const { hosts, rejects } = osqueryInventory.parse(read('results.log'), 'file:results.log');
    expect(rejects).toEqual([]);
    const db = hosts.find((h) => h.name === 'db-02.example.internal')!;
    expect(db.os).toBe('AlmaLinux:9');
    expect(db.packages).toEqual([
      { ecosystem: 'AlmaLinux:9', name: 'openssl-libs', version: '1:3.0.7-24.el9' },
      { ecosystem: 'AlmaLinux:9', name: 'sudo', version: '0:1.9.5p2-10.el9_3' },
    ]);
    const ws = hosts.find((h) => h.name === 'WS-042')!;
    expect(ws).toMatchObject({ os: 'Microsoft Windows 11 Pro 10.0.22621', role: 'workstation' });
    expect(ws.packages).toEqual([
      { ecosystem: 'Windows', name: 'KB5030651', version: '2023-09-13' },
      { ecosystem: 'Windows', name: 'KB5031354', version: '2023-10-11' },
      { ecosystem: 'Windows', name: 'KB5002469', version: '2023-10-11' },
    ]);
  });

  it('rejects a host whose packages have no known ecosystem, and bad lines, naming the place', () => {
    const rows = JSON.parse(read('web-02.json')) as Record<string, string>[];
    const noOs = osqueryInventory.parse(JSON.stringify(rows.filter((r) => !('platform' in r))), 'file:web-02.json');
    expect(noOs.hosts).toEqual([]);
    expect(noOs.rejects).toEqual([
      { location: 'rows', host: 'web-02', field: 'os_version', message: expect.stringContaining('add SELECT * FROM os_version') },
    ]);
    const log = osqueryInventory.parse('{"hostIdentifier":"-oProxyCommand=x","snapshot":[]}\nnot json\n{"name":"q"}\n', 'file:r.log');
    expect(log.hosts).toEqual([]);
    expect(log.rejects).toEqual([
      { location: 'line 2', host: null, field: '(line)', message: expect.stringContaining('not JSON') },
      { location: 'line 3', host: null, field: 'hostIdentifier', message: 'hostIdentifier is required' },
      { location: 'line 1', host: '-oProxyCommand=x', field: 'hostIdentifier', message: expect.stringContaining('not starting with "-"') },
    ]);
    expect(() => osqueryInventory.parse('[1,2', 'file:x.json')).toThrow(expect.objectContaining({ code: 'PD_INVENTORY_PARSE' }));
  });

  it('maps os-release ids and versions to advisory ecosystems', () => {
    expect(osEcosystem('ubuntu', '22.04')).toBe('Ubuntu:22.04:LTS');
    expect(osEcosystem('ubuntu', '24.10')).toBe('Ubuntu:24.10');
    expect(osEcosystem('ubuntu', '23.04')).toBe('Ubuntu:23.04');
    expect(osEcosystem('ubuntu', '22.4')).toBe('Ubuntu:22.04:LTS');
    expect(osEcosystem('debian', '12')).toBe('Debian:12');
    expect(osEcosystem('almalinux', '9.3')).toBe('AlmaLinux:9');
    expect(osEcosystem('rocky', '9.2')).toBe('Rocky Linux:9');
    expect(osEcosystem('arch', '')).toBeNull();
  });
});
