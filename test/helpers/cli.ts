import { runCli } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import type { Clock } from '../../src/core/clock.js';

export interface CapturedRun {
  code: number;
  out: string;
  err: string;
}

/** Runs the CLI in-process with the given environment and working directory, capturing stdout and stderr. */
export async function runCliCaptured(
  argv: string[],
  options: { env: NodeJS.ProcessEnv; cwd: string; clock?: Clock; stdin?: string },
): Promise<CapturedRun> {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    readStdin: async () => options.stdin ?? '',
    env: options.env,
    cwd: options.cwd,
  };
  const code = await runCli(argv, io, options.clock === undefined ? {} : { clock: options.clock });
  return { code, out, err };
}
