import { expect, it } from 'vitest';
import { createSilentLogger } from '../../src/app/logger.js';
import { createRuntime } from '../../src/app/runtime.js';
import { parseConfig } from '../../src/config/load.js';
import { fixedClock } from '../../src/core/clock.js';
import { JOB_KINDS } from '../../src/workflow/jobs.js';
import { describeEachStore } from '../helpers/stores.js';

describeEachStore('runtime wiring', (s) => {
  it('has a handler for every job kind, so no enqueued job waits for ever', async () => {
    const runtime = await createRuntime({ config: parseConfig({}), clock: fixedClock('2026-11-23T09:00:00.000Z'), logger: createSilentLogger(), store: s.store });
    try {
      const missing = Object.values(JOB_KINDS).filter((kind) => runtime.handlers[kind] === undefined);
      expect(missing).toEqual([]);
    } finally {
      await runtime.close();
    }
  });
});
