import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { windowsKbInventory } from '../../src/inventory/windows-kb.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/inventory/windows-kb');
const read = (file: string) => readFileSync(path.join(FIXTURES, file), 'utf8');

describe('windows-kb inventory', () => {
  it('reads host,kb,installed_on CSV into Windows KB packages with ISO dates', () => {
    const { hosts, rejects, scope } = windowsKbInventory.parse(read('hotfixes.csv'), 'file:hotfixes.csv');
    expect(rejects).toEqual([]);
    expect(hosts.map((h) => [h.name, h.packages.map((p) => `${p.ecosystem}/${p.name}@${p.version}`)])).toEqual([
      ['WS-042', ['Windows/KB5030651@2023-09-13', 'Windows/KB5031354@2023-10-11']],
      ['WS-043', ['Windows/KB5032190@2023-11-15']],
      ['SRV-DC1', ['Windows/KB5031361@2023-10-11']],
    ]);
    // Only the KB list is replaced; a stored host keeps everything else.
    expect(scope).toEqual({ keep: ['os', 'role', 'criticality', 'usage', 'owner', 'groups'], replace: 'reported-ecosystems' });
  });

  it('reads Get-HotFix JSON from Windows PowerShell (/Date()/) and PowerShell 7 (ISO), and a lone object', () => {
    const { hosts, rejects } = windowsKbInventory.parse(read('get-hotfix.json'), 'file:get-hotfix.json');
    expect(rejects).toEqual([]);
    expect(hosts.map((h) => [h.name, h.packages.map((p) => `${p.name}@${p.version}`)])).toEqual([
      ['SRV-DC1', ['KB5031361@2023-10-11', 'KB5030505@2023-09-13']],
      ['WS-044', ['KB5032190@2023-11-15']],
    ]);
    const one = windowsKbInventory.parse('{"CSName":"WS-9","HotFixID":"KB5032190","InstalledOn":null}', 'file:one.json');
    expect(one.hosts[0]!.packages).toEqual([{ ecosystem: 'Windows', name: 'KB5032190', version: '' }]);
  });

  it('holds back a host with a bad KB row whole, so its stored KBs are not cut', () => {
    const { hosts, rejects } = windowsKbInventory.parse('host,kb,installed_on\nWS-1,KB5032190,\nWS-1,KBnope,\nWS-2,KB5032190,\n,KB1234567,\n', 'file:k.csv');
    expect(hosts.map((h) => h.name)).toEqual(['WS-2']);
    expect(rejects).toEqual([
      { location: 'line 3', host: 'WS-1', field: 'kb', message: '"KBnope" is not a KB id such as KB5031354' },
      { location: 'line 5', host: null, field: 'host', message: 'host is required' },
      { location: 'line 2', host: 'WS-1', field: '(host)', message: expect.stringContaining('stored KBs are unchanged') },
    ]);
    expect(() => windowsKbInventory.parse('name,version\nx,y\n', 'file:k.csv')).toThrow(expect.objectContaining({ code: 'PD_INVENTORY_PARSE', message: expect.stringContaining('host and kb') }));
  });
});
