import { Command, CommanderError } from 'commander';
import { createLogger } from '../app/logger.js';
import { systemClock } from '../app/system-clock.js';
import { loadConfig } from '../config/load.js';
import type { Clock } from '../core/clock.js';
import { isPatchdeckError } from '../core/errors.js';
import { migrateToLatest, openStore } from '../store/db.js';
import { registerAdvisoriesCommands } from './commands/advisories.js';
import { registerArtifactsCommands } from './commands/artifacts.js';
import { registerAssessCommands } from './commands/assess.js';
import { registerCasesCommands } from './commands/cases.js';
import { registerExemptionsCommands } from './commands/exemptions.js';
import { registerFeedsCommands } from './commands/feeds.js';
import { registerInventoryCommands } from './commands/inventory.js';
import { registerMigrateCommands } from './commands/migrate.js';
import { registerReviewCommands } from './commands/review.js';
import { registerRolloutCommands } from './commands/rollout.js';
import { registerStartCommands } from './commands/start.js';
import { registerTeamsCommands } from './commands/teams.js';
import { registerVersionsCommands } from './commands/versions.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliDeps, type CliIo } from './io.js';

const REGISTRARS = [
  registerStartCommands,
  registerMigrateCommands,
  registerFeedsCommands,
  registerAdvisoriesCommands,
  registerInventoryCommands,
  registerVersionsCommands,
  registerAssessCommands,
  registerExemptionsCommands,
  registerCasesCommands,
  registerRolloutCommands,
  registerReviewCommands,
  registerTeamsCommands,
  registerArtifactsCommands,
];

export function processIo(): CliIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    env: process.env,
    cwd: process.cwd(),
  };
}

/** Builds the whole command tree; `deps` decides where output goes and how the context opens. */
export function buildProgram(deps: CliDeps): Command {
  const program = new Command('patchdeck')
    .description('Patch management from detection to review, approved in chat.')
    .option('-c, --config <file>', 'config file (YAML or JSON); default ./patchdeck.yaml, or the offline demo when none exists')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => deps.io.stdout(s), writeErr: (s) => deps.io.stderr(s) });
  for (const register of REGISTRARS) register(program, deps);
  for (const command of program.commands) applyOutputSettings(command, deps);
  return program;
}

function applyOutputSettings(command: Command, deps: CliDeps): void {
  command.exitOverride().configureOutput({ writeOut: (s) => deps.io.stdout(s), writeErr: (s) => deps.io.stderr(s) });
  for (const sub of command.commands) applyOutputSettings(sub, deps);
}

/**
 * Runs the CLI and resolves to the exit code: 0 ok, 1 failure, 2 bad usage.
 * Nothing here calls process.exit, so tests can run commands in-process.
 */
export async function runCli(argv: string[], io: CliIo = processIo(), options: { clock?: Clock } = {}): Promise<number> {
  const clock = options.clock ?? systemClock;
  let exitCode = EXIT_OK;
  let program: Command | undefined;
  const deps: CliDeps = {
    io,
    setExitCode: (code) => {
      exitCode = Math.max(exitCode, code);
    },
    openContext: async () => {
      const options = program?.opts<{ config?: string }>() ?? {};
      const { config } = loadConfig({ file: options.config, env: io.env, cwd: io.cwd });
      const store = await openStore(config.databaseUrl);
      await migrateToLatest(store);
      const logger = createLogger(io.env.LOG_LEVEL ?? 'warn');
      return { store, clock, logger, config, close: () => store.close() };
    },
  };
  program = buildProgram(deps);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT_OK;
      return EXIT_USAGE;
    }
    if (isPatchdeckError(error)) {
      io.stderr(`patchdeck: ${error.message} [${error.code}]\n`);
      return error.code === 'PD_USAGE' ? EXIT_USAGE : EXIT_FAILURE;
    }
    io.stderr(`patchdeck: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT_FAILURE;
  }
}
