import type { App, RespondArguments } from '@slack/bolt';
import { formatInZone, isCalendarDay, startOfDayInZone } from '../../core/time.js';
import { getCaseView, getRolloutSummary, listCases } from '../../store/queries/cases.js';
import type { WorkflowContext } from '../../workflow/context.js';
import { loadMyWork, personIdForSlackUser, replyOptionsFor } from './my-work.js';
import { escapeMrkdwn } from './render.js';
import {
  buildCaseReply,
  buildHelpReply,
  buildMineReply,
  buildNoticeReply,
  buildRolloutReply,
  buildStatusReply,
  type SlackReply,
} from './replies.js';
import type { SlackHandlerDeps, SlackServices } from './services.js';

export const SLASH_COMMAND = '/patchdeck';

/** What `/patchdeck …` asks for, read from the command text alone. */
export type SlashCommand =
  | { kind: 'help'; unknown: string | null }
  | { kind: 'usage'; message: string }
  | { kind: 'status' }
  | { kind: 'mine' }
  | { kind: 'case'; caseId: number }
  | { kind: 'vote'; caseId: number; decision: 'approve' | 'reject'; reason: string | null }
  | { kind: 'defer'; caseId: number; until: string; reason: string }
  | { kind: 'rollout'; rolloutId: number };

/** Slack escapes &, < and > in command text; the stored reason is what the person typed. */
function unescapeSlackText(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function parseId(word: string | undefined): number | null {
  const match = /^#?([1-9][0-9]{0,14})$/.exec(word ?? '');
  return match ? Number(match[1]) : null;
}

/** Parses the text after `/patchdeck`. Pure: who is asking and whether they may is decided later. */
export function parseSlashCommand(rawText: string): SlashCommand {
  const text = unescapeSlackText(rawText).trim();
  const [first = '', ...rest] = text.split(/\s+/);
  const sub = first.toLowerCase();
  const idUsage = (example: string): SlashCommand => ({ kind: 'usage', message: `Say which one, by number: \`/patchdeck ${example}\`` });
  switch (sub) {
    case '':
    case 'help':
      return { kind: 'help', unknown: null };
    case 'status':
      return { kind: 'status' };
    case 'mine':
      return { kind: 'mine' };
    case 'case': {
      const caseId = parseId(rest[0]);
      return caseId === null ? idUsage('case 12') : { kind: 'case', caseId };
    }
    case 'rollout': {
      const rolloutId = parseId(rest[0]);
      return rolloutId === null ? idUsage('rollout 7') : { kind: 'rollout', rolloutId };
    }
    case 'approve':
    case 'reject': {
      const caseId = parseId(rest[0]);
      if (caseId === null) return idUsage(`${sub} 12`);
      const reason = rest.slice(1).join(' ').trim();
      // A rejection says why, here as on the buttons' forms and the web.
      if (sub === 'reject' && reason === '') return { kind: 'usage', message: 'Say why you reject. Write it as `/patchdeck reject 12 the reason`' };
      return { kind: 'vote', caseId, decision: sub, reason: reason === '' ? null : reason };
    }
    case 'defer': {
      const caseId = parseId(rest[0]);
      const usage = 'Write it as `/patchdeck defer 12 until 2026-12-01 the reason`';
      if (caseId === null || rest[1]?.toLowerCase() !== 'until' || rest[2] === undefined) return { kind: 'usage', message: usage };
      if (!isCalendarDay(rest[2])) return { kind: 'usage', message: `"${rest[2]}" is not a date. ${usage}` };
      const reason = rest.slice(3).join(' ').trim();
      if (reason === '') return { kind: 'usage', message: `Say why the case is deferred. ${usage}` };
      return { kind: 'defer', caseId, until: rest[2], reason };
    }
    default:
      return { kind: 'help', unknown: first };
  }
}

function ephemeral(reply: SlackReply): RespondArguments {
  return { response_type: 'ephemeral', text: reply.text, blocks: reply.blocks };
}

/**
 * `/patchdeck`. Help and usage mistakes are answered in the acknowledgement itself; everything that
 * reads or changes the store is acknowledged empty at once, done in the face's work queue and
 * answered through the command's response_url. The person is the payload's `user_id` (Slack signs it), nothing else.
 */
export function registerSlackCommands(app: App, deps: SlackHandlerDeps): void {
  const { ctx, services, work } = deps;
  app.command(SLASH_COMMAND, async ({ command, ack, respond }) => {
    const parsed = parseSlashCommand(command.text ?? '');
    if (parsed.kind === 'help') {
      await ack(ephemeral(buildHelpReply(parsed.unknown)));
      return;
    }
    if (parsed.kind === 'usage') {
      await ack(ephemeral(buildNoticeReply(parsed.message)));
      return;
    }
    await ack();
    const queued = work.push(null, async () => {
      let reply: SlackReply;
      try {
        reply = await answerCommand(ctx, services, parsed, command.user_id);
      } catch (error) {
        ctx.logger.error({ err: (error as Error).message, command: parsed.kind }, 'Slack command failed');
        reply = buildNoticeReply(`:warning: Patchdeck could not answer that just now. Try again, or use the web console: ${ctx.config.publicUrl.replace(/\/+$/, '')}/`);
      }
      // Sent without waiting: a slow response_url must not hold the face's work queue.
      void respond(ephemeral(reply)).catch((error: unknown) => {
        ctx.logger.error({ err: (error as Error).message, command: parsed.kind }, 'could not answer a Slack command through its response_url');
      });
    });
    if (queued === 'full') ctx.logger.warn({ user: command.user_id }, 'Slack command dropped: the face\'s work queue is full');
  });
}

type StoreCommand = Exclude<SlashCommand, { kind: 'help' } | { kind: 'usage' }>;

async function answerCommand(ctx: WorkflowContext, services: SlackServices, command: StoreCommand, slackUserId: string): Promise<SlackReply> {
  const opts = replyOptionsFor(ctx);
  switch (command.kind) {
    case 'status':
      return buildStatusReply(await listCases(ctx.store.db), opts);
    case 'mine':
      return buildMineReply(await loadMyWork(ctx, slackUserId), slackUserId, opts);
    case 'case': {
      const view = await getCaseView(ctx.store.db, command.caseId);
      return view === null ? buildNoticeReply(`There is no case ${command.caseId}.`) : buildCaseReply(view, opts);
    }
    case 'rollout': {
      const rollout = await getRolloutSummary(ctx.store.db, command.rolloutId);
      if (rollout === null) return buildNoticeReply(`There is no rollout ${command.rolloutId}.`);
      const caseRow = await ctx.store.db.selectFrom('rollouts').innerJoin('cases', 'cases.id', 'rollouts.case_id').select(['cases.id', 'cases.title']).where('rollouts.id', '=', rollout.id).executeTakeFirstOrThrow();
      return buildRolloutReply({ ...rollout, caseId: Number(caseRow.id), caseTitle: caseRow.title }, opts);
    }
    case 'vote': {
      const result = await services.castVote(ctx, {
        caseId: command.caseId,
        stage: 'approval',
        personId: personIdForSlackUser(ctx, slackUserId),
        decision: command.decision,
        via: 'slack',
        ...(command.reason !== null ? { comment: command.reason } : {}),
      });
      if (result.status === 'refused') return buildNoticeReply(`:no_entry: Not recorded: ${escapeMrkdwn(result.reason)}`);
      const outcome = result.outcome === 'pending' ? 'More approvals are needed before it is decided.' : `The case is now ${result.caseState.replace(/_/g, ' ')}.`;
      return buildNoticeReply(`:white_check_mark: Recorded: you ${command.decision === 'approve' ? 'approved' : 'rejected'} case ${command.caseId}. ${outcome}`);
    }
    case 'defer': {
      // parseSlashCommand let only calendar days through, so the day always has a start.
      const until = startOfDayInZone(command.until, opts.timezone)!;
      const result = await services.deferCase(ctx, {
        caseId: command.caseId,
        personId: personIdForSlackUser(ctx, slackUserId),
        reason: command.reason,
        via: 'slack',
        until,
      });
      if (result.status === 'refused') return buildNoticeReply(`:no_entry: Not deferred: ${escapeMrkdwn(result.reason)}`);
      const back = result.until === null ? '' : ` It comes back for approval on ${formatInZone(result.until, opts.timezone)}.`;
      return buildNoticeReply(`:zzz: Case ${command.caseId} is deferred: ${escapeMrkdwn(command.reason)}.${back}`);
    }
  }
}
