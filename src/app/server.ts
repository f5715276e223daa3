import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PatchdeckError } from '../core/errors.js';
import { createWebApp } from '../web/app.js';
import { checkWebAuthProvider } from '../web/routes/auth.js';
import type { Runtime } from './runtime.js';
import { startScheduler, type RunningScheduler } from './scheduler.js';
import { startWorker, type RunningWorker } from './worker.js';

export interface ServerOptions {
  port: number;
  host?: string;
  worker?: boolean;
  scheduler?: boolean;
}

export interface RunningServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * One Patchdeck instance: pages, Slack and the console on one Express server, plus the job worker
 * and the scheduler. Slack being unreachable does not stop it: posts are jobs and are retried.
 */
export async function startServer(runtime: Runtime, options: ServerOptions): Promise<RunningServer> {
  const { ctx } = runtime;
  // A wrong sign-in provider stops start-up here rather than failing the first person who signs in.
  await checkWebAuthProvider(ctx.config);
  const app = createWebApp({
    ctx,
    slackEnabled: runtime.slack !== null || runtime.teams !== null,
    beforeRoutes: (web) => {
      if (runtime.slack) web.use(runtime.slack.router);
      if (runtime.teams) web.use(runtime.teams.router);
    },
  });
  const server: Server = await new Promise((resolve, reject) => {
    // Express 5 calls the callback with the error too (a port in use): only a clean listen resolves.
    const listening = app.listen(options.port, options.host ?? '0.0.0.0', (error?: Error) => (error ? reject(listenError(error, options)) : resolve(listening)));
    listening.once('error', (error) => reject(listenError(error, options)));
  });
  const port = (server.address() as AddressInfo).port;
  let worker: RunningWorker | null = null;
  let scheduler: RunningScheduler | null = null;
  try {
    if (options.worker !== false) {
      worker = startWorker({ ctx, handlers: runtime.handlers, concurrency: ctx.config.worker.concurrency, pollMs: ctx.config.worker.pollMs });
    }
    if (options.scheduler !== false) scheduler = startScheduler(ctx);
  } catch (error) {
    await worker?.stop();
    server.close();
    throw error;
  }
  return {
    url: `http://${options.host && options.host !== '0.0.0.0' ? options.host : 'localhost'}:${port}`,
    port,
    async stop() {
      await scheduler?.stop();
      await worker?.stop();
      // Clicks acknowledged but not yet processed finish before the store goes away.
      await runtime.slack?.drain();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** A port in use or not allowed becomes an error the operator can act on. */
function listenError(error: Error & { code?: string }, options: ServerOptions): Error {
  const where = `${options.host ?? '0.0.0.0'}:${options.port}`;
  if (error.code === 'EADDRINUSE') {
    return new PatchdeckError('PD_PORT_IN_USE', `cannot listen on ${where}: the port is in use by another process; stop it or choose another port with --port or PORT`, { cause: error });
  }
  if (error.code === 'EACCES') {
    return new PatchdeckError('PD_PORT_DENIED', `cannot listen on ${where}: permission denied; use a port above 1023 with --port or PORT`, { cause: error });
  }
  return error;
}
