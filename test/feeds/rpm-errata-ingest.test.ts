import { expect, it } from 'vitest';
import { listExposures } from '../../src/store/queries/exposures.js';
import { assessAll } from '../../src/workflow/assess.js';
import { ingestFeedFile } from '../../src/workflow/feeds.js';
import { importHosts } from '../../src/workflow/inventory.js';
import { createTestContext } from '../helpers/context.js';
import { describeEachStore } from '../helpers/stores.js';

const FIXTURES = new URL('../fixtures/feeds/', import.meta.url).pathname;

// AlmaLinux and Rocky Linux publish their errata as OSV: the `osv` kind reads them, rpm ordering matches them.
describeEachStore('AlmaLinux and Rocky Linux errata (real OSV records) matched per release', (s) => {
  it('matches hosts per release with rpm ordering, epochs and module release strings included', async () => {
    const { ctx } = createTestContext(s.store);
    const host = (name: string, ecosystem: string, pkg: string, version: string) => ({
      name, os: ecosystem, role: 'server', criticality: 'high' as const, usage: 0.5, owner: 'ops', groups: [], packages: [{ ecosystem, name: pkg, version }],
    });
    await importHosts(ctx, {
      hosts: [
        host('alma9-old', 'AlmaLinux:9', 'avahi-libs', '0.8-12.el9'),
        host('alma9-fixed', 'AlmaLinux:9', 'avahi-libs', '0.8-20.el9'),
        // Same package on AlmaLinux 8: ALSA-2024:2433 is for AlmaLinux 9 only.
        host('alma8', 'AlmaLinux:8', 'avahi-libs', '0.7-20.el8'),
        host('alma8-requests', 'AlmaLinux:8', 'python3-requests', '2.20.0-2.1.el8_1'),
        // Rocky writes the fix as 0:3.3.1-2.module+el9.4.0+…; the host reports no epoch.
        host('rocky9-old', 'Rocky Linux:9', 'ruby', '3.3.0-1.module+el9.4.0+20000+aaaaaaaa'),
        host('rocky9-fixed', 'Rocky Linux:9', 'ruby', '3.3.1-2.module+el9.4.0+20787+4c237fd3'),
      ],
      source: 'test',
      actor: 'test',
    });
    for (const dir of ['almalinux', 'rocky']) {
      const result = await ingestFeedFile(ctx, { kind: 'osv', path: `${FIXTURES}osv-rpm/${dir}`, name: dir, actor: 'test' });
      expect(result).toMatchObject({ failed: 0 });
    }
    await assessAll(ctx, { actor: 'test' });
    const exposures = (await listExposures(s.store.db)).map((e) => [e.host, e.advisoryId, e.package, e.fixed]).sort();
    expect(exposures).toEqual([
      ['alma8-requests', 'ALSA-2023:4520', 'python3-requests', '2.20.0-3.el8_8'],
      ['alma9-old', 'ALSA-2024:2433', 'avahi-libs', '0.8-20.el9'],
      ['rocky9-old', 'RLSA-2024:3671', 'ruby', '0:3.3.1-2.module+el9.4.0+20787+4c237fd3'],
    ]);
  });
});
