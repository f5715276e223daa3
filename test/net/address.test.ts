import { describe, expect, it } from 'vitest';
import { blockedAddressReason, hostAsWritten, isOddIpv4Spelling } from '../../src/net/address.js';

describe('blockedAddressReason', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['0.0.0.0', 'this network'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['224.0.0.251', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['fd00::1', 'unique local'],
    ['fc12:3456::1', 'unique local'],
    ['fe80::1%eth0', 'link-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped form of 127.0.0.1, loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped form of 127.0.0.1, loopback'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', 'IPv4-mapped form of 169.254.169.254, link-local'],
    ['::127.0.0.1', 'IPv4-compatible'],
    ['64:ff9b::a00:1', 'NAT64 form of 10.0.0.1'],
    ['2002:c0a8:101::1', '6to4 form of 192.168.1.1'],
  ])('refuses %s (%s)', (address, reason) => {
    expect(blockedAddressReason(address)).toContain(reason);
  });

  it.each(['93.184.215.14', '8.8.8.8', '172.32.0.1', '100.128.0.1', '169.255.0.1', '11.0.0.1', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'])(
    'lets the public address %s through',
    (address) => {
      expect(blockedAddressReason(address)).toBeNull();
    },
  );
});

describe('odd IPv4 spellings in URLs', () => {
  // WHATWG URL parsing rewrites all of these to a dotted quad before any check sees the host.
  it.each([
    ['http://2130706433/', '2130706433'],
    ['http://0177.0.0.1/', '0177.0.0.1'],
    ['http://0x7f.1/', '0x7f.1'],
    ['http://0x7f000001/', '0x7f000001'],
    ['http://127.1/', '127.1'],
    ['http://%31%32%37.0.0.1/', '%31%32%37.0.0.1'],
    ['HTTP://user@0x7F.0.0.1:8080/x', '0x7F.0.0.1'],
    ['http:\\\\0x7f.1\\x', '0x7f.1'],
  ])('%s is read as 127.0.0.1 and flagged', (input, written) => {
    const parsed = new URL(input);
    expect(parsed.hostname).toBe('127.0.0.1');
    expect(hostAsWritten(input)).toBe(written);
    expect(isOddIpv4Spelling(input, parsed)).toBe(true);
  });

  it('leaves dotted quads, names, IPv6 and relative references alone', () => {
    for (const input of ['http://127.0.0.1:8080/', 'https://feeds.example/x', 'http://[::ffff:127.0.0.1]/']) {
      expect(isOddIpv4Spelling(input, new URL(input))).toBe(false);
    }
    expect(hostAsWritten('/relative/path')).toBeNull();
    expect(hostAsWritten('//0x7f.1/x')).toBe('0x7f.1');
  });
});
