import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rssFeed } from '../../src/feeds/rss.js';

const FIXTURES = new URL('../fixtures/feeds/', import.meta.url).pathname;
const doc = (name: string) => ({ location: `${FIXTURES}${name}`, body: readFileSync(`${FIXTURES}${name}`) });
const parse = (name: string, feedName = 'news') => rssFeed.parse([doc(name)], { feedName });
const hint = (feed: string, key: string) => `HINT-${createHash('sha256').update(`${feed}\n${key}`).digest('hex').slice(0, 16)}`;

describe('rss feed', () => {
  it('reads the Ubuntu USN RSS (leading newline before <?xml, double spaces in a title) as hints', async () => {
    const { advisories, errors } = await parse('rss/ubuntu-usn.rss.xml', 'ubuntu-usn');
    expect(errors).toEqual([]);
    expect(advisories).toHaveLength(10);
    expect(advisories[0]).toEqual({
      id: hint('ubuntu-usn', 'https://ubuntu.com/security/notices/USN-7758-4'),
      source: 'rss',
      trust: 'hint',
      title: 'USN-7758-4: Linux kernel (Oracle) vulnerability',
      summary: expect.stringMatching(/^It was discovered that the AF_UNIX socket garbage collection implementation in Ubuntu Noble's 6\.8 kernel/),
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
    expect(advisories.at(-1)!.title).toBe('USN-7755-1: Linux kernel vulnerabilities');
    const azure = advisories.find((a) => a.title.startsWith('USN-7726-5'))!;
    expect(azure.cves).toEqual(['CVE-2024-27407', 'CVE-2024-57996', 'CVE-2025-37752', 'CVE-2025-38350']);
    expect(advisories.find((a) => a.title.startsWith('USN-7722-2'))!.cves).toEqual(['CVE-2025-38350']);
  });

  it('derives hint ids from the feed name and the guid, so the same item in another feed is another hint', async () => {
    const a = await parse('rss/ubuntu-usn.rss.xml', 'ubuntu-usn');
    const b = await parse('rss/ubuntu-usn.rss.xml', 'other');
    const again = await parse('rss/ubuntu-usn.rss.xml', 'ubuntu-usn');
    expect(again.advisories.map((x) => x.id)).toEqual(a.advisories.map((x) => x.id));
    expect(a.advisories[0]!.id).not.toBe(b.advisories[0]!.id);
    expect(a.advisories.every((x) => /^HINT-[0-9a-f]{16}$/.test(x.id))).toBe(true);
  });

  it('reads the ALAS feed: CVEs from the comma-separated description, GMT dates', async () => {
    const { advisories, errors } = await parse('rss/amazon-linux-2-alas.rss.xml');
    expect(errors).toEqual([]);
    expect(advisories).toHaveLength(97);
    expect(advisories[0]).toMatchObject({
      title: 'ALAS-2018-1106 (medium): 389-ds-base',
      cves: ['CVE-2018-14648'],
      url: 'https://alas.aws.amazon.com/AL2/ALAS-2018-1106.html',
      publishedAt: '2018-11-15T00:10:00.000Z',
    });
    expect(advisories.find((a) => a.title.startsWith('ALAS-2018-1102 '))!.cves).toEqual(['CVE-2018-0495', 'CVE-2017-3735', 'CVE-2018-0732', 'CVE-2018-0739']);
    expect(advisories.at(-1)!.title).toBe('ALAS-2018-939 (critical): kernel');
  });

  it('reads the US-CERT alerts: UTF-8 punctuation, CVEs from titles and HTML content', async () => {
    const { advisories } = await parse('rss/us-cert-alerts.rss.xml');
    expect(advisories).toHaveLength(10);
    expect(advisories.map((a) => a.title)).toContain('TA14-300A: Phishing Campaign Linked with \u201cDyre\u201d Banking Malware');
    const shellshock = advisories.find((a) => a.title.startsWith('TA14-268A'))!;
    expect(shellshock.cves).toEqual(expect.arrayContaining(['CVE-2014-6271', 'CVE-2014-7169', 'CVE-2014-7186', 'CVE-2014-7187', 'CVE-2014-6277']));
    expect(shellshock.url).toBe('https://www.us-cert.gov/ncas/alerts/TA14-268A');
    expect(advisories.find((a) => a.title.startsWith('TA14-290A'))!.cves).toEqual(['CVE-2014-3566']);
  });

  it('reads the iso-8859-1 SANS ISC feed: padded values, a pseudo-item without a date, titles starting with a newline', async () => {
    const { advisories, errors } = await parse('rss/sans-isc.rss.xml');
    expect(errors).toEqual([]);
    expect(advisories).toHaveLength(11);
    expect(advisories[0]).toMatchObject({ title: 'Infocon: green', publishedAt: null, url: 'https://isc.sans.edu/diary.html?rss' });
    expect(advisories.every((a) => a.title === a.title.trim() && !a.title.includes('\n'))).toBe(true);
    expect(advisories[1]).toMatchObject({ title: 'VMware new and updated security advisories, (Fri, Dec 5th)', url: 'https://isc.sans.edu/diary.html?storyid=19031&rss' });
    // The description is HTML escaped twice and cut inside a tag: nothing readable is left.
    expect(advisories[1]!.summary).toBe('');
    expect(advisories[0]!.summary).toBe('VMware new and updated security advisories');
  });

  it('decodes with the encoding the XML declaration names', async () => {
    const xml = '<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><title>t</title>' +
      '<item><title>Mise \u00e0 jour s\u00e9curit\u00e9 CVE-2099-1234</title><guid>g1</guid></item></channel></rss>';
    const { advisories } = await rssFeed.parse([{ location: 'latin1.xml', body: Buffer.from(xml, 'latin1') }], { feedName: 'news' });
    expect(advisories[0]).toMatchObject({ title: 'Mise \u00e0 jour s\u00e9curit\u00e9 CVE-2099-1234', cves: ['CVE-2099-1234'], id: hint('news', 'g1') });
  });

  it('skips an item it cannot identify and keeps the others', async () => {
    const xml = '<rss version="2.0"><channel><title>t</title><item><description>no id</description></item>' +
      '<item><title>second</title><link>https://example.org/2</link></item></channel></rss>';
    const { advisories, errors } = await rssFeed.parse([{ location: 'anon.xml', body: Buffer.from(xml) }], { feedName: 'news' });
    expect(advisories.map((a) => [a.title, a.id])).toEqual([['second', hint('news', 'https://example.org/2')]]);
    expect(errors).toEqual([{ location: 'anon.xml: item 1', scope: 'record', message: 'has no guid, link or title to identify it' }]);
  });

  it('reads the legacy Atom feed (one entry, RFC 3339 date, CVEs in HTML content)', async () => {
    const { advisories } = await parse('rss/ubuntu-usn-legacy.atom.xml');
    expect(advisories).toHaveLength(1);
    expect(advisories[0]).toMatchObject({
      title: 'USN-3893-1: Bind vulnerabilities',
      url: 'https://usn.ubuntu.com/3893-1/',
      publishedAt: '2019-02-22T08:08:13.000Z',
      cves: ['CVE-2018-5744', 'CVE-2018-5745', 'CVE-2019-6465'],
    });
  });

  it('does not expand DTD entities: an entity bomb fails cleanly and small, at once', async () => {
    const started = Date.now();
    const bomb = doc('bad/entity-bomb.rss.xml');
    const result = await rssFeed.parse([bomb], { feedName: 'news' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(result.advisories).toEqual([]);
    expect(result.errors).toEqual([{ location: bomb.location, scope: 'document', message: expect.stringContaining('is not a readable RSS or Atom feed') }]);
    expect(JSON.stringify(result).length).toBeLessThan(1000);
  });

  it('reports a document that is not XML', async () => {
    const { errors } = await parse('bad/not-a-feed.rss.xml');
    expect(errors).toEqual([{ location: `${FIXTURES}bad/not-a-feed.rss.xml`, scope: 'document', message: expect.stringContaining('Non-whitespace before first tag') }]);
  });
});
