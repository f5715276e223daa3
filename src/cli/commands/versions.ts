import type { Command } from 'commander';
import { isPatchdeckError } from '../../core/errors.js';
import { compareVersions, isVersionScheme, VERSION_SCHEME_INFO, VERSION_SCHEMES, type VersionScheme } from '../../core/versions/index.js';
import { EXIT_FAILURE, UsageError, writeJson, writeTable, type CliDeps } from '../io.js';

interface CompareOptions {
  scheme: string;
  batch?: boolean;
}

const COMPARE_HELP = `
Output: -1 when A is older than B, 0 when they are the same version, 1 when A is newer.
With --batch, one result per non-blank input line, in order; a line that cannot be compared
prints "error" (so positions stay aligned), its line number and reason go to stderr, and the
exit code is 1 once all lines are done.

Anything after "--" is a version even when it starts with "-" (otherwise it would be read
as an option); put "--" first when the versions come from data:
  patchdeck versions compare --scheme semver -- "$A" "$B"

Exit codes: 0 compared, 1 an invalid version or batch line, 2 bad usage.

Examples:
  patchdeck versions compare --scheme deb 1:8.9p1-3ubuntu0.10 1:8.9p1-3ubuntu0.9
  patchdeck versions compare --scheme maven 2.0-beta9 2.0
  patchdeck versions compare --scheme go v0.0.0-20201208171446-5f87f3452ae9 v0.1.0
  printf '1.0-1.el9\\t1:0.9-1.el9\\n' | patchdeck versions compare --scheme rpm --batch
`;

export function registerVersionsCommands(program: Command, deps: CliDeps): void {
  const versions = program.command('versions').description('Order package versions the way dpkg, rpm, npm (semver), pip (PEP 440), Go modules and Maven do');

  versions
    .command('compare')
    .description('Compare version A with version B under a scheme and print -1, 0 or 1')
    .argument('[a]', 'first version (A)')
    .argument('[b]', 'second version (B)')
    .requiredOption('--scheme <scheme>', `ordering rules to use: ${VERSION_SCHEMES.join(', ')}`)
    .option('--batch', 'read "A<TAB>B" lines from stdin instead of arguments; blank lines are skipped')
    .addHelpText('after', COMPARE_HELP)
    .action(async (a: string | undefined, b: string | undefined, options: CompareOptions) => {
      const scheme = options.scheme;
      if (!isVersionScheme(scheme)) throw new UsageError(`unknown scheme "${scheme}"; use one of ${VERSION_SCHEMES.join(', ')}`);
      if (options.batch) {
        if (a !== undefined) throw new UsageError('--batch reads the versions from stdin; give no version arguments');
        await compareBatch(deps, scheme, await deps.io.readStdin());
        return;
      }
      if (a === undefined || b === undefined) throw new UsageError('give two versions, A and B (or use --batch)');
      deps.io.stdout(`${compareVersions(scheme, a, b)}\n`);
    });

  versions
    .command('schemes')
    .description('List the version schemes, the rules each follows and the OSV ecosystems it orders')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) => {
      const rows = VERSION_SCHEMES.map((scheme) => ({ scheme, rules: VERSION_SCHEME_INFO[scheme].rules, ecosystems: [...VERSION_SCHEME_INFO[scheme].ecosystems] }));
      if (options.json) {
        writeJson(deps.io, rows);
        return;
      }
      writeTable(deps.io, ['SCHEME', 'ECOSYSTEMS', 'RULES'], rows.map((row) => [row.scheme, row.ecosystems.join(', '), row.rules]));
    });
}

/** One result line per non-blank input line; failures print "error" there and set exit code 1. */
async function compareBatch(deps: CliDeps, scheme: VersionScheme, input: string): Promise<void> {
  const { io } = deps;
  let failed = false;
  const fail = (lineNumber: number, message: string) => {
    io.stdout('error\n');
    io.stderr(`patchdeck: line ${lineNumber}: ${message}\n`);
    failed = true;
  };
  input.split('\n').forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    const fields = line.split('\t');
    if (fields.length !== 2) {
      fail(index + 1, `expected two versions separated by one tab, found ${fields.length} field${fields.length === 1 ? '' : 's'}`);
      return;
    }
    try {
      io.stdout(`${compareVersions(scheme, fields[0]!, fields[1]!)}\n`);
    } catch (error) {
      if (!isPatchdeckError(error)) throw error;
      fail(index + 1, `${error.message} [${error.code}]`);
    }
  });
  if (failed) deps.setExitCode(EXIT_FAILURE);
}
