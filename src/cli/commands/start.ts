import type { Command } from 'commander';
import { createLogger } from '../../app/logger.js';
import { createRuntime } from '../../app/runtime.js';
import { startServer } from '../../app/server.js';
import { systemClock } from '../../app/system-clock.js';
import { loadConfig } from '../../config/load.js';
import { seedDemo } from '../../demo/seed.js';
import { describeDatabaseUrl } from '../../store/db.js';
import { UsageError, type CliDeps } from '../io.js';

interface StartOptions {
  port?: string;
  host: string;
  worker: boolean;
  scheduler: boolean;
  seed: boolean;
}

export function registerStartCommands(program: Command, deps: CliDeps): void {
  program
    .command('start')
    .description('run the server: web console and status pages, Slack endpoint, job worker and feed scheduler')
    .option('-p, --port <port>', 'HTTP port (default: config port, PORT, or 3000)')
    .option('--host <address>', 'address to listen on', '0.0.0.0')
    .option('--no-worker', 'do not run jobs in this instance (another instance does)')
    .option('--no-scheduler', 'do not take part in scheduling feed polls')
    .option('--no-seed', 'demo mode only: do not fill an empty database with the demo data')
    .action(async (options: StartOptions) => {
      const { io } = deps;
      const { config, source } = loadConfig({ file: program.opts<{ config?: string }>().config, env: io.env, cwd: io.cwd });
      if (options.port !== undefined) {
        const port = Number(options.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number (got "${options.port}")`);
        config.port = port;
      }
      const logger = createLogger(io.env.LOG_LEVEL ?? 'info');
      io.stdout(`Patchdeck starting\n  config:   ${source}\n  database: ${describeDatabaseUrl(config.databaseUrl)}\n`);
      const runtime = await createRuntime({ config, clock: systemClock, logger });
      try {
        if (config.demo.enabled && options.seed) {
          const seeded = await seedDemo(runtime.ctx, (line) => io.stdout(`  ${line}\n`));
          if (seeded.seeded) io.stdout(`  demo ready: ${seeded.hosts} hosts, ${seeded.casesOpened} patch cases opened\n`);
        }
        const server = await startServer(runtime, { port: config.port, host: options.host, worker: options.worker, scheduler: options.scheduler });
        io.stdout(
          [
            '',
            `Patchdeck is running at ${server.url}`,
            runtime.slack
              ? `  Slack: interactivity endpoint ${config.publicUrl}/slack/events`
              : '  No Slack credentials set: approve in the web console.',
            config.demo.enabled
              ? `  Demo: open ${server.url}/login, sign in as alice to approve a case, then as bob to sign off its pilot.`
              : '',
            '  Stop with Ctrl+C.',
            '',
          ]
            .filter((line) => line !== '')
            .join('\n') + '\n',
        );
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        io.stdout('Patchdeck stopping…\n');
        await server.stop();
      } finally {
        await runtime.close();
      }
    });
}
