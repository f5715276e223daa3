import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { knownHostKeys, knownHostsName, parseOsRelease, parsePackageList, parseSshTarget, SCAN_COMMANDS } from '../../src/inventory/ssh-scan.js';

describe('ssh-scan parsing', () => {
  it('reads user@host[:port] and refuses option-like or malformed targets', () => {
    expect(parseSshTarget('root@127.0.0.1:2222')).toEqual({ user: 'root', host: '127.0.0.1', port: 2222 });
    expect(parseSshTarget('scan@web-01.example.internal')).toEqual({ user: 'scan', host: 'web-01.example.internal', port: 22 });
    expect(parseSshTarget('scan@[::1]:22')).toEqual({ user: 'scan', host: '::1', port: 22 });
    for (const bad of ['-oProxyCommand=x@h', 'u@-oProxyCommand=x', 'u@h:0', 'u@h:70000', 'nohost', 'u@h;rm -rf', 'u@[nope]', 'u v@h']) {
      expect(() => parseSshTarget(bad), bad).toThrow(expect.objectContaining({ code: 'PD_SCAN_TARGET' }));
    }
  });

  it('runs only fixed commands', () => {
    expect(SCAN_COMMANDS).toEqual({
      osRelease: 'cat /etc/os-release',
      dpkg: "dpkg-query -W -f='${db:Status-Abbrev}\\t${Package}\\t${Version}\\n'",
      rpm: "rpm -qa --qf '%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n'",
    });
  });

  it('parses os-release and dpkg/rpm lists, skipping removed packages and gpg keys', () => {
    expect(parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n# c\nNAME=\'x\'\n')).toEqual({
      PRETTY_NAME: 'Debian GNU/Linux 12 (bookworm)',
      ID: 'debian',
      VERSION_ID: '12',
      NAME: 'x',
    });
    expect(parsePackageList('ii \tbash\t5.2.15-2+b7\nrc \ttelnet\t0.17-44\nii \tlibc6\t2.36-9+deb12u4\n\n', 'deb', 'Debian:12')).toEqual([
      { ecosystem: 'Debian:12', name: 'bash', version: '5.2.15-2+b7' },
      { ecosystem: 'Debian:12', name: 'libc6', version: '2.36-9+deb12u4' },
    ]);
    expect(parsePackageList('sudo\t0:1.9.5p2-10.el9_3\ngpg-pubkey\t0:3abb34f8-5ffd890e\n', 'rpm', 'AlmaLinux:9')).toEqual([
      { ecosystem: 'AlmaLinux:9', name: 'sudo', version: '0:1.9.5p2-10.el9_3' },
    ]);
  });

  it('finds keys in known_hosts by plain, port and hashed names, with @revoked', () => {
    expect(knownHostsName({ host: 'h1', port: 22 })).toBe('h1');
    expect(knownHostsName({ host: '127.0.0.1', port: 2222 })).toBe('[127.0.0.1]:2222');
    const salt = randomBytes(20);
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[127.0.0.1]:2222').digest('base64')}`;
    const text = [
      '# comment',
      'h1,h2 ssh-ed25519 AAAAkey1',
      `${hashed} ssh-ed25519 AAAAkey2`,
      '@revoked h1 ssh-rsa AAAAold',
      '@cert-authority *.example ssh-ed25519 AAAAca',
    ].join('\n');
    expect(knownHostKeys(text, 'h2')).toEqual({ accepted: ['AAAAkey1'], revoked: [] });
    expect(knownHostKeys(text, 'h1')).toEqual({ accepted: ['AAAAkey1'], revoked: ['AAAAold'] });
    expect(knownHostKeys(text, '[127.0.0.1]:2222')).toEqual({ accepted: ['AAAAkey2'], revoked: [] });
    expect(knownHostKeys(text, '127.0.0.1')).toEqual({ accepted: [], revoked: [] });
  });
});
