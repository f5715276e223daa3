import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { listExposures } from '../../src/store/queries/exposures.js';
import { assessAll } from '../../src/workflow/assess.js';
import { ingestFeedFile } from '../../src/workflow/feeds.js';
import { importInventory } from '../../src/workflow/inventory.js';
import { createTestContext, TEST_NOW } from '../helpers/context.js';
import { describeEachStore } from '../helpers/stores.js';

const FEEDS = path.resolve(import.meta.dirname, '../fixtures/feeds');
const INVENTORY = path.resolve(import.meta.dirname, '../fixtures/inventory/windows-kb');

// The real MSRC CVRF of November 2023 and a hotfix export: WS-042 runs Windows 11 22H2 with October's
// cumulative update (KB5031354), WS-043 already has November's (KB5032190), SRV-DC1 is a Server 2019
// with October's (KB5031361, which November's KB5032196 supersedes).
describeEachStore('assessAll on Windows KB lists (MSRC supersedence)', (s) => {
  async function setUp() {
    const { ctx, clock } = createTestContext(s.store, { policy: { alertThreshold: 'critical' } });
    const ingested = await ingestFeedFile(ctx, { kind: 'msrc', path: path.join(FEEDS, 'msrc/cvrfDocument-2023-Nov.xml'), actor: 'test' });
    expect(ingested.failed).toBe(0);
    await importInventory(ctx, { text: readFileSync(path.join(INVENTORY, 'hotfixes.csv'), 'utf8'), format: 'windows-kb', source: 'file:hotfixes.csv', actor: 'test' });
    return { ctx, clock };
  }

  /** Advisories of the fixture whose vendor fixes include the KB. */
  async function advisoriesFixedBy(kb: string): Promise<string[]> {
    const rows = await s.store.db.selectFrom('advisory_packages').select('advisory_id').where('ecosystem', '=', 'Windows').where('name', '=', kb).execute();
    return rows.map((r) => r.advisory_id).sort();
  }

  it('exposes a host missing the fix of its Windows line, not one that has it nor one of another line', async () => {
    const { ctx } = await setUp();
    const result = await assessAll(ctx, { actor: 'test' });
    const win11 = await advisoriesFixedBy('KB5032190');
    const server2019 = await advisoriesFixedBy('KB5032196');
    expect(win11.length).toBeGreaterThan(10);
    expect(server2019.length).toBeGreaterThan(10);
    expect(result.exposures).toEqual({ new: win11.length + server2019.length, unchanged: 0, resolved: 0 });

    const exposures = await listExposures(s.store.db);
    const of = (host: string) => exposures.filter((e) => e.host === host);
    expect(of('WS-043')).toEqual([]);
    expect(of('WS-042').map((e) => e.advisoryId).sort()).toEqual(win11);
    expect(of('SRV-DC1').map((e) => e.advisoryId).sort()).toEqual(server2019);
    expect(new Set(of('WS-042').map((e) => `${e.ecosystem} ${e.package} ${e.installed} ${e.fixed}`))).toEqual(new Set(['Windows KB5032190 KB5031354 KB5032190']));
    expect(new Set(of('SRV-DC1').map((e) => `${e.package} ${e.installed}`))).toEqual(new Set(['KB5032196 KB5031361']));

    const secureBoot = of('WS-042').find((e) => e.advisoryId === 'MSRC-CVE-2023-36719')!;
    expect(secureBoot).toMatchObject({ cves: ['CVE-2023-36719'], detectedAt: TEST_NOW, status: 'open' });
    expect(secureBoot.reasons[0]).toBe('KB5031354 installed, which KB5032190 supersedes; KB5032190 or a later update is missing');
    expect(secureBoot.reasons[1]).toMatch(/^Published: CVSS 8\.4/);
  });

  it('resolves the exposures of a host once its next hotfix list has the fix, re-matching only that host', async () => {
    const { ctx, clock } = await setUp();
    await assessAll(ctx, { actor: 'test' });
    const before = await listExposures(s.store.db);
    clock.advance(86_400_000);
    await importInventory(ctx, { text: 'host,kb,installed_on\nWS-042,KB5031354,2023-10-11\nWS-042,KB5032190,2023-11-15\n', format: 'windows-kb', source: 'file:later.csv', actor: 'test' });
    const ws042 = await s.store.db.selectFrom('hosts').select('id').where('name', '=', 'WS-042').executeTakeFirstOrThrow();
    const result = await assessAll(ctx, { actor: 'test', hostIds: [Number(ws042.id)] });
    const fixed = before.filter((e) => e.host === 'WS-042');
    expect(result.exposures).toEqual({ new: 0, unchanged: 0, resolved: fixed.length });
    expect(await listExposures(s.store.db, { host: 'WS-042' })).toEqual([]);
    // SRV-DC1 was outside the scope: untouched, and a full run agrees with the scoped one.
    expect(await listExposures(s.store.db, { host: 'SRV-DC1' })).toEqual(before.filter((e) => e.host === 'SRV-DC1'));
    expect((await assessAll(ctx, { actor: 'test' })).exposures).toMatchObject({ new: 0, resolved: 0 });
  });

  it('is not exposed when a later update from another advisory supersedes the fix', async () => {
    const { ctx } = await setUp();
    // December's Windows 11 cumulative update (KB5033375) supersedes November's; a host that has it
    // but not November's is covered. The advisory is written as the MSRC feed would write it.
    await s.store.db
      .insertInto('advisories')
      .values({
        id: 'MSRC-CVE-2023-99999',
        source: 'msrc',
        trust: 'authoritative',
        title: 'December update',
        summary: '',
        url: null,
        published_at: '2023-12-12T08:00:00Z',
        modified_at: '2023-12-12T08:00:00Z',
        withdrawn_at: null,
        cves: '["CVE-2023-99999"]',
        affected: JSON.stringify([{ ecosystem: 'Windows', name: 'KB5033375', binaries: [], ranges: [], versions: [] }]),
        cvss_score: 7.8,
        cvss_vector: null,
        kev: null,
        vendor_severity: 'Important',
        vendor_details: JSON.stringify({ remediations: [{ category: 'vendor_fix', details: '5033375', url: null, productIds: [], kb: 'KB5033375', supercedence: '5032190', fixedBuild: null, restartRequired: 'Yes' }], threats: [], products: [], provenance: null }),
        content_hash: 'x',
        ingested_at: TEST_NOW,
        updated_at: TEST_NOW,
      })
      .execute();
    await s.store.db.insertInto('advisory_packages').values({ advisory_id: 'MSRC-CVE-2023-99999', ecosystem: 'Windows', name: 'KB5033375' }).execute();
    await importInventory(ctx, { text: 'host,kb,installed_on\nWS-042,KB5031354,2023-10-11\nWS-042,KB5033375,2023-12-13\nWS-043,KB5032190,2023-11-15\n', format: 'windows-kb', source: 'file:dec.csv', actor: 'test' });
    await assessAll(ctx, { actor: 'test' });
    expect(await listExposures(s.store.db, { host: 'WS-042' })).toEqual([]);
    // WS-043 has November's update, which December's supersedes: exposed to the December advisory only.
    expect((await listExposures(s.store.db, { host: 'WS-043' })).map((e) => [e.advisoryId, e.package, e.installed])).toEqual([['MSRC-CVE-2023-99999', 'KB5033375', 'KB5032190']]);
  });
});
