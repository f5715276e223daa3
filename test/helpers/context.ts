import { createSilentLogger } from '../../src/app/logger.js';
import { parseConfig } from '../../src/config/load.js';
import { fixedClock } from '../../src/core/clock.js';
import type { Store } from '../../src/store/db.js';
import type { WorkflowContext } from '../../src/workflow/context.js';

export const TEST_NOW = '2026-11-23T09:00:00.000Z';

/** A workflow context on a test store with a fixed clock, a silent logger and the given config. */
export function createTestContext(store: Store, rawConfig: Record<string, unknown> = {}, now: string = TEST_NOW) {
  const clock = fixedClock(now);
  const ctx: WorkflowContext = { store, clock, logger: createSilentLogger(), config: parseConfig(rawConfig) };
  return { ctx, clock };
}
