import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebApp } from '../web/app.js';
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
  const app = createWebApp({
    ctx,
    slackEnabled: runtime.slack !== null || runtime.teams !== null,
    beforeRoutes: (web) => {
      if (runtime.slack) web.use(runtime.slack.router);
      if (runtime.teams) web.use(runtime.teams.router);
    },
  });
  const server: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(options.port, options.host ?? '0.0.0.0', () => resolve(listening));
    listening.once('error', reject);
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
