import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kevFeed } from '../../src/feeds/kev.js';

const fixture = (name: string) => {
  const location = new URL(`../fixtures/feeds/${name}`, import.meta.url).pathname;
  return { location, body: readFileSync(location) };
};
const ctx = { feedName: 'kev' };

describe('kev feed', () => {
  it('reads the whole catalog 2025.08.25: 1,404 advisories, one per CVE', async () => {
    const { advisories, errors } = await kevFeed.parse([fixture('kev/known_exploited_vulnerabilities.json')], ctx);
    expect(errors).toEqual([]);
    expect(advisories).toHaveLength(1404);
    expect(new Set(advisories.map((a) => a.id)).size).toBe(1404);
    expect(advisories.every((a) => a.id === `KEV-${a.cves[0]}` && a.cves.length === 1 && a.affected.length === 0)).toBe(true);
    // 293 entries say "Known", 1,111 "Unknown" in this catalog version.
    expect(advisories.filter((a) => a.kev?.knownRansomwareCampaignUse).length).toBe(293);
  });

  it('keeps the KEV facts of an entry (CVE-2025-48384, Git, first in the file)', async () => {
    const { advisories } = await kevFeed.parse([fixture('kev/known_exploited_vulnerabilities.json')], ctx);
    expect(advisories.find((a) => a.id === 'KEV-CVE-2025-48384')).toEqual({
      id: 'KEV-CVE-2025-48384',
      source: 'kev',
      trust: 'authoritative',
      title: 'Git Link Following Vulnerability',
      summary: 'Git contains a link following vulnerability that stems from Git\u2019s inconsistent handling of carriage return characters in configuration files.',
      url: 'https://nvd.nist.gov/vuln/detail/CVE-2025-48384',
      publishedAt: '2025-08-25T00:00:00.000Z',
      modifiedAt: null,
      withdrawnAt: null,
      cves: ['CVE-2025-48384'],
      affected: [],
      cvss: null,
      kev: {
        dateAdded: '2025-08-25',
        dueDate: '2025-09-15',
        knownRansomwareCampaignUse: false,
        requiredAction:
          'Apply mitigations per vendor instructions, follow applicable BOD 22-01 guidance for cloud services, or discontinue use of the product if mitigations are unavailable.',
        vendor: 'Git',
        product: 'Git',
      },
      vendorSeverity: null,
    });
    const sharepoint = advisories.find((a) => a.id === 'KEV-CVE-2025-49704');
    expect(sharepoint?.kev).toMatchObject({ knownRansomwareCampaignUse: true, dueDate: '2025-07-23', vendor: 'Microsoft', product: 'SharePoint' });
  });

  it('reports a truncated file as unreadable, naming it and where it ends', async () => {
    const doc = fixture('bad/kev-truncated.json');
    const { advisories, errors } = await kevFeed.parse([doc], ctx);
    expect(advisories).toEqual([]);
    expect(errors).toEqual([{ location: doc.location, scope: 'document', message: "is not valid JSON: it ends early at position 6000 (truncated?)" }]);
  });

  it('reports JSON of another shape as not a KEV catalog', async () => {
    const doc = fixture('bad/kev-wrong-shape.json');
    const { errors } = await kevFeed.parse([doc], ctx);
    expect(errors).toEqual([{ location: doc.location, scope: 'document', message: expect.stringContaining('is not a CISA KEV catalog: vulnerabilities:') }]);
  });

  it('skips a bad entry, naming it, and keeps the rest', async () => {
    const catalog = {
      catalogVersion: 'test',
      vulnerabilities: [
        { cveID: 'CVE-2099-0001', vendorProject: 'V', product: 'P', vulnerabilityName: 'ok', dateAdded: '2099-01-01', dueDate: '2099-01-22', knownRansomwareCampaignUse: 'Known' },
        { cveID: 'not-a-cve', dateAdded: '2099-01-01' },
        { cveID: 'CVE-2099-0003' },
      ],
    };
    const { advisories, errors } = await kevFeed.parse([{ location: 'kev.json', body: Buffer.from(JSON.stringify(catalog)) }], ctx);
    expect(advisories.map((a) => a.id)).toEqual(['KEV-CVE-2099-0001']);
    expect(errors).toEqual([
      { location: 'kev.json: vulnerabilities[1] (not-a-cve)', scope: 'record', message: expect.stringContaining('cveID') },
      { location: 'kev.json: vulnerabilities[2] (CVE-2099-0003)', scope: 'record', message: expect.stringContaining('dateAdded') },
    ]);
  });
});
