import { expect, it } from 'vitest';
import { demoConfig } from '../../src/config/demo.js';
import { DEMO_WORKSTATION_OWNER, generateDemoFleet } from '../../src/demo/fleet.js';
import { seedDemo } from '../../src/demo/seed.js';
import { createTestContext } from '../helpers/context.js';
import { describeEachStore } from '../helpers/stores.js';

/** The quick start's demo: what `npm start` fills an empty database with. */
describeEachStore('offline demo seed', (s) => {
  it('ingests the bundled feeds, imports 300 simulated hosts and opens patch cases, once', async () => {
    const { databaseUrl: _ignored, ...config } = demoConfig();
    const { ctx } = createTestContext(s.store, config);
    const lines: string[] = [];
    const seeded = await seedDemo(ctx, (line) => lines.push(line));
    expect(seeded).toMatchObject({ seeded: true, feeds: 5, hosts: 300 });
    expect(seeded.casesOpened).toBeGreaterThanOrEqual(5);
    expect(lines.filter((l) => l.includes('failed'))).toEqual([]);
    const cases = await s.store.db.selectFrom('cases').select(['severity', 'state']).execute();
    expect(cases).toHaveLength(seeded.casesOpened);
    expect(new Set(cases.map((c) => c.state))).toEqual(new Set(['awaiting_approval']));
    // Restarting the demo keeps its history: a database with hosts is left alone.
    expect(await seedDemo(ctx)).toMatchObject({ seeded: false, hosts: 0 });
  }, 120_000);
});

it('gives the demo operator a few workstations outside the pilot ring, so reboot notices show in the console', () => {
  const fleet = generateDemoFleet(300, 42);
  const daves = fleet.filter((h) => h.owner === DEMO_WORKSTATION_OWNER);
  expect(daves.length).toBeGreaterThanOrEqual(3);
  for (const host of daves) {
    expect(host.role).not.toBe('server');
    expect(host.groups).not.toContain('pilot');
  }
  const people = demoConfig().people as { id: string; email?: string }[];
  expect(people.find((p) => p.email === DEMO_WORKSTATION_OWNER)?.id).toBe('dave');
  // Deterministic: the same seed gives the same fleet.
  expect(generateDemoFleet(300, 42)).toEqual(fleet);
});
