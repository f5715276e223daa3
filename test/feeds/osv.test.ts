import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AdvisoryInput } from '../../src/core/types.js';
import { osvFeed } from '../../src/feeds/osv.js';

const FIXTURES = new URL('../fixtures/feeds/', import.meta.url).pathname;
const doc = (name: string) => ({ location: `${FIXTURES}${name}`, body: readFileSync(`${FIXTURES}${name}`) });
const ctx = { feedName: 'osv' };

async function parseAll(): Promise<Map<string, AdvisoryInput>> {
  const documents = ['osv/ubuntu', 'osv/ghsa', 'osv/synthetic'].flatMap((dir) => readdirSync(`${FIXTURES}${dir}`).map((f) => doc(`${dir}/${f}`)));
  const { advisories, errors } = await osvFeed.parse(documents, ctx);
  expect(errors).toEqual([]);
  return new Map(advisories.map((a) => [a.id, a]));
}

const OPENSSH_BINARIES = ['openssh-client', 'openssh-server', 'openssh-sftp-server', 'openssh-tests', 'ssh', 'ssh-askpass-gnome'];

describe('osv feed', () => {
  it('reads all 15 Ubuntu, 15 GHSA and 2 handcrafted records, ids from the content', async () => {
    const all = await parseAll();
    expect(all.size).toBe(32);
    expect(all.has('ALSA-2024:1234')).toBe(true); // file name ALSA-2024-1234.json: the id has a colon
  });

  it('normalises USN-6242-1 (openssh): CVE from upstream, source package with its binaries, CVSS and Ubuntu priority', async () => {
    const usn = (await parseAll()).get('USN-6242-1');
    expect(usn).toEqual({
      id: 'USN-6242-1',
      source: 'osv',
      trust: 'authoritative',
      title: 'openssh vulnerability',
      summary: expect.stringMatching(/^It was discovered that OpenSSH incorrectly handled loading certain PKCS#11\nproviders\..*arbitrary code\.$/s),
      url: 'https://ubuntu.com/security/notices/USN-6242-1',
      publishedAt: '2023-07-24T16:38:57.000Z',
      modifiedAt: '2026-04-27T14:11:31.000Z',
      withdrawnAt: null,
      cves: ['CVE-2023-38408'],
      affected: [
        {
          ecosystem: 'Ubuntu:20.04:LTS',
          name: 'openssh',
          binaries: OPENSSH_BINARIES,
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1:8.2p1-4ubuntu0.8' }] }],
          versions: expect.arrayContaining(['1:8.0p1-6build1', '1:8.2p1-4ubuntu0.7']),
        },
        {
          ecosystem: 'Ubuntu:22.04:LTS',
          name: 'openssh',
          binaries: OPENSSH_BINARIES,
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1:8.9p1-3ubuntu0.3' }] }],
          versions: ['1:8.4p1-6ubuntu2', '1:8.7p1-2', '1:8.7p1-2build1', '1:8.7p1-4', '1:8.8p1-1', '1:8.9p1-3', '1:8.9p1-3ubuntu0.1'],
        },
      ],
      // Both cves_map vectors are AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H: 9.8.
      cvss: { score: 9.8, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' },
      kev: null,
      vendorSeverity: 'medium',
    });
    expect(usn!.affected[0]!.versions).toHaveLength(10);
  });

  it('reads CVEs from related on the older schema (USN-7264-1) without duplicates from UBUNTU-CVE- ids', async () => {
    const usn = (await parseAll()).get('USN-7264-1')!;
    expect(usn.cves).toEqual(['CVE-2024-9143', 'CVE-2024-12797', 'CVE-2024-13176']);
    expect(usn.affected.map((a) => a.ecosystem)).toEqual(['Ubuntu:24.10']);
    expect(usn.affected[0]!.binaries).toContain('libssl3t64');
    expect(usn.publishedAt).toBe('2025-02-11T16:09:22.533Z');
  });

  it('keeps Ubuntu Pro ecosystems and records without any CVE or score', async () => {
    const all = await parseAll();
    expect(all.get('USN-6663-1')).toMatchObject({ cves: [], cvss: null, vendorSeverity: null });
    expect(all.get('USN-6663-1')!.affected.map((a) => a.ecosystem)).toEqual(['Ubuntu:Pro:18.04:LTS', 'Ubuntu:20.04:LTS', 'Ubuntu:22.04:LTS']);
    expect(all.get('USN-4154-1')!.affected[0]!.ecosystem).toBe('Ubuntu:Pro:14.04:LTS');
    expect(all.get('USN-6641-1')!.affected.map((a) => a.ecosystem)).toEqual(['Ubuntu:Pro:16.04:LTS', 'Ubuntu:Pro:18.04:LTS']);
    // Microseconds in `published` are cut to milliseconds.
    expect(all.get('USN-6859-1')!.publishedAt).toBe('2024-07-01T09:06:31.434Z');
  });

  it('takes the highest Ubuntu priority and CVSS score across the CVEs of a USN (USN-6429-1, curl)', async () => {
    const usn = (await parseAll()).get('USN-6429-1')!;
    expect(usn.cves).toEqual(['CVE-2023-38545', 'CVE-2023-38546']);
    expect(usn.vendorSeverity).toBe('high');
    expect(usn.cvss).toEqual({ score: 9.8, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' });
  });

  it('reads GHSA records: CVE from aliases, names as published, severity from the vector or only the GitHub rating', async () => {
    const all = await parseAll();
    expect(all.get('GHSA-h75v-3vvj-5mfj')).toMatchObject({
      cves: ['CVE-2024-34064'],
      affected: [{ ecosystem: 'PyPI', name: 'Jinja2', binaries: [], ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.1.4' }] }], versions: [] }],
      cvss: { score: 5.4, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N' },
      vendorSeverity: 'MODERATE',
    });
    // axios: "severity": [] — no score, the GitHub rating only.
    expect(all.get('GHSA-wf5p-g6vw-rhxx')).toMatchObject({ cvss: null, vendorSeverity: 'MODERATE', cves: ['CVE-2023-45857'] });
    expect(all.get('GHSA-pxg6-pf52-xh8x')).toMatchObject({ cvss: null, vendorSeverity: 'LOW' });
    // ws: one package, four affected entries (one per range).
    expect(all.get('GHSA-3h5v-q93c-6h6q')!.affected.map((a) => `${a.ecosystem}/${a.name}`)).toEqual(['npm/ws', 'npm/ws', 'npm/ws', 'npm/ws']);
    // certifi: calendar versions with leading zeros stay as written.
    expect(all.get('GHSA-248v-346w-9cwc')!.affected[0]!.ranges[0]!.events).toEqual([{ introduced: '2021.05.30' }, { fixed: '2024.07.04' }]);
    expect(all.get('GHSA-j8r2-6x86-q33q')!.cvss).toEqual({ score: 6.1, vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N' });
  });

  it('reads Debian and AlmaLinux records: prefixed CVE aliases, CVSS 4.0, GIT ranges without a package, withdrawn', async () => {
    const all = await parseAll();
    const dsa = all.get('DSA-5514-1')!;
    expect(dsa.cves).toEqual(['CVE-2023-4911']);
    expect(dsa.affected).toEqual([
      { ecosystem: 'Debian:12', name: 'glibc', binaries: [], ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.36-9+deb12u3' }] }], versions: [] },
    ]);
    expect(dsa.cvss).toEqual({ score: 8.5, vector: 'CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N' });
    const alsa = all.get('ALSA-2024:1234')!;
    expect(alsa.cves).toEqual(['CVE-2024-5535', 'CVE-2024-6119']);
    expect(alsa.withdrawnAt).toBe('2024-09-12T08:00:00.000Z');
    expect(alsa.affected.map((a) => `${a.ecosystem}/${a.name}`)).toEqual(['AlmaLinux:9/openssl', 'AlmaLinux:9/openssl-libs']);
  });

  it('keeps GIT ranges that come with a package, untouched', async () => {
    const record = {
      id: 'OSV-GIT-1',
      affected: [
        {
          package: { ecosystem: 'PyPI', name: 'demo' },
          ranges: [
            { type: 'GIT', repo: 'https://example.org/demo.git', events: [{ introduced: '0' }, { fixed: 'a1b2c3d4' }] },
            { type: 'ECOSYSTEM', events: [{ introduced: '1.0' }, { last_affected: '1.4' }] },
          ],
        },
      ],
    };
    const { advisories } = await osvFeed.parse([{ location: 'git.json', body: Buffer.from(JSON.stringify(record)) }], ctx);
    expect(advisories[0]!.affected[0]!.ranges).toEqual([
      { type: 'GIT', events: [{ introduced: '0' }, { fixed: 'a1b2c3d4' }] },
      { type: 'ECOSYSTEM', events: [{ introduced: '1.0' }, { last_affected: '1.4' }] },
    ]);
  });

  it('reads a JSON array of records, skipping the bad ones with their index', async () => {
    const mixed = doc('bad/osv-array-mixed.json');
    const { advisories, errors } = await osvFeed.parse([mixed], ctx);
    expect(advisories.map((a) => a.id)).toEqual(['PYSEC-TEST-1', 'PYSEC-TEST-3']);
    expect(advisories[0]!.affected[0]).toMatchObject({ ecosystem: 'PyPI', name: 'Foo_Bar.Baz', versions: ['1.0', '1.1'] });
    expect(errors).toEqual([
      { location: `${mixed.location}[1]`, scope: 'record', message: expect.stringContaining('id:') },
      { location: `${mixed.location}[2] (PYSEC-TEST-2)`, scope: 'record', message: expect.stringContaining('aliases:') },
    ]);
  });

  it('reports a broken or foreign document as unreadable, with line and column', async () => {
    const broken = { location: 'broken.json', body: Buffer.from('{\n  "id": "X-1",\n  "aliases": [\n}\n') };
    const { advisories, errors } = await osvFeed.parse([broken, doc('kev/known_exploited_vulnerabilities.json')], ctx);
    expect(advisories).toEqual([]);
    expect(errors).toEqual([
      { location: 'broken.json', scope: 'document', message: 'is not valid JSON at line 4, column 1 (position 32): unexpected "}"' },
      { location: `${FIXTURES}kev/known_exploited_vulnerabilities.json`, scope: 'document', message: expect.stringContaining('is not an OSV record') },
    ]);
  });
});
