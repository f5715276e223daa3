import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { listExposures } from '../../src/store/queries/exposures.js';
import { assessAll } from '../../src/workflow/assess.js';
import { ingestFeedFile } from '../../src/workflow/feeds.js';
import { importHosts } from '../../src/workflow/inventory.js';
import { createTestContext } from '../helpers/context.js';
import { describeEachStore } from '../helpers/stores.js';

const FIXTURES = new URL('../fixtures/feeds/', import.meta.url).pathname;

/** The USN RSS item for the same notice as the OSV fixture USN-6242-1 (the captured feed is of later notices). */
const USN_6242_ITEM = `<?xml version="1.0"?><rss version="2.0"><channel><title>Ubuntu security notices</title>
<item><title>USN-6242-1: OpenSSH vulnerability</title><link>https://ubuntu.com/security/notices/USN-6242-1</link>
<description>It was discovered that OpenSSH incorrectly handled loading certain PKCS#11 providers (CVE-2023-38408).</description>
<guid isPermaLink="false">https://ubuntu.com/security/notices/USN-6242-1</guid><pubDate>Wed, 19 Jul 2023 16:10:00 +0000</pubDate></item>
</channel></rss>`;

describeEachStore('distro notices in the store', (s) => {
  let scratch: string;
  beforeEach(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'patchdeck-distro-'));
    return () => rmSync(scratch, { recursive: true, force: true });
  });

  it('stores the real feeds, links notices to CVEs, and re-reading them changes nothing', async () => {
    const { ctx } = createTestContext(s.store);
    const first = await ingestFeedFile(ctx, { kind: 'distro', path: `${FIXTURES}distro`, actor: 'test' });
    // 108 RSS/Atom notices, USN-4154-1 (USN JSON), 10 DSA list entries, 5 tracker CVEs.
    expect(first).toMatchObject({ documents: 6, added: 124, updated: 0, failed: 0 });
    const again = await ingestFeedFile(ctx, { kind: 'distro', path: `${FIXTURES}distro`, actor: 'test' });
    expect(again).toMatchObject({ added: 0, updated: 0, unchanged: 124 });
    const cves = await s.store.db.selectFrom('advisory_cves').select('cve').where('advisory_id', '=', 'NOTICE-AL2-ALAS-2018-1102').orderBy('cve').execute();
    expect(cves.map((r) => r.cve)).toEqual(['CVE-2017-3735', 'CVE-2018-0495', 'CVE-2018-0732', 'CVE-2018-0739']);
    const packages = await s.store.db.selectFrom('advisory_packages').select('advisory_id').where('advisory_id', 'like', 'NOTICE-%').execute();
    expect(packages).toEqual([]);
  });

  it('corroborates the OSV record of the same notice without replacing it, and never creates exposures itself', async () => {
    const { ctx } = createTestContext(s.store);
    const host = {
      name: 'bastion-01', os: 'Ubuntu 22.04', role: 'server', criticality: 'high' as const, usage: 0.5, owner: 'ops', groups: [],
      packages: [{ ecosystem: 'Ubuntu:22.04:LTS', name: 'openssh-server', version: '1:8.9p1-3ubuntu0.1' }],
    };
    await importHosts(ctx, { hosts: [host], source: 'test', actor: 'test' });
    const notice = path.join(scratch, 'usn.rss.xml');
    writeFileSync(notice, USN_6242_ITEM);
    await ingestFeedFile(ctx, { kind: 'distro', path: notice, actor: 'test' });
    await assessAll(ctx, { actor: 'test' });
    expect(await listExposures(s.store.db)).toEqual([]);

    await ingestFeedFile(ctx, { kind: 'osv', path: `${FIXTURES}osv/ubuntu/USN-6242-1.json`, actor: 'test' });
    await assessAll(ctx, { actor: 'test' });
    const exposures = await listExposures(s.store.db);
    expect(exposures.map((e) => [e.advisoryId, e.package, e.fixed])).toEqual([['USN-6242-1', 'openssh-server', '1:8.9p1-3ubuntu0.3']]);
    const byCve = await s.store.db.selectFrom('advisory_cves').select('advisory_id').where('cve', '=', 'CVE-2023-38408').orderBy('advisory_id').execute();
    expect(byCve.map((r) => r.advisory_id)).toEqual(['NOTICE-USN-6242-1', 'USN-6242-1']);
    const osv = await s.store.db.selectFrom('advisories').select(['source', 'affected']).where('id', '=', 'USN-6242-1').executeTakeFirstOrThrow();
    expect(osv.source).toBe('osv');
    expect(JSON.parse(osv.affected)).toHaveLength(2);
  });

  it('matches hosts on the fixed versions per release of USN JSON and the DSA list; the OSV copy of the USN never replaces it and is no error', async () => {
    const { ctx } = createTestContext(s.store);
    const hosts = [
      { name: 'ubuntu-01', os: 'Ubuntu 18.04', packages: [{ ecosystem: 'Ubuntu:18.04:LTS', name: 'sudo-ldap', version: '1.8.21p2-3ubuntu1' }] },
      { name: 'ubuntu-02', os: 'Ubuntu 18.04', packages: [{ ecosystem: 'Ubuntu:18.04:LTS', name: 'sudo-ldap', version: '1.8.21p2-3ubuntu1.1' }] },
      { name: 'debian-01', os: 'Debian 12', packages: [{ ecosystem: 'Debian:12', name: 'sope', version: '5.8.0-1' }] },
      { name: 'debian-02', os: 'Debian 11', packages: [{ ecosystem: 'Debian:11', name: 'sope', version: '5.0.1-2' }] },
    ].map((h) => ({ ...h, role: 'server', criticality: 'high' as const, usage: 0.5, owner: 'ops', groups: [] }));
    await importHosts(ctx, { hosts, source: 'test', actor: 'test' });
    await ingestFeedFile(ctx, { kind: 'distro', path: `${FIXTURES}distro/ubuntu/USN-4154-1.json`, name: 'usn', actor: 'test' });
    await ingestFeedFile(ctx, { kind: 'distro', path: `${FIXTURES}distro/debian/DSA-list.txt`, name: 'dsa', actor: 'test' });
    await assessAll(ctx, { actor: 'test' });
    const summary = async () => (await listExposures(s.store.db)).map((e) => [e.host, e.advisoryId, e.package, e.installed, e.fixed]).sort();
    // ubuntu-02 has the fix; debian-02 runs bullseye, which DSA-5970-1 does not name.
    expect(await summary()).toEqual([
      ['debian-01', 'DSA-5970-1', 'sope', '5.8.0-1', '5.8.0-1+deb12u1'],
      ['ubuntu-01', 'USN-4154-1', 'sudo-ldap', '1.8.21p2-3ubuntu1', '1.8.21p2-3ubuntu1.1'],
    ]);

    const osv = await ingestFeedFile(ctx, { kind: 'osv', path: `${FIXTURES}osv/ubuntu/USN-4154-1.json`, name: 'ubuntu-osv', actor: 'test' });
    // Ubuntu's OSV copy of the USN is expected beside the USN feed: superseded, not an error.
    expect(osv).toMatchObject({ added: 0, updated: 0, superseded: 1, failed: 0, errors: [] });
    const row = await s.store.db.selectFrom('advisories').select('source').where('id', '=', 'USN-4154-1').executeTakeFirstOrThrow();
    expect(row.source).toBe('distro');
    await assessAll(ctx, { actor: 'test' });
    expect(await summary()).toHaveLength(2);
  });
});
