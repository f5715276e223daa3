import type { Command } from 'commander';
import { PatchdeckError } from '../../core/errors.js';
import { formatInZone } from '../../core/time.js';
import { TARGET_STATES } from '../../core/types.js';
import { getRolloutSummary, listRolloutTargets } from '../../store/queries/cases.js';
import { listRollouts } from '../../workflow/rollouts.js';
import { UsageError, withContext, writeJson, writeTable, type CliDeps } from '../io.js';

/** Case and rollout numbers as typed on the command line: positive whole numbers. */
export function parseRecordId(text: string, what: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(text) || Number(text) > 2_147_483_647) {
    throw new UsageError(`${what} must be a positive whole number such as 12 (got "${text}")`);
  }
  return Number(text);
}

export function registerRolloutCommands(program: Command, deps: CliDeps): void {
  const rollout = program.command('rollout').description('Rollouts: the waves that bring an approved patch to the hosts');

  rollout
    .command('list')
    .description('List rollouts, newest first, with their state, wave and failures')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }) => {
      await withContext(deps, async (ctx) => {
        const rollouts = await listRollouts(ctx.store.db);
        if (options.json) {
          writeJson(deps.io, rollouts);
          return;
        }
        if (rollouts.length === 0) {
          deps.io.stdout('No rollouts yet; a rollout starts when a case is approved.\n');
          return;
        }
        writeTable(
          deps.io,
          ['ID', 'CASE', 'STATE', 'WAVE', 'HOSTS', 'FAILED', 'CONNECTOR', 'STARTED', 'TITLE'],
          rollouts.map((r) => [
            r.id,
            r.caseId,
            r.state,
            r.waves === 0 ? '-' : `${r.currentWave + 1}/${r.waves}`,
            r.targets,
            r.failed,
            r.connector,
            formatInZone(r.createdAt, ctx.config.timezone),
            r.caseTitle,
          ]),
        );
      });
    });

  rollout
    .command('status <id>')
    .description('Show one rollout: its state, counts per host state, and every host with its wave, state and last result')
    .option('--json', 'print as JSON')
    .action(async (idText: string, options: { json?: boolean }) => {
      const rolloutId = parseRecordId(idText, 'the rollout id');
      await withContext(deps, async (ctx) => {
        const summary = await getRolloutSummary(ctx.store.db, rolloutId);
        if (summary === null) throw new PatchdeckError('PD_ROLLOUT_NOT_FOUND', `there is no rollout ${rolloutId}; see \`patchdeck rollout list\``, { status: 404 });
        const caseRow = await ctx.store.db.selectFrom('rollouts').innerJoin('cases', 'cases.id', 'rollouts.case_id').select(['cases.id', 'cases.title']).where('rollouts.id', '=', rolloutId).executeTakeFirstOrThrow();
        const targets = await listRolloutTargets(ctx.store.db, rolloutId, { by: 'dispatch' });
        if (options.json) {
          writeJson(deps.io, { ...summary, caseId: Number(caseRow.id), caseTitle: caseRow.title, hosts: targets });
          return;
        }
        const zone = ctx.config.timezone;
        const counts = TARGET_STATES.filter((s) => (summary.byState[s] ?? 0) > 0).map((s) => `${summary.byState[s]} ${s.replace(/_/g, ' ')}`);
        deps.io.stdout(
          `Rollout #${summary.id} for case #${Number(caseRow.id)}: ${caseRow.title}\n` +
            `State: ${summary.state.replace(/_/g, ' ')}, wave ${summary.currentWave + 1} of ${summary.waves}, connector ${summary.connector}, started by ${summary.startedBy}\n` +
            `Started ${formatInZone(summary.createdAt, zone)}${summary.completedAt ? `, completed ${formatInZone(summary.completedAt, zone)}` : ''}\n` +
            (summary.haltedReason ? `Halted: ${summary.haltedReason}\n` : '') +
            `Hosts: ${summary.targets}${counts.length > 0 ? ` (${counts.join(', ')})` : ''}\n\n`,
        );
        if (targets.length > 0) {
          writeTable(
            deps.io,
            ['WAVE', 'RING', 'HOST', 'STATE', 'TRIES', 'UPDATED', 'DETAIL'],
            targets.map((t) => [t.wave, t.ring, t.hostName, t.state, t.attempts, formatInZone(t.updatedAt, zone), t.detail]),
          );
        }
      });
    });
}
