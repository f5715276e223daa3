import type { Command } from 'commander';
import { chooseLogFormat, createLogger } from '../../app/logger.js';
import { createRuntime } from '../../app/runtime.js';
import { startServer } from '../../app/server.js';
import { systemClock } from '../../app/system-clock.js';
import { loadConfig } from '../../config/load.js';
import { SLACK_EVENTS_PATH } from '../../chat/slack/face.js';
import { TEAMS_MESSAGES_PATH } from '../../chat/teams/face.js';
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
    .description('Run the server: web console, Slack and Microsoft Teams endpoints (when configured), job worker, and the scheduler ' +
        '(feed polls, SLA and approval sweeps, deferrals ending, exemption expiry, channel digests, the daily full assessment)')
    .option('-p, --port <port>', 'HTTP port (default: config port, PORT, or 3000)')
    .option('--host <address>', 'address to listen on', '0.0.0.0')
    .option('--no-worker', 'do not run jobs in this instance (another instance does): chat posts, rollouts, assessments')
    .option('--no-scheduler', 'do not run the scheduler here (feed polls, sweeps, expiry, digests, daily assessment); among instances that do, one at a time holds it')
    .option('--no-seed', 'demo mode only: do not fill an empty database with the demo data')
    .action(async (options: StartOptions) => {
      const { io } = deps;
      const { config, source } = loadConfig({ file: program.opts<{ config?: string }>().config, env: io.env, cwd: io.cwd });
      if (options.port !== undefined) {
        const port = Number(options.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number (got "${options.port}")`);
        config.port = port;
      }
      const logger = createLogger({ level: io.env.LOG_LEVEL ?? 'info', format: chooseLogFormat(io.env, io.stderrIsTty === true) });
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
            runtime.slack ? `  Slack: interactivity endpoint ${config.publicUrl}${SLACK_EVENTS_PATH}` : '',
            runtime.teams ? `  Microsoft Teams: messaging endpoint ${config.publicUrl}${TEAMS_MESSAGES_PATH}` : '',
            runtime.slack || runtime.teams ? '  The web console works too.' : '  No Slack or Teams credentials set: approve in the web console.',
            options.scheduler ? '' : '  Scheduler off (--no-scheduler): feed polls, sweeps and digests run elsewhere.',
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
