import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { Store } from '../../src/store/db.js';
import { getCaseView, listCases } from '../../src/store/queries/cases.js';
import { assessAll } from '../../src/workflow/assess.js';
import { importInventory } from '../../src/workflow/inventory.js';
import { insertAdvisory, kevAdvisory, osvFixture } from '../helpers/advisories.js';
import { createTestContext } from '../helpers/context.js';
import { describeEachStore } from '../helpers/stores.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/inventory');

// hosts.json owners: web-01 "web-team", db-01 "dba", ws-01 "alice", legacy-01 none.
async function assessWith(store: Store, rules: Record<string, unknown>[]) {
  const { ctx } = createTestContext(store, { policy: { alertThreshold: 'medium' }, routing: { defaultChannel: '#patching', rules } });
  await insertAdvisory(store.db, osvFixture('USN-6859-1.json', { cvssScore: 8.1 }));
  await insertAdvisory(store.db, osvFixture('USN-7270-1.json'));
  await insertAdvisory(store.db, osvFixture('USN-4705-1.json'));
  await insertAdvisory(store.db, osvFixture('GHSA-3h5v-q93c-6h6q.json', { cvssScore: 7.5 }));
  await insertAdvisory(store.db, kevAdvisory('CVE-2021-3156'));
  await importInventory(ctx, { text: readFileSync(path.join(FIXTURES, 'hosts.json'), 'utf8'), format: 'json', source: 'file:hosts.json', actor: 'cli:alice' });
  await assessAll(ctx, { actor: 'cli:alice' });
  const channels: Record<string, string | null> = {};
  for (const c of await listCases(store.db)) channels[c.advisoryId] = (await getCaseView(store.db, c.id))!.channel;
  return channels;
}

describeEachStore('cases routed by the owners of their hosts', (s) => {
  it('sends a case to the first rule listing an affected host\'s owner, case-insensitively', async () => {
    const channels = await assessWith(s.store, [
      { channel: '#alice-desk', owners: ['ALICE'] },
      { channel: '#dba', owners: ['dba'], severity: ['critical'] },
      { channel: '#web-owners', owners: ['nobody', 'web-team'] },
    ]);
    expect(channels).toEqual({
      // ws on ws-01 (alice)
      'GHSA-3h5v-q93c-6h6q': '#alice-desk',
      // openssh on web-01 (web-team) and db-01 (dba, but that rule needs critical): web-team's rule
      'USN-7270-1': '#web-owners',
      // sudo on legacy-01, which has no owner
      'USN-4705-1': '#patching',
      // regreSSHion on web-01 only
      'USN-6859-1': '#web-owners',
    });
  });
});
