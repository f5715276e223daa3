import type { Command } from 'commander';
import { PatchdeckError } from '../../core/errors.js';
import { formatInZone, startOfDayInZone, zonedIsoTime } from '../../core/time.js';
import type { VoteDecision, VoteStage } from '../../core/types.js';
import { getCaseView } from '../../store/queries/cases.js';
import { listWaitingVotes } from '../../store/queries/pending-votes.js';
import { castVote, deferCase, describeApproval } from '../../workflow/approvals.js';
import type { WorkflowContext } from '../../workflow/context.js';
import { UsageError, withContext, writeJson, writeTable, type CliDeps } from '../io.js';
import { parseRecordId } from './rollout.js';

const OUTCOME_TEXT = {
  pending: 'more approvals are needed',
  approved: 'the case is approved and its rollout will start',
  rejected: 'the decision is: rejected',
  signed_off: 'the pilot is signed off and the rollout continues',
} as const;

const PLAN_OPTION_HELP = "refuse the vote unless the case's plan hash still starts with this (as `cases show` printed it)";

interface VoteOptions {
  as: string;
  comment?: string;
  plan?: string;
}

async function vote(deps: CliDeps, ctx: WorkflowContext, caseId: number, stage: VoteStage, decision: VoteDecision, options: VoteOptions) {
  const personId = options.as;
  const comment = options.comment;
  const planHash = options.plan === undefined ? undefined : await expandPlanHash(ctx, caseId, options.plan);
  const result = await castVote(ctx, { caseId, stage, personId, decision, via: 'cli', ...(comment === undefined ? {} : { comment }), ...(planHash === undefined ? {} : { planHash }) });
  if (result.status === 'refused') throw new PatchdeckError(result.code, `vote not recorded: ${result.reason}`, { status: 403 });
  const what = stage === 'approval' ? (decision === 'approve' ? 'approval' : 'rejection') : decision === 'approve' ? 'pilot sign-off' : 'pilot sign-off rejection';
  deps.io.stdout(`Recorded ${what} by ${personId} on case #${caseId}: ${OUTCOME_TEXT[result.outcome]} (case is ${result.caseState.replace(/_/g, ' ')}).\n`);
}

/** `cases show` prints a short hash; a prefix of the case's own plan hash stands for the whole, anything else stays as given and is refused as stale. */
async function expandPlanHash(ctx: WorkflowContext, caseId: number, given: string): Promise<string> {
  if (!/^[0-9a-f]{8,64}$/.test(given)) throw new UsageError(`--plan "${given}" is not a plan hash (8 to 64 hex digits, as \`patchdeck cases show\` prints it)`);
  const row = await ctx.store.db.selectFrom('cases').select('plan_hash').where('id', '=', caseId).executeTakeFirst();
  return row?.plan_hash?.startsWith(given) ? row.plan_hash : given;
}

/**
 * `--until`: a duration from now (`3d`, `12h`), a day (`2026-12-01`, the start of that day in the
 * configured time zone) or an ISO 8601 time with zone (`2026-12-01T09:00:00Z`).
 */
function parseUntil(text: string, now: Date, timeZone: string): string {
  const duration = /^(\d+)(m|h|d)$/.exec(text);
  if (duration) return new Date(now.getTime() + Number(duration[1]) * (duration[2] === 'm' ? 60_000 : duration[2] === 'h' ? 3_600_000 : 86_400_000)).toISOString();
  const dayStart = startOfDayInZone(text, timeZone);
  if (dayStart !== null) return dayStart;
  const at = zonedIsoTime(text);
  if (at !== null) return at;
  throw new UsageError(`--until "${text}" is not a time: use a day (2026-12-01), an ISO time with zone (2026-12-01T09:00:00Z) or a duration (3d, 12h)`);
}

export function registerCasesCommands(program: Command, deps: CliDeps): void {
  const cases = program.command('cases').description('Patch cases: look at one, approve or reject it, sign off its pilot');

  cases
    .command('show <case>')
    .description('Show one case: advisory, severity, reasons, due time, the approval rule that applies, plan and expiry, votes (void ones marked) and rollout progress')
    .option('--json', 'print as JSON')
    .action(async (caseText: string, options: { json?: boolean }) => {
      const caseId = parseRecordId(caseText, 'the case id');
      await withContext(deps, async (ctx) => {
        const view = await getCaseView(ctx.store.db, caseId);
        if (view === null) throw new PatchdeckError('PD_CASE_NOT_FOUND', `there is no case ${caseId}; see \`patchdeck patches list\``, { status: 404 });
        const approval = await describeApproval(ctx, caseId);
        const waitingVotes = await listWaitingVotes(ctx.store.db, caseId, ctx.clock.now());
        if (options.json) {
          writeJson(deps.io, { ...view, approval, waitingVotes });
          return;
        }
        const zone = ctx.config.timezone;
        const a = view.advisory;
        deps.io.stdout(
          `Case #${view.id}: ${view.title}\n` +
            `State: ${view.state.replace(/_/g, ' ')}; severity ${view.severity}; due ${formatInZone(view.dueAt, zone)}\n` +
            `Advisory: ${a.id} (${a.source})${a.url ? ` ${a.url}` : ''}; CVEs: ${a.cves.join(', ') || 'none listed'}${a.cvssScore === null ? '' : `; CVSS ${a.cvssScore}`}${a.kev ? '; known exploited (KEV)' : ''}\n` +
            `Hosts: ${view.affectedHosts} affected, ${view.openExposures} open exposures; requested by ${view.requestedBy} on ${formatInZone(view.createdAt, zone)}\n`,
        );
        if (view.decidedAt) deps.io.stdout(`Decided: ${formatInZone(view.decidedAt, zone)}\n`);
        if (view.reasons.length > 0) deps.io.stdout(`Why:\n${view.reasons.map((r) => `  - ${r}\n`).join('')}`);
        if (approval) {
          deps.io.stdout(`Approval: ${approval.rule.description}\n`);
          const request = [`plan ${approval.planHash ? approval.planHash.slice(0, 12) : 'not bound yet'}`, `requested ${formatInZone(approval.requestedAt, zone)}`];
          if (approval.expiredAt) request.push(`expired and escalated ${formatInZone(approval.expiredAt, zone)}${approval.rule.escalateTo ? ` to ${approval.rule.escalateTo}` : ''}`);
          else if (approval.expiresAt && view.state === 'awaiting_approval') request.push(`expires ${formatInZone(approval.expiresAt, zone)}`);
          deps.io.stdout(`Request: ${request.join('; ')}\n`);
          if (approval.deferredUntil) deps.io.stdout(`Deferred until: ${formatInZone(approval.deferredUntil, zone)}\n`);
        }
        deps.io.stdout('\n');
        const votes = approval?.votes ?? [];
        if (votes.length === 0) {
          deps.io.stdout('No votes yet.\n');
        } else {
          writeTable(
            deps.io,
            ['STAGE', 'PERSON', 'DECISION', 'VIA', 'AT', 'COMMENT', 'STATUS'],
            votes.map((v) => [v.stage, v.person, v.decision, v.via, formatInZone(v.at, zone), v.comment, v.status === 'void' ? `void: ${v.voidReason ?? 'plan changed'}` : 'counted']),
          );
        }
        if (waitingVotes.length > 0) {
          // Chat votes not counted until their voter signs in again on the web (rules with requireReauth).
          deps.io.stdout('\nWaiting for re-authentication (not counted yet):\n');
          writeTable(
            deps.io,
            ['STAGE', 'PERSON', 'DECISION', 'VIA', 'UNTIL'],
            waitingVotes.map((v) => [v.stage, v.person, v.decision, v.via, formatInZone(v.expiresAt, zone)]),
          );
        }
        const r = view.rollout;
        if (r) {
          deps.io.stdout(
            `\nRollout #${r.id}: ${r.state.replace(/_/g, ' ')}, wave ${r.currentWave + 1} of ${r.waves}, ${r.targets} hosts` +
              `${r.haltedReason ? `; halted: ${r.haltedReason}` : ''} (details: patchdeck rollout status ${r.id})\n`,
          );
        }
      });
    });

  for (const decision of ['approve', 'reject'] as const) {
    cases
      .command(`${decision} <case>`)
      .description(
        decision === 'approve'
          ? 'Approve a case awaiting approval, as an approver (not the requester or a deployer); the case rule says how many approvals it needs'
          : 'Reject a case awaiting approval, as an approver or a member of the veto group; the case rule says how many rejects decide',
      )
      .requiredOption('--as <person>', 'your person id from the config (people[].id)')
      .option('--comment <text>', decision === 'approve' ? 'why, recorded with the vote' : 'why, recorded with the vote (required when the case rule says so)')
      .option('--plan <hash>', PLAN_OPTION_HELP)
      .action(async (caseText: string, options: VoteOptions) => {
        const caseId = parseRecordId(caseText, 'the case id');
        await withContext(deps, (ctx) => vote(deps, ctx, caseId, 'approval', decision, options));
      });
  }

  cases
    .command('signoff <case>')
    .description('Sign off (or with --reject, stop) the pilot of a case whose pilot wave has finished; not by the person who started the rollout')
    .requiredOption('--as <person>', 'your person id from the config (people[].id)')
    .option('--reject', 'reject the pilot: the rollout halts')
    .option('--comment <text>', 'why, recorded with the vote')
    .option('--plan <hash>', PLAN_OPTION_HELP)
    .action(async (caseText: string, options: VoteOptions & { reject?: boolean }) => {
      const caseId = parseRecordId(caseText, 'the case id');
      await withContext(deps, (ctx) => vote(deps, ctx, caseId, 'pilot_signoff', options.reject ? 'reject' : 'approve', options));
    });

  cases
    .command('defer <case>')
    .description('Defer a case awaiting approval ("not now"), as an approver, with a reason; it asks for approval again at --until')
    .requiredOption('--as <person>', 'your person id from the config (people[].id)')
    .requiredOption('--until <date>', 'when the case asks again: a day (2026-12-01, midnight in the configured time zone), an ISO time (2026-12-01T09:00:00Z) or a duration (3d, 12h)')
    .requiredOption('--reason <text>', 'why the case waits')
    .action(async (caseText: string, options: { as: string; until: string; reason: string }) => {
      const caseId = parseRecordId(caseText, 'the case id');
      await withContext(deps, async (ctx) => {
        const until = parseUntil(options.until, ctx.clock.now(), ctx.config.timezone);
        const result = await deferCase(ctx, { caseId, personId: options.as, reason: options.reason, via: 'cli', until });
        if (result.status === 'refused') throw new PatchdeckError(result.code, `case not deferred: ${result.reason}`, { status: 403 });
        deps.io.stdout(`Case #${caseId} deferred by ${options.as} until ${formatInZone(until, ctx.config.timezone)}.\n`);
      });
    });
}
