import type { Command } from 'commander';
import { PatchdeckError } from '../core/errors.js';
import type { WorkflowContext } from '../workflow/context.js';

/** Where a command writes and reads; tests pass buffers, the binary passes the process streams. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whole standard input (for --batch and `-` file arguments). */
  readStdin(): Promise<string>;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Whether stderr is a terminal: logs are then readable lines instead of JSON (PATCHDECK_LOG_FORMAT overrides). */
  stderrIsTty?: boolean;
}

export interface CliDeps {
  io: CliIo;
  /**
   * Opens the configured store (migrated) and builds the workflow context. Commands that need no
   * database (versions compare) never call it. The caller closes it via `close`.
   */
  openContext(): Promise<WorkflowContext & { close(): Promise<void> }>;
  /** Sets the process exit code without throwing (e.g. 1 when a list finds failures). */
  setExitCode(code: number): void;
}

/** Bad usage: exit code 2, like the standard tools. */
export class UsageError extends PatchdeckError {
  constructor(message: string) {
    super('PD_USAGE', message, { status: 400 });
  }
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Prints JSON with a trailing newline: the one format every `--json` flag uses. */
export function writeJson(io: CliIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

/** Plain aligned columns for human output. */
export function writeTable(io: CliIo, headers: string[], rows: (string | number | null)[][]): void {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  for (const row of cells) {
    io.stdout(`${row.map((c, i) => (i === row.length - 1 ? c : (c ?? '').padEnd(widths[i]!))).join('  ')}\n`);
  }
}

/** Runs `work` with an open context and always closes it. */
export async function withContext<T>(deps: CliDeps, work: (ctx: WorkflowContext) => Promise<T>): Promise<T> {
  const ctx = await deps.openContext();
  try {
    return await work(ctx);
  } finally {
    await ctx.close();
  }
}

export type CommandRegistrar = (program: Command, deps: CliDeps) => void;
