import { Option, type Command } from 'commander';
import { durationPattern, parseDurationMs } from '../../config/schema.js';
import { describeExemptionScope, exemptionState, type Exemption, type ExemptionState } from '../../core/exemptions.js';
import { endOfDayInZone, formatInZone, localTimeInZone } from '../../core/time.js';
import { SEVERITIES, type Severity } from '../../core/types.js';
import { listExemptions } from '../../store/queries/exemptions.js';
import { checkBaselines } from '../../workflow/compliance.js';
import { createExemption, endExemption, overrideCaseSeverity } from '../../workflow/exemptions.js';
import { EXIT_FAILURE, UsageError, withContext, writeJson, writeTable, type CliDeps } from '../io.js';
import { cliActor } from './assess.js';
import { parseRecordId } from './rollout.js';

function exemptionToJson(e: Exemption, now: Date) {
  return {
    id: e.id,
    kind: e.kind,
    state: exemptionState(e, now),
    host: e.host,
    group: e.group,
    advisory: e.advisoryId,
    package: e.package,
    control: e.control,
    reason: e.reason,
    approved_by: e.approvedBy,
    created_by: e.createdBy,
    created_at: e.createdAt,
    expires_at: e.expiresAt,
    expired_at: e.expiredAt,
    revoked_at: e.revokedAt,
  };
}

/** A day or zone-less time given to --expires is read in the team's zone, like `cases defer --until`; anything else is checked by the workflow. */
function expiryInZone(text: string, timeZone: string): string {
  const trimmed = text.trim();
  const resolved = endOfDayInZone(trimmed, timeZone) ?? localTimeInZone(trimmed, timeZone);
  if (resolved === null && /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/.test(trimmed)) {
    throw new UsageError(`--expires "${trimmed}" is not a day of the calendar (or a time of one); use YYYY-MM-DD, e.g. 2026-12-31`);
  }
  return resolved ?? trimmed;
}

interface AddOptions {
  host?: string;
  group?: string;
  advisory?: string;
  package?: string;
  control: string;
  approvedBy: string;
  expires?: string;
  for?: string;
  mitigation?: boolean;
  reason?: string;
  json?: boolean;
}

export function registerExemptionsCommands(program: Command, deps: CliDeps): void {
  const exemptions = program
    .command('exemptions')
    .description('Exemptions (accepted risk behind a compensating control) and mitigations (a workaround instead of the patch); both always expire');

  exemptions
    .command('add')
    .description('Exempt (or, with --mitigation, mark as mitigated) a host or group from an advisory or package until an expiry')
    .option('--host <name>', 'the host it covers (or --group)')
    .option('--group <group>', 'every host of this inventory group (or --host)')
    .option('--advisory <id>', 'the advisory it covers, e.g. USN-6450-1 (or --package)')
    .option('--package <name>', 'every advisory on this package name (or --advisory); also excuses the package in baselines')
    .requiredOption('--control <text>', 'the compensating control or workaround, e.g. "isolated VLAN" or "firewall rule"')
    .requiredOption('--approved-by <person>', 'who approved it (a people id from the config when people are configured)')
    .option('--expires <date>', 'when it ends: YYYY-MM-DD (the end of that day in the configured time zone), a time there (2026-12-01T18:00) or an ISO time with zone')
    .option('--for <duration>', 'or how long it lasts from now, e.g. 30d (at most policy.maxExemption)')
    .option('--mitigation', 'a workaround was applied instead of the patch: exposures become "mitigated" rather than "exempt"')
    .option('--reason <text>', 'why the patch cannot be applied now', '')
    .option('--json', 'print the exemption as JSON')
    .action(async (options: AddOptions) => {
      if (options.for !== undefined && !durationPattern.test(options.for)) throw new UsageError(`--for "${options.for}" is not a duration; use e.g. 30d, 12h or 90m`);
      await withContext(deps, async (ctx) => {
        const { exemption, held } = await createExemption(ctx, {
          kind: options.mitigation ? 'mitigation' : 'exemption',
          ...(options.host === undefined ? {} : { host: options.host }),
          ...(options.group === undefined ? {} : { group: options.group }),
          ...(options.advisory === undefined ? {} : { advisoryId: options.advisory }),
          ...(options.package === undefined ? {} : { package: options.package }),
          ...(options.expires === undefined ? {} : { expires: expiryInZone(options.expires, ctx.config.timezone) }),
          ...(options.for === undefined ? {} : { forMs: parseDurationMs(options.for) }),
          control: options.control,
          approvedBy: options.approvedBy,
          reason: options.reason ?? '',
          actor: cliActor(deps),
        });
        if (options.json) {
          writeJson(deps.io, { ...exemptionToJson(exemption, ctx.clock.now()), held_exposures: held });
          return;
        }
        deps.io.stdout(
          `Recorded ${exemption.kind} #${exemption.id} (${describeExemptionScope(exemption)}) until ${formatInZone(exemption.expiresAt, ctx.config.timezone)}; ${held} exposure${held === 1 ? '' : 's'} now ${exemption.kind === 'mitigation' ? 'mitigated' : 'exempt'}.\n`,
        );
      });
    });

  exemptions
    .command('list')
    .description('List exemptions and mitigations, oldest first')
    .option('--active', 'only those in force')
    .option('--expired', 'only those that expired or were ended')
    .option('--json', 'print as JSON')
    .action(async (options: { active?: boolean; expired?: boolean; json?: boolean }) => {
      if (options.active && options.expired) throw new UsageError('use --active or --expired, not both');
      await withContext(deps, async (ctx) => {
        const now = ctx.clock.now();
        const wanted = (state: ExemptionState) => (options.active ? state === 'active' : options.expired ? state !== 'active' : true);
        const rows = (await listExemptions(ctx.store.db)).filter((e) => wanted(exemptionState(e, now)));
        if (options.json) {
          writeJson(deps.io, rows.map((e) => exemptionToJson(e, now)));
          return;
        }
        if (rows.length === 0) {
          deps.io.stdout('No exemptions match.\n');
          return;
        }
        writeTable(
          deps.io,
          ['ID', 'KIND', 'STATE', 'SCOPE', 'CONTROL', 'APPROVED BY', 'EXPIRES'],
          rows.map((e) => [e.id, e.kind, exemptionState(e, now), describeExemptionScope(e), e.control, e.approvedBy, formatInZone(e.expiresAt, ctx.config.timezone)]),
        );
      });
    });

  exemptions
    .command('expire <id>')
    .description('End an exemption or mitigation now; the exposures it held re-open')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const exemptionId = parseRecordId(id, 'the exemption id');
      await withContext(deps, async (ctx) => {
        const { exemption, reopened } = await endExemption(ctx, { id: exemptionId, actor: cliActor(deps) });
        if (options.json) {
          writeJson(deps.io, { ...exemptionToJson(exemption, ctx.clock.now()), reopened_exposures: reopened });
          return;
        }
        deps.io.stdout(`Ended ${exemption.kind} #${exemption.id}; ${reopened} exposure${reopened === 1 ? '' : 's'} re-opened.\n`);
      });
    });

  program
    .command('override <case>')
    .description("Override a case's severity by hand, with a reason; audited, and kept when the case is re-assessed")
    .addOption(new Option('--severity <severity>', 'the severity the case should have').choices(SEVERITIES).makeOptionMandatory())
    .requiredOption('--reason <text>', 'why the policy got it wrong for this case')
    .requiredOption('--as <person>', 'who is overriding (a people id from the config when people are configured)')
    .option('--json', 'print the result as JSON')
    .action(async (caseText: string, options: { severity: Severity; reason: string; as: string; json?: boolean }) => {
      const caseId = parseRecordId(caseText, 'the case id');
      await withContext(deps, async (ctx) => {
        const result = await overrideCaseSeverity(ctx, { caseId, severity: options.severity, reason: options.reason, person: options.as, actor: cliActor(deps) });
        if (options.json) {
          writeJson(deps.io, { case: caseId, ...result });
          return;
        }
        deps.io.stdout(`Case #${caseId} severity ${result.before} → ${result.after} (overridden by ${options.as}).\n`);
      });
    });

  program
    .command('baselines')
    .description('Baselines: the patch level each group of hosts must meet (config `baselines`)')
    .command('check')
    .description('Check hosts against their group baseline: meets, below, exceeds or exempt; exits 1 when any host is below')
    .option('--group <group>', 'only this group')
    .option('--json', 'print as JSON')
    .action(async (options: { group?: string; json?: boolean }) => {
      await withContext(deps, async (ctx) => {
        if (options.group !== undefined && !ctx.config.baselines.some((b) => b.group === options.group)) {
          throw new UsageError(`no baseline for group "${options.group}"; configured: ${ctx.config.baselines.map((b) => b.group).join(', ') || 'none'}`);
        }
        const checks = await checkBaselines(ctx, options.group === undefined ? {} : { group: options.group });
        if (checks.some((c) => c.status === 'below')) deps.setExitCode(EXIT_FAILURE);
        if (options.json) {
          writeJson(
            deps.io,
            checks.map((c) => ({
              host: c.host,
              group: c.group,
              status: c.status,
              faults: c.faults.map((f) => ({ ecosystem: f.ecosystem, package: f.name, installed: f.installed, min_version: f.minVersion, exemption: f.exemptionId, detail: f.detail })),
            })),
          );
          return;
        }
        if (checks.length === 0) {
          deps.io.stdout(ctx.config.baselines.length === 0 ? 'No baselines are configured (config `baselines`).\n' : 'No hosts are in the baseline groups.\n');
          return;
        }
        writeTable(
          deps.io,
          ['HOST', 'GROUP', 'STATUS', 'AT FAULT'],
          checks.map((c) => [c.host, c.group, c.status, c.faults.map((f) => `${f.name} ${f.detail}`).join('; ') || '-']),
        );
      });
    });
}
