import type { WorkflowContext } from '../workflow/context.js';
import { assessAll } from '../workflow/assess.js';
import { pollFeeds } from '../workflow/feeds.js';
import { importHosts } from '../workflow/inventory.js';
import { generateDemoFleet } from './fleet.js';

export interface DemoSeedResult {
  seeded: boolean;
  feeds: number;
  hosts: number;
  casesOpened: number;
}

export const DEMO_ACTOR = 'patchdeck-demo';

/**
 * Fills an empty database for the offline demo: ingests the bundled feeds, imports the simulated
 * fleet and assesses it, through the same workflow services an operator's commands use. A database
 * that already has hosts is left alone, so restarting the demo keeps its history.
 */
export async function seedDemo(ctx: WorkflowContext, progress: (line: string) => void = () => undefined): Promise<DemoSeedResult> {
  const existing = await ctx.store.db.selectFrom('hosts').select('id').limit(1).executeTakeFirst();
  if (existing) return { seeded: false, feeds: 0, hosts: 0, casesOpened: 0 };

  progress('ingesting the bundled feeds…');
  const poll = await pollFeeds(ctx, { actor: DEMO_ACTOR });
  for (const outcome of poll.outcomes) {
    if (outcome.result) progress(`  ${outcome.feed}: ${outcome.result.added} added, ${outcome.result.unchanged} unchanged`);
    else progress(`  ${outcome.feed}: failed: ${outcome.error?.message ?? 'unknown error'}`);
  }
  const fleet = generateDemoFleet(ctx.config.demo.fleetSize, ctx.config.demo.seed);
  progress(`importing a simulated fleet of ${fleet.length} hosts…`);
  await importHosts(ctx, { hosts: fleet, source: 'demo:simulated-fleet', actor: DEMO_ACTOR });
  progress('assessing exposures…');
  const assessed = await assessAll(ctx, { actor: DEMO_ACTOR });
  return { seeded: true, feeds: poll.outcomes.length, hosts: fleet.length, casesOpened: assessed.casesOpened.length };
}
