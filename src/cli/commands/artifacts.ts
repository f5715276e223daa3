import path from 'node:path';
import type { Command } from 'commander';
import { formatInZone } from '../../core/time.js';
import { listArtifacts } from '../../store/queries/artifacts.js';
import { artifactPath, fetchCaseArtifacts, verifyArtifacts } from '../../workflow/artifacts.js';
import type { WorkflowContext } from '../../workflow/context.js';
import { EXIT_FAILURE, withContext, writeJson, writeTable, type CliDeps, type CliIo } from '../io.js';
import { requireCase } from '../lookups.js';
import { parseRecordId } from './rollout.js';

function cliActor(io: CliIo): string {
  return io.env.USER ? `cli:${io.env.USER}` : 'cli';
}

/** A relative config `artifacts.dir` is relative to where the command runs. */
function withArtifactDir(ctx: WorkflowContext, io: CliIo): WorkflowContext {
  return { ...ctx, config: { ...ctx.config, artifacts: { ...ctx.config.artifacts, dir: path.resolve(io.cwd, ctx.config.artifacts.dir) } } };
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

export function registerArtifactsCommands(program: Command, deps: CliDeps): void {
  const { io } = deps;
  // `patches` is created by the assess commands (patches list); add `fetch` to it.
  const patches = program.commands.find((c) => c.name() === 'patches') ?? program.command('patches').description('Patch cases: one per advisory that needs action');
  patches
    .command('fetch <case>')
    .description(
      'Download the patch files a case needs (CSAF remediation files and config artifacts.sources templates) into the offline artifact store; ' +
        'files already stored are not downloaded again; exit 1 if any download or checksum failed',
    )
    .option('--json', 'print each artifact outcome as JSON')
    .action(async (caseText: string, options: { json?: boolean }) => {
      const caseId = parseRecordId(caseText, 'the case id');
      const result = await withContext(deps, (ctx) => fetchCaseArtifacts(withArtifactDir(ctx, io), { caseId, actor: cliActor(io) }));
      if (options.json) writeJson(io, result);
      else {
        writeTable(
          io,
          ['STATUS', 'SIZE', 'SHA256', 'PACKAGE', 'URL'],
          result.artifacts.map((a) => [
            a.status,
            a.size === null ? null : formatSize(a.size),
            a.sha256?.slice(0, 16) ?? null,
            a.package === null ? null : `${a.package} ${a.version}`,
            a.url,
          ]),
        );
        for (const a of result.artifacts) if (a.error) io.stderr(`patchdeck: [${a.error.code}] ${a.url}: ${a.error.message}\n`);
        for (const s of result.skipped) io.stderr(`patchdeck: skipped ${s.url}: ${s.reason}\n`);
      }
      if (result.failed > 0) deps.setExitCode(EXIT_FAILURE);
    });

  const artifacts = program.command('artifacts').description('The offline patch artifact store (content-addressed files under config artifacts.dir)');

  artifacts
    .command('list')
    .description('List stored artifacts: size, sha256, fetch time, the cases that need them and the URL')
    .option('--case <case>', 'only the artifacts linked to this case (exit 1 when there is no such case)')
    .option('--json', 'print as JSON, with each file path')
    .action(async (options: { case?: string; json?: boolean }) => {
      const caseId = options.case === undefined ? undefined : parseRecordId(options.case, '--case');
      await withContext(deps, async (ctx) => {
        if (caseId !== undefined) await requireCase(ctx.store.db, caseId);
        const local = withArtifactDir(ctx, io);
        const items = await listArtifacts(ctx.store.db, caseId === undefined ? {} : { caseId });
        if (options.json) {
          writeJson(io, items.map((a) => ({ ...a, path: artifactPath(local.config.artifacts.dir, a.sha256) })));
          return;
        }
        if (items.length === 0) {
          io.stdout(caseId === undefined ? 'No artifacts stored.\n' : `No artifacts stored for case ${caseId}; run \`patchdeck patches fetch ${caseId}\`.\n`);
          return;
        }
        writeTable(
          io,
          ['SHA256', 'SIZE', 'FETCHED', 'CASES', 'URL'],
          items.map((a) => [
            a.sha256.slice(0, 16),
            formatSize(a.size),
            formatInZone(a.fetchedAt, ctx.config.timezone),
            a.links.map((l) => `#${l.caseId}`).join(',') || null,
            a.url,
          ]),
        );
      });
    });

  artifacts
    .command('verify')
    .description('Re-hash every stored artifact file and report missing or corrupt ones (exit 1 if any)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      const result = await withContext(deps, (ctx) => verifyArtifacts(withArtifactDir(ctx, io)));
      if (options.json) writeJson(io, result);
      else {
        io.stdout(`${result.checked} artifact files checked: ${result.ok} ok, ${result.problems.length} with problems\n`);
        for (const p of result.problems) io.stdout(`${p.problem.toUpperCase()} ${p.sha256}: ${p.detail} (from ${p.urls.join(', ')})\n`);
      }
      if (result.problems.length > 0) deps.setExitCode(EXIT_FAILURE);
    });
}
