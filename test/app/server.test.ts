import { createServer, type Server } from 'node:net';
import { expect, it } from 'vitest';
import { createSilentLogger } from '../../src/app/logger.js';
import { createRuntime } from '../../src/app/runtime.js';
import { startServer } from '../../src/app/server.js';
import { parseConfig } from '../../src/config/load.js';
import { fixedClock } from '../../src/core/clock.js';
import { openStore, migrateToLatest } from '../../src/store/db.js';

it('refuses a port another process holds with PD_PORT_IN_USE, naming the address and what to do', async () => {
  const squatter: Server = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  const port = (squatter.address() as { port: number }).port;
  const store = await openStore('sqlite::memory:');
  await migrateToLatest(store);
  const runtime = await createRuntime({ config: parseConfig({}), clock: fixedClock('2026-11-23T09:00:00.000Z'), logger: createSilentLogger(), store });
  try {
    await expect(startServer(runtime, { port, host: '127.0.0.1', worker: false, scheduler: false })).rejects.toMatchObject({
      code: 'PD_PORT_IN_USE',
      message: expect.stringMatching(new RegExp(`127\\.0\\.0\\.1:${port}: the port is in use.*--port or PORT`)),
    });
  } finally {
    await runtime.close();
    await new Promise((resolve) => squatter.close(resolve));
  }
});
