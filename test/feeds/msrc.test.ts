import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AdvisoryInput } from '../../src/core/types.js';
import { msrcFeed } from '../../src/feeds/msrc.js';
import type { FeedParseResult } from '../../src/feeds/types.js';

const FIXTURES = new URL('../fixtures/feeds/msrc/', import.meta.url).pathname;
const NOVEMBER = `${FIXTURES}cvrfDocument-2023-Nov.xml`;

const parseFile = (file: string) => msrcFeed.parse([{ location: file, body: readFileSync(file) }], { feedName: 'msrc' });

describe('msrc feed (CVRF 1.1, November 2023)', () => {
  let result: FeedParseResult;
  let byId: Map<string, AdvisoryInput>;
  beforeAll(async () => {
    result = await parseFile(NOVEMBER);
    byId = new Map(result.advisories.map((a) => [a.id, a]));
  });

  it('gives one advisory per vulnerability, 23 of them without a CVSS score, as counted in the document', () => {
    // grep -c '<vuln:Vulnerability ' → 106; grep -c '<vuln:CVSSScoreSets />' → 23.
    expect(result.errors).toEqual([]);
    expect(result.advisories).toHaveLength(106);
    expect(byId.size).toBe(106);
    expect(result.advisories.filter((a) => a.cvss === null)).toHaveLength(23);
    expect(result.advisories.every((a) => a.id === `MSRC-${a.cves[0]}` && a.source === 'msrc' && a.trust === 'authoritative')).toBe(true);
  });

  it('reads CVE-2023-36033: score, severity, exploit status, KB numbers with supersedence and restart', () => {
    const advisory = byId.get('MSRC-CVE-2023-36033')!;
    expect(advisory).toMatchObject({
      title: 'Windows DWM Core Library Elevation of Privilege Vulnerability',
      url: 'https://msrc.microsoft.com/update-guide/vulnerability/CVE-2023-36033',
      cves: ['CVE-2023-36033'],
      cvss: { score: 7.8, vector: 'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C' },
      vendorSeverity: 'Important',
      publishedAt: '2023-11-14T08:00:00.000Z',
    });
    // The Description note is empty in the document; the first FAQ answers instead.
    expect(advisory.summary).toContain('could gain SYSTEM privileges');
    expect(advisory.threats).toContainEqual({
      category: 'exploit_status',
      details: 'Publicly Disclosed:Yes;Exploited:Yes;Latest Software Release:Exploitation Detected;DOS:N/A',
      productIds: [],
    });
    expect(advisory.affected.map((a) => `${a.ecosystem}/${a.name}`)).toEqual([
      'Windows/KB5032196',
      'Windows/KB5032198',
      'Windows/KB5032304',
      'Windows/KB5032192',
      'Windows/KB5032189',
      'Windows/KB5032190',
      'Windows/KB5032202',
    ]);
    expect(advisory.remediations![0]).toEqual({
      category: 'vendor_fix',
      details: '5032196',
      url: 'https://catalog.update.microsoft.com/v7/site/Search.aspx?q=KB5032196',
      productIds: ['11568', '11569', '11570', '11571', '11572'],
      kb: 'KB5032196',
      supercedence: '5031361',
      restartRequired: 'Yes',
      fixedBuild: '10.0.17763.5122',
    });
    expect(advisory.remediations!.filter((r) => r.category === 'known_issue').length).toBeGreaterThan(0);
    expect(advisory.products).toContainEqual({ id: '11569', name: 'Windows 10 Version 1809 for x64-based Systems', cpe: null, purl: null, status: ['known_affected'] });
  });

  it('keeps the Chrome CVEs Edge ingests, without KBs or severity', () => {
    const chrome = byId.get('MSRC-CVE-2023-5996')!;
    expect(chrome).toMatchObject({ title: 'Chromium: CVE-2023-5996 Use after free in WebAudio', cvss: null, vendorSeverity: null, affected: [] });
    expect(chrome.summary).toMatch(/^This CVE was assigned by Chrome\. Microsoft Edge/);
    expect(chrome.remediations!.map((r) => r.fixedBuild)).toEqual(['118.0.2088.102', '119.0.2151.58']);
    expect(chrome.products!.map((p) => p.name)).toEqual(['Microsoft Edge (Chromium-based) Extended Stable', 'Microsoft Edge (Chromium-based)']);
  });

  it('takes the highest severity word and base score over the products', () => {
    const critical = result.advisories.filter((a) => a.vendorSeverity === 'Critical');
    expect(critical.length).toBeGreaterThan(0);
    for (const advisory of result.advisories) {
      const words = advisory.threats!.filter((t) => t.category === 'severity').map((t) => t.details);
      if (words.includes('Critical')) expect(advisory.vendorSeverity).toBe('Critical');
    }
  });
});

describe('msrc feed: hostile and broken input', () => {
  it('leaves DTD entities unexpanded (entity bomb stays inert text)', async () => {
    const started = Date.now();
    const result = await parseFile(`${FIXTURES}entity-bomb.xml`);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result.errors).toEqual([]);
    expect(result.advisories).toHaveLength(1);
    expect(result.advisories[0]!.title).toBe('&lol9; Vulnerability');
    expect(result.advisories[0]!.title).not.toContain('lollol');
  });

  it('refuses a document that declares an external entity', async () => {
    const xml = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><cvrfdoc><Vulnerability><CVE>&xxe;</CVE></Vulnerability></cvrfdoc>';
    const result = await msrcFeed.parse([{ location: 'xxe.xml', body: Buffer.from(xml) }], { feedName: 'msrc' });
    expect(result.advisories).toEqual([]);
    expect(result.errors).toEqual([expect.objectContaining({ location: 'xxe.xml', scope: 'document', message: expect.stringContaining('is not readable XML') })]);
  });

  it('skips a vulnerability without a CVE id and reads the rest; refuses XML that is not CVRF', async () => {
    const xml = `<cvrfdoc><Vulnerability><CVE>not-a-cve</CVE></Vulnerability><Vulnerability><CVE>CVE-2023-1234</CVE></Vulnerability></cvrfdoc>`;
    const result = await msrcFeed.parse(
      [
        { location: 'one.xml', body: Buffer.from(xml) },
        { location: 'rss.xml', body: Buffer.from('<rss><channel/></rss>') },
      ],
      { feedName: 'msrc' },
    );
    expect(result.advisories.map((a) => a.id)).toEqual(['MSRC-CVE-2023-1234']);
    expect(result.errors).toEqual([
      { location: 'one.xml: Vulnerability[0]', scope: 'record', message: 'CVE: "not-a-cve" is not a CVE id' },
      expect.objectContaining({ location: 'rss.xml', scope: 'document', message: expect.stringContaining('is not a CVRF document: cvrfdoc') }),
    ]);
  });
});
