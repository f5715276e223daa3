import type { Command } from 'commander';
import { PatchdeckError } from '../../core/errors.js';
import { formatInZone } from '../../core/time.js';
import type { VoteDecision, VoteStage } from '../../core/types.js';
import { getCaseView } from '../../store/queries/cases.js';
import { castVote, deferCase } from '../../workflow/approvals.js';
import type { WorkflowContext } from '../../workflow/context.js';
import { withContext, writeJson, writeTable, type CliDeps } from '../io.js';
import { parseRecordId } from './rollout.js';

const OUTCOME_TEXT = {
  pending: 'more approvals are needed',
  approved: 'the case is approved and its rollout will start',
  rejected: 'the decision is: rejected',
  signed_off: 'the pilot is signed off and the rollout continues',
} as const;

async function vote(deps: CliDeps, ctx: WorkflowContext, caseId: number, stage: VoteStage, decision: VoteDecision, personId: string, comment: string | undefined) {
  const result = await castVote(ctx, { caseId, stage, personId, decision, via: 'cli', ...(comment === undefined ? {} : { comment }) });
  if (result.status === 'refused') throw new PatchdeckError(result.code, `vote not recorded: ${result.reason}`, { status: 403 });
  const what = stage === 'approval' ? (decision === 'approve' ? 'approval' : 'rejection') : decision === 'approve' ? 'pilot sign-off' : 'pilot sign-off rejection';
  deps.io.stdout(`Recorded ${what} by ${personId} on case #${caseId}: ${OUTCOME_TEXT[result.outcome]} (case is ${result.caseState.replace(/_/g, ' ')}).\n`);
}

export function registerCasesCommands(program: Command, deps: CliDeps): void {
  const cases = program.command('cases').description('Patch cases: look at one, approve or reject it, sign off its pilot');

  cases
    .command('show <case>')
    .description('Show one case: advisory, severity, reasons, due time, votes and rollout progress')
    .option('--json', 'print as JSON')
    .action(async (caseText: string, options: { json?: boolean }) => {
      const caseId = parseRecordId(caseText, 'the case id');
      await withContext(deps, async (ctx) => {
        const view = await getCaseView(ctx.store.db, caseId);
        if (view === null) throw new PatchdeckError('PD_CASE_NOT_FOUND', `there is no case ${caseId}; see \`patchdeck patches list\``, { status: 404 });
        if (options.json) {
          writeJson(deps.io, view);
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
        deps.io.stdout('\n');
        if (view.votes.length === 0) {
          deps.io.stdout('No votes yet.\n');
        } else {
          writeTable(
            deps.io,
            ['STAGE', 'PERSON', 'DECISION', 'VIA', 'AT', 'COMMENT'],
            view.votes.map((v) => [v.stage, v.person, v.decision, v.via, formatInZone(v.at, zone), v.comment]),
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
      .description(decision === 'approve' ? 'Approve a case awaiting approval, as an approver (not the requester)' : 'Reject a case awaiting approval, as an approver; one reject decides')
      .requiredOption('--as <person>', 'your person id from the config (people[].id)')
      .option('--comment <text>', 'why, recorded with the vote')
      .action(async (caseText: string, options: { as: string; comment?: string }) => {
        const caseId = parseRecordId(caseText, 'the case id');
        await withContext(deps, (ctx) => vote(deps, ctx, caseId, 'approval', decision, options.as, options.comment));
      });
  }

  cases
    .command('signoff <case>')
    .description('Sign off (or with --reject, stop) the pilot of a case whose pilot wave has finished; not by the person who started the rollout')
    .requiredOption('--as <person>', 'your person id from the config (people[].id)')
    .option('--reject', 'reject the pilot: the rollout halts')
    .option('--comment <text>', 'why, recorded with the vote')
    .action(async (caseText: string, options: { as: string; reject?: boolean; comment?: string }) => {
      const caseId = parseRecordId(caseText, 'the case id');
      await withContext(deps, (ctx) => vote(deps, ctx, caseId, 'pilot_signoff', options.reject ? 'reject' : 'approve', options.as, options.comment));
    });

  cases
    .command('defer <case>')
    .description('Defer a case awaiting approval ("not now"), as an approver, with a reason')
    .requiredOption('--as <person>', 'your person id from the config (people[].id)')
    .requiredOption('--reason <text>', 'why the case waits')
    .action(async (caseText: string, options: { as: string; reason: string }) => {
      const caseId = parseRecordId(caseText, 'the case id');
      await withContext(deps, async (ctx) => {
        const result = await deferCase(ctx, { caseId, personId: options.as, reason: options.reason, via: 'cli' });
        if (result.status === 'refused') throw new PatchdeckError(result.code, `case not deferred: ${result.reason}`, { status: 403 });
        deps.io.stdout(`Case #${caseId} deferred by ${options.as}.\n`);
      });
    });
}
