import { Command, CommanderError } from 'commander';
import { chooseLogFormat, createLogger } from '../app/logger.js';
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
    stderrIsTty: process.stderr.isTTY === true,
  };
}

/** Builds the whole command tree; `deps` decides where output goes and how the context opens. */
export function buildProgram(deps: CliDeps): Command {
  const program = new Command('patchdeck')
    .description('Patch management from detection to review, approved in Slack, Microsoft Teams or the web console')
    .option('-c, --config <file>', 'config file (YAML or JSON); default ./patchdeck.yaml, or the offline demo when none exists')
    .option('--debug', 'print the stack trace of an error (also PATCHDECK_DEBUG=1)')
    // Set before the commands are added, which copy it: the same sentence case as every other command.
    .helpCommand('help [command]', 'Show the help of a command')
    .exitOverride();
  for (const register of REGISTRARS) register(program, deps);
  applyOutputSettings(program, deps);
  return program;
}

/**
 * Commander's own error text is not printed as it comes: `runCli` prints it once, with the
 * PD_USAGE code and a pointer to the help of the command that refused it.
 */
function applyOutputSettings(command: Command, deps: CliDeps): void {
  command.exitOverride().configureOutput({
    writeOut: (s) => deps.io.stdout(s),
    writeErr: (s) => deps.io.stderr(s),
    outputError: () => undefined,
  });
  command.hook('preSubcommand', (_parent, sub) => void usageTarget.set(deps, sub));
  command.hook('preAction', (_parent, action) => void usageTarget.set(deps, action));
  for (const sub of command.commands) applyOutputSettings(sub, deps);
}

/** The deepest command the parser reached, so a usage error can name its `--help`. */
const usageTarget = new WeakMap<CliDeps, Command>();

/** `patchdeck cases approve`: the words that reach `command`. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function isDebug(program: Command | undefined, argv: string[], env: NodeJS.ProcessEnv): boolean {
  const flag = env.PATCHDECK_DEBUG;
  if (flag !== undefined && flag !== '' && flag !== '0' && flag.toLowerCase() !== 'false') return true;
  if (program?.opts<{ debug?: boolean }>().debug === true) return true;
  // A usage error can stop the parse before --debug was read.
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--debug');
}

function writeStack(io: CliIo, error: unknown): void {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    io.stderr(`${depth === 0 ? '' : 'caused by: '}${e.stack ?? String(e)}\n`);
  }
}

/** Commander's text on one line: no "error: " prefix, its spelling suggestion kept beside it. */
function commanderMessage(error: CommanderError): string {
  return error.message
    .replace(/^error: /, '')
    .trim()
    .replace(/\s*\n\(Did you mean (.*)\?\)$/, ' (did you mean $1?)');
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
      try {
        await migrateToLatest(store);
      } catch (error) {
        await store.close();
        throw error;
      }
      const logger = createLogger({ level: io.env.LOG_LEVEL ?? 'warn', format: chooseLogFormat(io.env, io.stderrIsTty === true) });
      return { store, clock, logger, config, close: () => store.close() };
    },
  };
  program = buildProgram(deps);
  const usageHint = () => {
    const target = usageTarget.get(deps) ?? program!;
    return `Try '${commandPath(target)} --help' for more information.\n`;
  };
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT_OK;
      // `patchdeck help [command]` exits 0; a command group given without a command exits 1, its help already on stderr.
      if (error.code === 'commander.help' && error.exitCode === 0) return EXIT_OK;
      if (error.code === 'commander.help') {
        const target = usageTarget.get(deps) ?? program;
        io.stderr(`patchdeck: [PD_USAGE] '${commandPath(target)}' needs a command: ${target.commands.map((c) => c.name()).join(', ')}\n`);
        return EXIT_USAGE;
      }
      io.stderr(`patchdeck: [PD_USAGE] ${commanderMessage(error)}\n${usageHint()}`);
      return EXIT_USAGE;
    }
    return reportError(io, error, { debug: isDebug(program, argv, io.env), usageHint });
  }
}

/**
 * Prints an error that ended a command and returns the exit code: `patchdeck: [CODE] message`,
 * the stack only when debugging, and for an error that is not a PatchdeckError a pointer to --debug.
 */
export function reportError(io: CliIo, error: unknown, options: { debug: boolean; usageHint: () => string }): number {
  if (isPatchdeckError(error)) {
    io.stderr(`patchdeck: [${error.code}] ${error.message}\n`);
    if (error.code === 'PD_USAGE') io.stderr(options.usageHint());
    if (options.debug) writeStack(io, error);
    return error.code === 'PD_USAGE' ? EXIT_USAGE : EXIT_FAILURE;
  }
  io.stderr(`patchdeck: [PD_INTERNAL] unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
  if (options.debug) writeStack(io, error);
  else io.stderr('Run again with --debug (or PATCHDECK_DEBUG=1) to see the stack trace, and report it.\n');
  return EXIT_FAILURE;
}
