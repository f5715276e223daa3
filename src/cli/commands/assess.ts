import { Option, type Command } from 'commander';
import { PatchdeckError } from '../../core/errors.js';
import { formatInZone } from '../../core/time.js';
import { CASE_STATES, SEVERITIES, type CaseState, type Severity } from '../../core/types.js';
import { listCases } from '../../store/queries/cases.js';
import { EXPOSURE_STATUSES, findAdvisoryIds, listExposures, type ExposureStatus, type ExposureView } from '../../store/queries/exposures.js';
import { loadHostsByName } from '../../store/queries/hosts.js';
import { assessAll } from '../../workflow/assess.js';
import { withContext, writeJson, writeTable, type CliDeps } from '../io.js';
import { requireHost } from '../lookups.js';

const collect = (value: string, previous: string[]) => [...previous, value];

/** Who a CLI run acts as, for audit records and `requested_by`. */
export function cliActor(deps: CliDeps): string {
  return `cli:${deps.io.env.USER ?? deps.io.env.USERNAME ?? 'unknown'}`;
}

/** The one JSON shape of an exposure, shared by `exposures list` and `hosts show`. */
export function exposureToJson(e: ExposureView) {
  return {
    host: e.host,
    advisory: e.advisoryId,
    cves: e.cves,
    ecosystem: e.ecosystem,
    package: e.package,
    installed: e.installed,
    fixed: e.fixed,
    severity: e.severity,
    reasons: e.reasons,
    detected_at: e.detectedAt,
    due_at: e.dueAt,
    status: e.status,
    /** The patch case the exposure belongs to; null below the alert threshold. */
    case_id: e.caseId,
    /** The exemption or mitigation holding it, or that held it before it was re-opened. */
    exemption_id: e.exemptionId,
  };
}

export function writeExposureTable(deps: CliDeps, exposures: ExposureView[], timeZone: string): void {
  writeTable(
    deps.io,
    ['HOST', 'ADVISORY', 'PACKAGE', 'INSTALLED', 'FIXED', 'SEVERITY', 'STATUS', 'DUE'],
    exposures.map((e) => [e.host, e.advisoryId, e.package, e.installed, e.fixed ?? 'no fix yet', e.severity, e.status, formatInZone(e.dueAt, timeZone)]),
  );
}

export function registerAssessCommands(program: Command, deps: CliDeps): void {
  program
    .command('assess')
    .description('Match advisories against the inventory, store exposures with severity and due time, and open cases for those at or above the alert threshold')
    .option('--advisory <id>', 'only this advisory (new or changed); repeat for more', collect, [])
    .option('--host <name>', 'only this host (changed inventory); repeat for more', collect, [])
    .option('--json', 'print the result as JSON')
    .action(async (options: { advisory: string[]; host: string[]; json?: boolean }) => {
      await withContext(deps, async (ctx) => {
        const scope: { advisoryIds?: string[]; hostIds?: number[] } = {};
        if (options.advisory.length > 0) {
          const known = await findAdvisoryIds(ctx.store.db, options.advisory);
          const missing = options.advisory.filter((id) => !known.has(id));
          if (missing.length > 0) throw new PatchdeckError('PD_ADVISORY_NOT_FOUND', `no advisory "${missing[0]}"; check the id in \`patchdeck exposures list\``, { status: 404 });
          scope.advisoryIds = options.advisory;
        }
        if (options.host.length > 0) {
          const byName = await loadHostsByName(ctx.store.db);
          scope.hostIds = options.host.map((name) => {
            const host = byName.get(name);
            if (host === undefined) throw new PatchdeckError('PD_HOST_NOT_FOUND', `no host named "${name}"; see \`patchdeck hosts list\``, { status: 404 });
            return host.id;
          });
        }
        const result = await assessAll(ctx, { actor: cliActor(deps), ...scope });
        if (options.json) {
          writeJson(deps.io, result);
          return;
        }
        const { exposures, casesOpened } = result;
        deps.io.stdout(`Exposures: ${exposures.new} new, ${exposures.unchanged} unchanged, ${exposures.resolved} resolved.\n`);
        deps.io.stdout(
          casesOpened.length === 0
            ? 'No new cases opened.\n'
            : `Opened ${casesOpened.length} case${casesOpened.length === 1 ? '' : 's'} awaiting approval: ${casesOpened.map((id) => `#${id}`).join(', ')}\n`,
        );
      });
    });

  program
    .command('exposures')
    .description('Exposures: an advisory affecting a package installed on a host')
    .command('list')
    .description('List exposures, earliest due first')
    .option('--host <name>', 'only this host (exit 1 when there is no such host)')
    .addOption(new Option('--severity <severity>', 'only this severity').choices(SEVERITIES))
    .addOption(new Option('--status <status>', 'open, exempt, mitigated, resolved or all').choices([...EXPOSURE_STATUSES, 'all']).default('open'))
    .option('--json', 'print as JSON')
    .action(async (options: { host?: string; severity?: Severity; status: ExposureStatus | 'all'; json?: boolean }) => {
      await withContext(deps, async (ctx) => {
        if (options.host !== undefined) await requireHost(ctx.store.db, options.host);
        const exposures = await listExposures(ctx.store.db, { host: options.host, severity: options.severity, status: options.status });
        if (options.json) {
          writeJson(deps.io, exposures.map(exposureToJson));
          return;
        }
        if (exposures.length === 0) {
          deps.io.stdout('No exposures match.\n');
          return;
        }
        writeExposureTable(deps, exposures, ctx.config.timezone);
      });
    });

  program
    .command('patches')
    .description('Patch cases: one per advisory that needs action')
    .command('list')
    .description('List cases with their state, severity, hosts and due time')
    .addOption(new Option('--state <state>', 'only cases in this state').choices(CASE_STATES))
    .option('--json', 'print as JSON')
    .action(async (options: { state?: CaseState; json?: boolean }) => {
      await withContext(deps, async (ctx) => {
        const cases = await listCases(ctx.store.db, options.state ? { states: [options.state] } : {});
        if (options.json) {
          writeJson(
            deps.io,
            cases.map((c) => ({
              id: c.id,
              advisory: c.advisoryId,
              title: c.title,
              state: c.state,
              severity: c.severity,
              hosts: c.affectedHosts,
              open_exposures: c.openExposures,
              due_at: c.dueAt,
            })),
          );
          return;
        }
        if (cases.length === 0) {
          deps.io.stdout('No cases match.\n');
          return;
        }
        writeTable(
          deps.io,
          ['ID', 'ADVISORY', 'SEVERITY', 'STATE', 'HOSTS', 'OPEN', 'DUE', 'TITLE'],
          cases.map((c) => [c.id, c.advisoryId, c.severity, c.state, c.affectedHosts, c.openExposures, formatInZone(c.dueAt, ctx.config.timezone), c.title]),
        );
      });
    });
}
