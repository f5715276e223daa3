import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { distroFeed } from '../../src/feeds/distro.js';
import { osvFeed } from '../../src/feeds/osv.js';

const FIXTURES = new URL('../fixtures/feeds/', import.meta.url).pathname;
const doc = (name: string) => ({ location: `${FIXTURES}${name}`, body: readFileSync(`${FIXTURES}${name}`) });
const ctx = { feedName: 'distro' };
const fixed = (events: { fixed?: string }[]) => events.find((e) => e.fixed !== undefined)?.fixed;

describe('distro feed: fixed versions per release', () => {
  it('turns the USN JSON of USN-4154-1 into one affected entry per release, binaries included', async () => {
    const { advisories, errors } = await distroFeed.parse([doc('distro/ubuntu/USN-4154-1.json')], ctx);
    expect(errors).toEqual([]);
    expect(advisories).toHaveLength(1);
    const usn = advisories[0]!;
    expect(usn).toMatchObject({
      id: 'USN-4154-1',
      source: 'distro',
      trust: 'authoritative',
      title: 'USN-4154-1: Sudo vulnerability',
      url: 'https://ubuntu.com/security/notices/USN-4154-1',
      publishedAt: '2019-10-14T14:46:34.529Z',
      cves: ['CVE-2019-14287'],
    });
    expect(usn.summary).toMatch(/^Joe Vennix discovered that Sudo incorrectly handled/);
    expect(usn.affected.map((a) => [a.ecosystem, a.name, a.binaries, fixed(a.ranges[0]!.events)])).toEqual([
      ['Ubuntu:12.04:LTS', 'sudo', ['sudo', 'sudo-ldap'], '1.8.3p1-1ubuntu3.8'],
      ['Ubuntu:16.04:LTS', 'sudo', ['sudo', 'sudo-ldap'], '1.8.16-0ubuntu1.8'],
      ['Ubuntu:Pro:14.04:LTS', 'sudo', ['sudo', 'sudo-ldap'], '1.8.9p5-1ubuntu1.5+esm2'],
      ['Ubuntu:18.04:LTS', 'sudo', ['sudo', 'sudo-ldap'], '1.8.21p2-3ubuntu1.1'],
      ['Ubuntu:19.04', 'sudo', ['sudo', 'sudo-ldap'], '1.8.27-1ubuntu1.1'],
    ]);
  });

  it('agrees with the OSV record Ubuntu converted from the same notice, release by release', async () => {
    const [usn] = (await distroFeed.parse([doc('distro/ubuntu/USN-4154-1.json')], ctx)).advisories;
    const [osv] = (await osvFeed.parse([doc('osv/ubuntu/USN-4154-1.json')], { feedName: 'osv' })).advisories;
    const fixes = (a: typeof usn) => new Map(a!.affected.map((p) => [`${p.ecosystem}/${p.name}`, fixed(p.ranges[0]!.events)]));
    const ours = fixes(usn);
    // OSV leaves out the releases that reached end of life (precise, disco); every release it keeps has the same fix.
    for (const [key, version] of fixes(osv)) expect(ours.get(key)).toBe(version);
    expect(osv!.cves).toEqual(usn!.cves);
  });

  it('reads the Debian DSA list: one advisory per DSA with fixes per release, notices without fixes kept', async () => {
    const { advisories, errors } = await distroFeed.parse([doc('distro/debian/DSA-list.txt')], ctx);
    expect(errors).toEqual([]);
    expect(advisories.map((a) => a.id)).toEqual(['DSA-141', 'DSA-140', 'DSA-139', 'DSA-138', 'DSA-2819-1', 'DSA-2808-2', 'DSA-3281-1', 'DSA-4205-1', 'DSA-4323-1', 'DSA-5970-1']);
    const byId = new Map(advisories.map((a) => [a.id, a]));
    expect(byId.get('DSA-5970-1')).toMatchObject({
      source: 'distro',
      trust: 'authoritative',
      title: 'DSA-5970-1: sope - security update',
      url: 'https://security-tracker.debian.org/tracker/DSA-5970-1',
      publishedAt: '2025-07-31T00:00:00.000Z',
      cves: ['CVE-2025-53603'],
      affected: [{ ecosystem: 'Debian:12', name: 'sope', binaries: [], versions: [], ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '5.8.0-1+deb12u1' }] }] }],
    });
    expect(byId.get('DSA-140')!.cves).toEqual(['CVE-2002-0660', 'CVE-2002-0728']);
    expect(byId.get('DSA-140')!.affected.map((a) => [a.ecosystem, a.name, fixed(a.ranges[0]!.events)])).toEqual([
      ['Debian:3.0', 'libpng', '1.0.12-3.woody.2'],
      ['Debian:3.0', 'libpng3', '1.2.1-1.1.woody.2'],
    ]);
    expect(byId.get('DSA-2808-2')!.affected.map((a) => a.ecosystem)).toEqual(['Debian:6.0', 'Debian:7']);
    for (const id of ['DSA-2819-1', 'DSA-3281-1', 'DSA-4205-1']) expect(byId.get(id)!.affected).toEqual([]);
    expect(byId.get('DSA-3281-1')!.title).toBe('DSA-3281-1: Debian Security Team PGP/GPG key change notice');
  });

  it('reads the Debian security tracker JSON: one advisory per CVE fixed somewhere, open and never-affected releases left out', async () => {
    const { advisories, errors } = await distroFeed.parse([doc('distro/debian/security-tracker.json')], ctx);
    expect(errors).toEqual([]);
    expect(advisories.map((a) => a.id).sort()).toEqual(['DEBIAN-CVE-2005-3111', 'DEBIAN-CVE-2008-7220', 'DEBIAN-CVE-2013-1444', 'DEBIAN-CVE-2022-0456', 'DEBIAN-CVE-2025-53603']);
    const chromium = advisories.find((a) => a.id === 'DEBIAN-CVE-2022-0456')!;
    expect(chromium).toMatchObject({ cves: ['CVE-2022-0456'], title: 'CVE-2022-0456 in chromium (Debian)', vendorSeverity: null });
    // buster and stretch are still open (end-of-life): nothing to install, so no entry; sid is not a release.
    expect(chromium.affected.map((a) => [a.ecosystem, a.name, fixed(a.ranges[0]!.events)])).toEqual([
      ['Debian:12', 'chromium', '98.0.4758.80-1'],
      ['Debian:11', 'chromium', '98.0.4758.80-1~deb11u1'],
    ]);
    const prototype = advisories.find((a) => a.id === 'DEBIAN-CVE-2008-7220')!;
    expect(prototype.vendorSeverity).toBe('high');
    expect(prototype.affected.map((a) => a.ecosystem)).toEqual(['Debian:9', 'Debian:8', 'Debian:10']);
    // The tracker and the DSA list agree on the bookworm fix of sope (DSA-5970-1).
    const sope = advisories.find((a) => a.id === 'DEBIAN-CVE-2025-53603')!;
    const dsa = (await distroFeed.parse([doc('distro/debian/DSA-list.txt')], ctx)).advisories.find((a) => a.id === 'DSA-5970-1')!;
    expect(sope.affected.find((a) => a.ecosystem === 'Debian:12')).toEqual(dsa.affected[0]);
    expect(sope.affected.map((a) => a.ecosystem)).toEqual(['Debian:12', 'Debian:11', 'Debian:13']);
  });

  it('reports an unknown release as a record error and keeps the rest of the notice', async () => {
    const usn = JSON.parse(readFileSync(`${FIXTURES}distro/ubuntu/USN-4154-1.json`, 'utf8')) as { releases: Record<string, unknown> };
    usn.releases.warty = usn.releases.disco;
    const list = `[01 Jan 2030] DSA-9999-1 frob - security update\n\t{CVE-2030-0001}\n\t[duke] - frob 1.0-1\n\t[bookworm] - frob 0.9-1+deb12u1\n`;
    const result = await distroFeed.parse(
      [
        { location: 'usn.json', body: Buffer.from(JSON.stringify(usn)) },
        { location: 'list', body: Buffer.from(list) },
      ],
      ctx,
    );
    expect(result.errors).toEqual([
      { location: 'usn.json (USN-4154-1)', scope: 'record', message: 'unknown Ubuntu release "warty": its fix sudo 1.8.27-1ubuntu1.1 was skipped, the rest of USN-4154-1 kept' },
      { location: 'list:3 (DSA-9999-1)', scope: 'record', message: 'unknown Debian release "duke": its fix frob 1.0-1 was skipped, the rest of DSA-9999-1 kept' },
    ]);
    expect(result.advisories.map((a) => [a.id, a.affected.length])).toEqual([
      ['USN-4154-1', 5],
      ['DSA-9999-1', 1],
    ]);
  });

  it('refuses JSON that is neither a USN nor the tracker JSON, and truncated JSON, as unreadable documents', async () => {
    const result = await distroFeed.parse(
      [
        { location: 'other.json', body: Buffer.from('{"id": "GHSA-xxxx", "affected": []}') },
        { location: 'cut.json', body: readFileSync(`${FIXTURES}distro/ubuntu/USN-4154-1.json`).subarray(0, 500) },
      ],
      ctx,
    );
    expect(result.advisories).toEqual([]);
    expect(result.errors.map((e) => [e.location, e.scope])).toEqual([
      ['other.json', 'document'],
      ['cut.json', 'document'],
    ]);
    expect(result.errors[0]!.message).toMatch(/^is neither a USN JSON notice/);
  });
});
