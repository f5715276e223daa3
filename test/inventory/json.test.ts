import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonInventory } from '../../src/inventory/json.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/inventory');
const read = (file: string) => readFileSync(path.join(FIXTURES, file), 'utf8');

describe('JSON inventory', () => {
  it('reads hosts with their packages, defaults and PEP 503 names', () => {
    const { hosts, rejects } = jsonInventory.parse(read('hosts.json'), 'hosts.json');
    expect(rejects).toEqual([]);
    expect(hosts.map((h) => h.name)).toEqual(['web-01', 'db-01.example.internal', 'ws-01', 'legacy-01']);
    expect(hosts[0]).toEqual({
      name: 'web-01',
      os: 'Ubuntu:22.04:LTS',
      role: 'server',
      criticality: 'high',
      usage: 0.9,
      owner: 'web-team',
      groups: ['web', 'pilot'],
      packages: [
        { ecosystem: 'Ubuntu:22.04:LTS', name: 'openssh-server', version: '1:8.9p1-3ubuntu0.6' },
        { ecosystem: 'Ubuntu:22.04:LTS', name: 'openssh-client', version: '1:8.9p1-3ubuntu0.6' },
        { ecosystem: 'Ubuntu:22.04:LTS', name: 'libssl3', version: '3.0.2-0ubuntu1.15' },
        { ecosystem: 'Ubuntu:22.04:LTS', name: 'sudo', version: '1.9.9-1ubuntu2.4' },
      ],
    });
    expect(hosts[2]!.packages).toContainEqual({ ecosystem: 'PyPI', name: 'jinja2', version: '3.1.3' });
    expect(hosts[3]).toMatchObject({ usage: 0, owner: '', groups: [] });
  });

  it('rejects bad hosts by index and name with the field at fault, and keeps the good ones', () => {
    const { hosts, rejects } = jsonInventory.parse(read('hosts-bad.json'), 'hosts-bad.json');
    expect(hosts.map((h) => h.name)).toEqual(['good-01', 'good-02']);
    expect(hosts[1]).toMatchObject({ role: 'workstation', criticality: 'high', usage: 1 });
    expect(rejects).toEqual([
      { location: 'hosts[1]', host: '-oProxyCommand=touch_pwned', field: 'name', message: expect.stringContaining('not starting with "-"') },
      { location: 'hosts[2]', host: 'bad-pkg-01', field: 'packages[1].version', message: 'version is required' },
      { location: 'hosts[3]', host: 'no-crit-01', field: 'criticality', message: 'criticality is required' },
      { location: 'hosts[4]', host: 'good-01', field: 'name', message: 'duplicate of hosts[0]; only the first is imported' },
      { location: 'hosts[5]', host: null, field: '(host)', message: expect.any(String) },
    ]);
  });

  it('accepts {"hosts": [...]} and refuses documents that are not JSON or hold no list', () => {
    expect(jsonInventory.parse('{"hosts": []}', 'x.json')).toEqual({ hosts: [], rejects: [] });
    expect(() => jsonInventory.parse('[{"name": "a",', 'broken.json')).toThrow(expect.objectContaining({ code: 'PD_INVENTORY_PARSE', message: expect.stringContaining('broken.json is not valid JSON') }));
    expect(() => jsonInventory.parse('{"name": "web-01"}', 'one.json')).toThrow(/must hold a JSON array of hosts/);
  });

  it.each([
    ['web 01', 'space'],
    ['web;reboot', 'shell separator'],
    ['$(reboot)', 'command substitution'],
    ['-oProxyCommand=x', 'leading dash'],
    ['web-', 'trailing dash'],
    ['a..b', 'empty label'],
    ['', 'empty'],
    ['x'.repeat(64), 'label over 63'],
  ])('refuses the host name %j (%s)', (name) => {
    const { hosts, rejects } = jsonInventory.parse(JSON.stringify([{ name, os: 'Debian:12', role: 'server', criticality: 'low' }]), 'x.json');
    expect(hosts).toEqual([]);
    expect(rejects[0]).toMatchObject({ field: 'name' });
  });

  it('refuses package names and versions that could become options or shell words', () => {
    const host = (pkg: Record<string, string>) => JSON.stringify([{ name: 'a', os: 'Debian:12', role: 'server', criticality: 'low', packages: [pkg] }]);
    expect(jsonInventory.parse(host({ ecosystem: 'Debian:12', name: '--force', version: '1' }), 'x').rejects[0]).toMatchObject({ field: 'packages[0].name' });
    expect(jsonInventory.parse(host({ ecosystem: 'Debian:12', name: 'curl', version: '1.0 && id' }), 'x').rejects[0]).toMatchObject({ field: 'packages[0].version' });
    const fine = jsonInventory.parse(host({ ecosystem: 'npm', name: '@types/node', version: '20.19.43' }), 'x');
    expect(fine.rejects).toEqual([]);
  });

  it('drops exact duplicate packages but keeps two versions of one package', () => {
    const text = JSON.stringify([
      {
        name: 'k-01',
        os: 'Debian:12',
        role: 'server',
        criticality: 'low',
        packages: [
          { ecosystem: 'Debian:12', name: 'linux-image-amd64', version: '6.1.99-1' },
          { ecosystem: 'Debian:12', name: 'linux-image-amd64', version: '6.1.99-1' },
          { ecosystem: 'Debian:12', name: 'linux-image-amd64', version: '6.1.106-3' },
        ],
      },
    ]);
    expect(jsonInventory.parse(text, 'x').hosts[0]!.packages.map((p) => p.version)).toEqual(['6.1.99-1', '6.1.106-3']);
  });
});
