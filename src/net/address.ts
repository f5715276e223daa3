import { isIPv4, isIPv6 } from 'node:net';

/**
 * Which addresses a feed fetch may not reach unless config `fetch.allowHosts` lets it, and why.
 * Feeds are configured by users; without this a feed URL (or a redirect, or a DNS answer) could
 * make Patchdeck read the cloud metadata service or an internal admin page.
 */

interface Ipv4Range {
  base: number;
  bits: number;
  reason: string;
}

function ipv4Range(cidr: string, reason: string): Ipv4Range {
  const [base, bits] = cidr.split('/') as [string, string];
  return { base: ipv4ToNumber(base)!, bits: Number(bits), reason };
}

const BLOCKED_IPV4: readonly Ipv4Range[] = [
  ipv4Range('0.0.0.0/8', '"this network" (0.0.0.0 reaches the local host)'),
  ipv4Range('10.0.0.0/8', 'a private network (RFC 1918)'),
  ipv4Range('100.64.0.0/10', 'carrier-grade NAT space (RFC 6598)'),
  ipv4Range('127.0.0.0/8', 'loopback'),
  ipv4Range('169.254.0.0/16', 'link-local (cloud metadata services live here)'),
  ipv4Range('172.16.0.0/12', 'a private network (RFC 1918)'),
  ipv4Range('192.0.0.0/24', 'IETF protocol assignments'),
  ipv4Range('192.0.2.0/24', 'documentation space'),
  ipv4Range('192.168.0.0/16', 'a private network (RFC 1918)'),
  ipv4Range('198.18.0.0/15', 'benchmarking space'),
  ipv4Range('198.51.100.0/24', 'documentation space'),
  ipv4Range('203.0.113.0/24', 'documentation space'),
  ipv4Range('224.0.0.0/4', 'multicast'),
  ipv4Range('240.0.0.0/4', 'reserved (incl. broadcast)'),
];

/** Dotted-quad IPv4 (four decimal parts, as `net.isIPv4` accepts) to a 32-bit number. */
function ipv4ToNumber(address: string): number | null {
  if (!isIPv4(address)) return null;
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function blockedIpv4Reason(address: string): string | null {
  const n = ipv4ToNumber(address);
  if (n === null) return null;
  for (const range of BLOCKED_IPV4) {
    const size = 2 ** (32 - range.bits);
    if (Math.floor(n / size) === Math.floor(range.base / size)) return range.reason;
  }
  return null;
}

/** An IPv6 address as eight 16-bit groups (a trailing dotted IPv4 becomes the last two). */
function ipv6Groups(address: string): number[] | null {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (!isIPv6(bare)) return null;
  let text = bare.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const n = ipv4ToNumber(dotted[1]!);
    if (n === null) return null;
    text = `${text.slice(0, dotted.index)}${Math.floor(n / 65536).toString(16)}:${(n % 65536).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, null];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === null || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(tail === null ? 0 : missing).fill('0'), ...tailGroups].map((g) => parseInt(g, 16));
  return groups.length === 8 ? groups : null;
}

function embeddedIpv4(hi: number, lo: number): string {
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
}

function blockedIpv6Reason(address: string): string | null {
  const g = ipv6Groups(address);
  if (g === null) return null;
  const zeroPrefix = (count: number) => g.slice(0, count).every((x) => x === 0);
  if (zeroPrefix(8)) return 'the unspecified address (::)';
  if (zeroPrefix(7) && g[7] === 1) return 'loopback (::1)';
  // IPv4-mapped (::ffff:a.b.c.d): the socket talks IPv4 to the embedded address.
  if (zeroPrefix(5) && g[5] === 0xffff) {
    const v4 = embeddedIpv4(g[6]!, g[7]!);
    const reason = blockedIpv4Reason(v4);
    return reason === null ? null : `an IPv4-mapped form of ${v4}, ${reason}`;
  }
  if (zeroPrefix(6)) return 'an IPv4-compatible address (::a.b.c.d, deprecated)';
  if (g[0] === 0x64 && g[1] === 0xff9b) {
    if (g[2] === 1) return 'local-use NAT64 space (64:ff9b:1::/48)';
    if (g.slice(2, 6).every((x) => x === 0)) {
      const v4 = embeddedIpv4(g[6]!, g[7]!);
      const reason = blockedIpv4Reason(v4);
      return reason === null ? null : `a NAT64 form of ${v4}, ${reason}`;
    }
  }
  if (g[0] === 0x2002) {
    const v4 = embeddedIpv4(g[1]!, g[2]!);
    const reason = blockedIpv4Reason(v4);
    return reason === null ? null : `a 6to4 form of ${v4}, ${reason}`;
  }
  if (g[0] === 0x100 && g.slice(1, 4).every((x) => x === 0)) return 'the discard prefix (100::/64)';
  if (g[0] === 0x2001 && g[1] === 0xdb8) return 'documentation space (2001:db8::/32)';
  if ((g[0]! & 0xfe00) === 0xfc00) return 'a unique local address (fc00::/7)';
  if ((g[0]! & 0xffc0) === 0xfe80) return 'link-local (fe80::/10)';
  if ((g[0]! & 0xffc0) === 0xfec0) return 'site-local (fec0::/10, deprecated)';
  if ((g[0]! & 0xff00) === 0xff00) return 'multicast (ff00::/8)';
  return null;
}

/**
 * Why a feed fetch may not connect to this IP address, or null when it may. Accepts IPv4 dotted
 * quads and IPv6 (bracketed or not, with IPv4-mapped, NAT64 and 6to4 forms checked as the IPv4 they carry).
 */
export function blockedAddressReason(address: string): string | null {
  if (isIPv4(address)) return blockedIpv4Reason(address);
  return blockedIpv6Reason(address);
}

/**
 * The host of an absolute URL exactly as written (before WHATWG parsing rewrites it), or null for a
 * relative reference. `http://0x7f.1/` gives `0x7f.1`, which `new URL` turns into `127.0.0.1`.
 */
export function hostAsWritten(input: string): string | null {
  // Special schemes treat `\` like `/`; a scheme-relative `//host` keeps the base's scheme.
  const match = /^\s*(?:[a-z][a-z0-9+.-]*:)?[\\/]{2}(?:[^@\\/?#]*@)?(\[[^\]]*\]|[^:\\/?#]*)/i.exec(input);
  return match ? match[1]! : null;
}

/**
 * Whether a URL spells an IPv4 host in an unusual way (decimal `2130706433`, octal `0177.0.0.1`,
 * hex `0x7f.1`, short `127.1`, percent-encoded or full-width digits): WHATWG URL parsing turns all
 * of these into a dotted quad, and only an attempt to slip past a filter writes them.
 */
export function isOddIpv4Spelling(input: string, parsed: URL): boolean {
  if (!isIPv4(parsed.hostname)) return false;
  const written = hostAsWritten(input);
  return written !== null && written !== parsed.hostname;
}
