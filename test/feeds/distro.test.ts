import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { distroFeed } from '../../src/feeds/distro.js';

const FIXTURES = new URL('../fixtures/feeds/', import.meta.url).pathname;
const doc = (name: string) => ({ location: `${FIXTURES}${name}`, body: readFileSync(`${FIXTURES}${name}`) });
const parse = (...names: string[]) => distroFeed.parse(names.map(doc), { feedName: 'distro' });

describe('distro feed', () => {
  it('reads the Ubuntu USN RSS (newline before <?xml, a double space in a title) as vendor notices', async () => {
    const { advisories, errors } = await parse('distro/ubuntu-usn.rss.xml');
    expect(errors).toEqual([]);
    expect(advisories).toHaveLength(10);
    expect(advisories[0]).toEqual({
      id: 'NOTICE-USN-7758-4',
      source: 'distro',
      trust: 'authoritative',
      title: 'USN-7758-4: Linux kernel (Oracle) vulnerability',
      summary: expect.stringMatching(/^It was discovered that the AF_UNIX socket garbage collection/),
      url: 'https://ubuntu.com/security/notices/USN-7758-4',
      publishedAt: '2025-09-19T10:20:30.000Z',
      modifiedAt: null,
      withdrawnAt: null,
      cves: [],
      affected: [],
      cvss: null,
      kev: null,
      vendorSeverity: null,
    });
    expect(advisories.find((a) => a.id === 'NOTICE-USN-7726-5')!.cves).toEqual(['CVE-2024-27407', 'CVE-2024-57996', 'CVE-2025-37752', 'CVE-2025-38350']);
    expect(advisories.at(-1)!.id).toBe('NOTICE-USN-7755-1');
  });

  it('reads the retired USN Atom feed: CVEs from the HTML and the fixed versions per release as text', async () => {
    const { advisories, errors } = await parse('distro/ubuntu-usn-legacy.atom.xml');
    expect(errors).toEqual([]);
    expect(advisories).toHaveLength(1);
    const [notice] = advisories;
    expect(notice).toMatchObject({
      id: 'NOTICE-USN-3893-1',
      title: 'USN-3893-1: Bind vulnerabilities',
      url: 'https://usn.ubuntu.com/3893-1/',
      publishedAt: '2019-02-22T08:08:13.000Z',
      cves: ['CVE-2018-5744', 'CVE-2018-5745', 'CVE-2019-6465'],
      affected: [],
    });
    expect(notice!.summary).toMatch(/^Fixed source versions: Ubuntu 18\.10: bind9 1:9\.11\.4\+dfsg-3ubuntu5\.1; Ubuntu 18\.04 LTS: bind9 1:9\.11\.3\+dfsg-1ubuntu1\.5;/);
  });

  it('reads the ALAS RSS: id, severity and package from the title, Amazon Linux 2 from the link, CVEs from the description', async () => {
    const { advisories, errors } = await parse('distro/amazon-linux-2-alas.rss.xml');
    expect(errors).toEqual([]);
    expect(advisories).toHaveLength(97);
    expect(advisories[0]).toMatchObject({
      id: 'NOTICE-AL2-ALAS-2018-1106',
      title: 'ALAS-2018-1106 (medium): 389-ds-base [Amazon Linux 2]',
      cves: ['CVE-2018-14648'],
      vendorSeverity: 'medium',
      publishedAt: '2018-11-15T00:10:00.000Z',
      affected: [],
    });
    expect(advisories.find((a) => a.id === 'NOTICE-AL2-ALAS-2018-1102')!.cves).toEqual(['CVE-2018-0495', 'CVE-2017-3735', 'CVE-2018-0732', 'CVE-2018-0739']);
    expect(new Set(advisories.map((a) => a.vendorSeverity))).toEqual(new Set(['low', 'medium', 'important', 'critical']));
    expect(new Set(advisories.map((a) => a.id)).size).toBe(97);
  });

  it('never names affected packages, so a notice alone can never match a host', async () => {
    const { advisories } = await parse('distro/ubuntu-usn.rss.xml', 'distro/ubuntu-usn-legacy.atom.xml', 'distro/amazon-linux-2-alas.rss.xml');
    expect(advisories).toHaveLength(108);
    expect(advisories.every((a) => a.affected.length === 0 && a.trust === 'authoritative' && a.id.startsWith('NOTICE-'))).toBe(true);
  });

  it('skips an item that is not a USN or ALAS notice and reports an unreadable document', async () => {
    const other = {
      location: 'mixed.rss',
      body: Buffer.from(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>' +
          '<item><title>ALAS-2024-1 (low): curl</title><link>https://alas.aws.amazon.com/AL2023/ALAS-2024-1.html</link><description>CVE-2024-0001</description></item>' +
          '<item><title>Weekly news</title><link>https://example.test/n</link></item></channel></rss>',
      ),
    };
    const { advisories, errors } = await distroFeed.parse([other, { location: 'junk.xml', body: Buffer.from('not xml at all <') }], { feedName: 'd' });
    expect(advisories.map((a) => [a.id, a.title])).toEqual([['NOTICE-AL2023-ALAS-2024-1', 'ALAS-2024-1 (low): curl [Amazon Linux 2023]']]);
    expect(errors).toEqual([
      { location: 'mixed.rss: item 2', scope: 'record', message: expect.stringContaining('"Weekly news" is neither a USN') },
      { location: 'junk.xml', scope: 'document', message: expect.stringContaining('is not a readable RSS or Atom feed') },
    ]);
  });
});
