import { z } from 'zod';
import { parseDurationMs } from '../config/schema.js';
import {
  approvalPlanHash,
  describeApprovalRule,
  eligibilityRefusal,
  evaluateVote,
  explainTally,
  selectApprovalRule,
  type AppliedApprovalRule,
  type ExistingVote,
  type VoteSubject,
} from '../core/approvals.js';
import { PatchdeckError } from '../core/errors.js';
import { findPersonById } from '../core/people.js';
import { startOfDayInZone } from '../core/time.js';
import type { CaseState, Channel, RolloutState, Severity, VoteDecision, VoteStage } from '../core/types.js';
import type { Executor } from '../store/db.js';
import { fromJson } from '../store/json.js';
import { toVoteView, type VoteView } from '../store/queries/cases.js';
import { lockCase, moveCase } from './case-transitions.js';
import { claimChatEventIn } from './chat-events.js';
import { recordChange, type ChangeRecord, type WorkflowContext } from './context.js';
import { JOB_KINDS, type JobHandlers } from './jobs.js';
import { createPendingVoteIn, PENDING_VOTE_TTL_MS, voidPendingVotesIn } from './reauth.js';

export interface CastVoteInput {
  caseId: number;
  stage: VoteStage;
  /** Patchdeck person id (config `people[].id`), resolved by the face from the chat user. */
  personId: string;
  decision: VoteDecision;
  via: Channel;
  comment?: string;
  /** The plan hash the voter saw (a face embeds it in the button); a vote for another plan is refused. */
  planHash?: string;
  /**
   * The chat platform's id of this click (Slack `trigger_id`, Teams activity id): claimed in
   * `chat_event_receipts` in the vote's transaction, so a replayed request changes nothing.
   */
  eventId?: { platform: 'slack' | 'teams'; id: string };
  /**
   * The voter has just signed in again at the identity provider: set by confirmPendingVote (reauth.ts)
   * for a chat vote, and by the web console for a session whose sign-in is fresh enough.
   */
  reauthenticated?: boolean;
}

export type CastVoteResult =
  | { status: 'recorded'; outcome: 'pending' | 'approved' | 'rejected' | 'signed_off'; caseState: CaseState }
  | { status: 'refused'; code: string; reason: string };

type Refusal = Extract<CastVoteResult, { status: 'refused' }>;

const MAX_COMMENT = 2000;
const SYSTEM_ACTOR = 'patchdeck';
/** Chat faces: the ones a rule with `requireReauth` sends to the web console. */
const CHAT_CHANNELS: ReadonlySet<Channel> = new Set(['slack', 'teams']);
/** What a chat user is told about a button of an older plan: the newer message is in the same conversation. */
export const STALE_PLAN_CHAT_REASON = 'the plan changed since this message was posted; use the new message';
export const REPLAYED_CLICK_REASON = 'this click was already received once; nothing was changed';
/** A chat vote kept as pending_reauth: faces relay its reason (the confirmation link) to the voter only. */
export const REAUTH_PENDING_CODE = 'PD_VOTE_REAUTH_PENDING';
/** A web console vote under a re-auth rule from a session whose provider sign-in is too old: the face sends the voter to sign in. */
export const REAUTH_WEB_CODE = 'PD_VOTE_REAUTH_STALE_SESSION';

type CaseRow = NonNullable<Awaited<ReturnType<typeof lockCase>>>;

/** The rule that governs this case: matched on its severity and the groups of every host in it. */
async function approvalRuleFor(trx: Executor, ctx: WorkflowContext, caseRow: { id: number; severity: string }): Promise<AppliedApprovalRule> {
  const rows = await trx
    .selectFrom('exposures')
    .innerJoin('hosts', 'hosts.id', 'exposures.host_id')
    .select('hosts.groups')
    .where('exposures.case_id', '=', caseRow.id)
    .distinct()
    .execute();
  const hostGroups = [...new Set(rows.flatMap((r) => fromJson<string[]>(r.groups, [])))];
  return selectApprovalRule(ctx.config.approvals, { severity: caseRow.severity as Severity, hostGroups });
}

/** The hash of what an approval of this case would allow now: its hosts with open exposures, packages and fixed versions. */
async function currentPlanHash(trx: Executor, caseRow: { id: number; advisory_id: string }): Promise<string> {
  const rows = await trx
    .selectFrom('exposures')
    .innerJoin('hosts', 'hosts.id', 'exposures.host_id')
    .select(['hosts.name', 'exposures.ecosystem', 'exposures.package', 'exposures.fixed'])
    .where('exposures.case_id', '=', caseRow.id)
    .where('exposures.status', '=', 'open')
    .execute();
  return approvalPlanHash({
    caseId: caseRow.id,
    advisoryId: caseRow.advisory_id,
    targets: rows.map((r) => ({ host: r.name, ecosystem: r.ecosystem, package: r.package, fixed: r.fixed })),
  });
}

async function loadSubject(trx: Executor, caseRow: CaseRow): Promise<{ subject: VoteSubject; rolloutId: number | null }> {
  const rollout = await trx
    .selectFrom('rollouts')
    .select(['id', 'state', 'started_by'])
    .where('case_id', '=', Number(caseRow.id))
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return {
    subject: {
      caseState: caseRow.state as CaseState,
      requestedBy: caseRow.requested_by,
      rollout: rollout ? { state: rollout.state as RolloutState, startedBy: rollout.started_by } : null,
      planHash: caseRow.plan_hash,
    },
    rolloutId: rollout ? Number(rollout.id) : null,
  };
}

/** When the current approval request was posted: its TTL counts from here. */
function requestedAtOf(caseRow: { created_at: string; approval_requested_at: string | null }): string {
  return caseRow.approval_requested_at ?? caseRow.created_at;
}

function expiresAtOf(rule: AppliedApprovalRule, requestedAt: string): string | null {
  return rule.ttl === null ? null : new Date(Date.parse(requestedAt) + parseDurationMs(rule.ttl)).toISOString();
}

/** The `approvals.expire` job for the request posted at `requestedAt`, if the rule has a TTL. */
function expiryJobs(caseId: number, rule: AppliedApprovalRule, requestedAt: string): NonNullable<ChangeRecord['jobs']> {
  const expiresAt = expiresAtOf(rule, requestedAt);
  if (expiresAt === null) return [];
  return [{ kind: JOB_KINDS.approvalsExpire, payload: { caseId }, runAt: new Date(expiresAt), uniqueKey: `case:${caseId}:approvals.expire:${requestedAt}` }];
}

type RefusalAttempt = { caseId: number; personId: string; action: 'vote.refused' | 'defer.refused'; what: Record<string, unknown> };

/** Records a refusal inside the caller's transaction: the attempt is evidence even though nothing changed. */
async function auditRefusalIn(trx: Executor, ctx: WorkflowContext, attempt: RefusalAttempt, refusal: Refusal): Promise<Refusal> {
  await recordChange(trx, ctx, {
    audit: [
      {
        actor: attempt.personId,
        action: attempt.action,
        subjectType: 'case',
        subjectId: attempt.caseId,
        after: { ...attempt.what, code: refusal.code, reason: refusal.reason },
      },
    ],
  });
  ctx.logger.info({ caseId: attempt.caseId, person: attempt.personId, code: refusal.code }, attempt.action);
  return refusal;
}

/** The same in a transaction of its own, for refusals decided outside one. */
async function auditRefusal(ctx: WorkflowContext, attempt: RefusalAttempt, refusal: Refusal): Promise<Refusal> {
  return ctx.store.transaction((trx) => auditRefusalIn(trx, ctx, attempt, refusal));
}

function voteAttempt(input: CastVoteInput): RefusalAttempt {
  const what = {
    stage: input.stage,
    decision: input.decision,
    via: input.via,
    ...(input.planHash === undefined ? {} : { planHash: input.planHash }),
    ...(input.eventId === undefined ? {} : { eventId: input.eventId.id.slice(0, 200) }),
  };
  return { caseId: input.caseId, personId: input.personId, action: 'vote.refused', what };
}

/**
 * Records a vote under the server-side approval policy (the first `approvals.rules` entry matching the
 * case, else the defaults). Refusals are audited, never thrown. In one transaction: policy check
 * against the current rows, the vote (one per person and stage, whatever face it came from; the same
 * vote again records nothing), its audit event, and — when the vote seals the decision — the case's
 * state change (its reason says how the tally decided) and the jobs it causes.
 */
export async function castVote(ctx: WorkflowContext, input: CastVoteInput): Promise<CastVoteResult> {
  return ctx.store.transaction((trx) => castVoteIn(trx, ctx, input));
}

/** castVote inside the caller's transaction (a confirmed re-auth vote commits with its pending row). */
export async function castVoteIn(trx: Executor, ctx: WorkflowContext, input: CastVoteInput): Promise<CastVoteResult> {
  const comment = input.comment?.trim() ? input.comment.trim().slice(0, MAX_COMMENT) : null;
  // A refusal is audited in the vote's own transaction: one commit per click, whatever the outcome.
  // A vote kept for re-authentication is audited as vote.pending_reauth instead (reauth.ts).
  const result = await decideVote(trx);
  return result.status === 'refused' && result.code !== REAUTH_PENDING_CODE ? auditRefusalIn(trx, ctx, voteAttempt(input), result) : result;

  async function decideVote(trx: Executor): Promise<CastVoteResult> {
    if (input.eventId !== undefined && !(await claimChatEventIn(trx, ctx, { platform: input.eventId.platform, eventId: input.eventId.id }))) {
      return { status: 'refused', code: 'PD_VOTE_REPLAYED', reason: REPLAYED_CLICK_REASON };
    }
    const caseRow = await lockCase(trx, ctx, input.caseId);
    if (!caseRow) return { status: 'refused', code: 'PD_VOTE_NO_CASE', reason: `there is no case ${input.caseId}` };
    const caseId = Number(caseRow.id);
    const { subject, rolloutId } = await loadSubject(trx, caseRow);
    // A case opened before plans were bound has no stored hash: a button's hash is checked against the plan as it is now.
    if (input.stage === 'approval' && subject.planHash === null && input.planHash !== undefined) {
      subject.planHash = await currentPlanHash(trx, { id: caseId, advisory_id: caseRow.advisory_id });
    }
    const rule = await approvalRuleFor(trx, ctx, { id: caseId, severity: caseRow.severity });
    const voteRows = await trx
      .selectFrom('votes')
      .select(['id', 'person', 'decision', 'comment', 'status', 'plan_hash'])
      .where('case_id', '=', caseId)
      .where('stage', '=', input.stage)
      .execute();
    const votes: ExistingVote[] = voteRows.filter((v) => v.status === 'counted').map((v) => ({ person: v.person, decision: v.decision as VoteDecision, comment: v.comment }));
    const evaluation = evaluateVote({
      policy: rule.policy,
      people: ctx.config.people,
      subject,
      votes,
      vote: { stage: input.stage, personId: input.personId, decision: input.decision, comment, ...(input.planHash === undefined ? {} : { planHash: input.planHash }) },
    });
    if (!evaluation.allowed) {
      const chatStale = evaluation.code === 'PD_VOTE_STALE_PLAN' && CHAT_CHANNELS.has(input.via);
      return { status: 'refused', code: evaluation.code, reason: chatStale ? STALE_PLAN_CHAT_REASON : evaluation.reason };
    }
    const stageOutcome = evaluation.tally.outcome;
    const outcome = input.stage === 'pilot_signoff' && stageOutcome === 'approved' ? 'signed_off' : stageOutcome;
    if (evaluation.duplicate) return { status: 'recorded', outcome, caseState: caseRow.state as CaseState };
    if (input.stage === 'approval' && rule.requireReauth && CHAT_CHANNELS.has(input.via) && input.reauthenticated !== true) {
      // With a real identity provider the vote waits for a fresh sign-in; the demo sign-in proves nothing, so it is refused.
      if (ctx.config.web.auth.mode === 'oidc') {
        const pending = await createPendingVoteIn(trx, ctx, { caseId, stage: input.stage, personId: input.personId, decision: input.decision, via: input.via, comment, planHash: subject.planHash ?? null, ruleLabel: rule.label });
        return {
          status: 'refused',
          code: REAUTH_PENDING_CODE,
          reason: `${rule.label} needs you to sign in again for this decision, so the vote is not counted yet. Confirm it within ${PENDING_VOTE_TTL_MS / 60_000} minutes at ${pending.url}`,
        };
      }
      return {
        status: 'refused',
        code: 'PD_VOTE_REAUTH_REQUIRED',
        reason: `${rule.label} needs approvers to sign in again for this decision: vote on the web console at ${ctx.config.publicUrl.replace(/\/$/, '')}/cases/${caseId}`,
      };
    }
    // On the web console a provider sign-in older than web.auth.reauthMaxAge is not enough either.
    if (input.stage === 'approval' && rule.requireReauth && input.via === 'web' && ctx.config.web.auth.mode === 'oidc' && input.reauthenticated !== true) {
      return { status: 'refused', code: REAUTH_WEB_CODE, reason: `${rule.label} needs you to sign in again for this decision; sign in and vote again` };
    }

    const now = ctx.clock.now().toISOString();
    const previous = voteRows.find((v) => v.person === input.personId);
    const values = { decision: input.decision, via: input.via, comment, at: now, status: 'counted', plan_hash: subject.planHash ?? null, voided_at: null, void_reason: null };
    if (previous) {
      await trx.updateTable('votes').set(values).where('id', '=', previous.id).execute();
    } else {
      await trx.insertInto('votes').values({ case_id: caseId, stage: input.stage, person: input.personId, ...values }).execute();
    }
    const before = evaluation.replaces
      ? { stage: input.stage, ...evaluation.replaces }
      : previous
        ? { stage: input.stage, person: previous.person, decision: previous.decision, comment: previous.comment, status: previous.status }
        : null;
    const purpose = input.stage === 'approval' ? 'alert' : 'signoff';
    await recordChange(trx, ctx, {
      audit: [
        {
          actor: input.personId,
          action: 'vote.cast',
          subjectType: 'case',
          subjectId: caseId,
          before,
          after: { stage: input.stage, person: input.personId, decision: input.decision, via: input.via, comment },
        },
      ],
      jobs: [{ kind: JOB_KINDS.chatUpdate, payload: { caseId, purpose } }],
    });

    let caseState = caseRow.state as CaseState;
    if (evaluation.sealed && input.stage === 'approval') {
      caseState = stageOutcome === 'approved' ? 'approved' : 'rejected';
      const reason = `${explainTally(evaluation.tally)} under ${rule.label}`;
      await moveCase(trx, ctx, { caseId, from: subject.caseState, to: caseState, actor: input.personId, reason, set: { decided_at: now } });
      if (caseState === 'approved') {
        await recordChange(trx, ctx, {
          audit: [],
          jobs: [{ kind: JOB_KINDS.rolloutStart, payload: { caseId, startedBy: input.personId }, uniqueKey: `case:${caseId}:rollout.start` }],
        });
      }
    } else if (evaluation.sealed && input.stage === 'pilot_signoff' && rolloutId !== null) {
      caseState = await sealSignoff(trx, ctx, { caseId, rolloutId, caseState: subject.caseState, personId: input.personId, approved: stageOutcome === 'approved', comment });
    }
    return { status: 'recorded', outcome, caseState };
  }
}

/** Audits a refusal a face decided before calling castVote (quickVoteRefusal) as `vote.refused`. */
export async function recordVoteRefusal(ctx: WorkflowContext, input: CastVoteInput, refusal: Refusal): Promise<Refusal> {
  return auditRefusal(ctx, voteAttempt(input), refusal);
}

/**
 * The refusals a chat face can give at once, before it answers the platform, from one read and no
 * lock: an unknown person, a case that does not exist, a button of an older plan. Null means the
 * vote has to go through castVote (which checks all of this again under the case's lock). Nothing is
 * audited here; the face audits the refusal with `recordVoteRefusal` after answering.
 */
export async function quickVoteRefusal(ctx: WorkflowContext, input: CastVoteInput): Promise<Refusal | null> {
  if (findPersonById(ctx.config.people, input.personId) === null) {
    return { status: 'refused', code: 'PD_VOTE_UNKNOWN_PERSON', reason: `"${input.personId}" is not a person Patchdeck knows; add them to "people" in the config (with their chat id) first` };
  }
  const caseRow = await ctx.store.db.selectFrom('cases').select(['state', 'plan_hash']).where('id', '=', input.caseId).executeTakeFirst();
  if (!caseRow) return { status: 'refused', code: 'PD_VOTE_NO_CASE', reason: `there is no case ${input.caseId}` };
  const stale = input.stage === 'approval' && caseRow.state === 'awaiting_approval' && caseRow.plan_hash !== null && input.planHash !== undefined && input.planHash !== caseRow.plan_hash;
  if (stale) return { status: 'refused', code: 'PD_VOTE_STALE_PLAN', reason: CHAT_CHANNELS.has(input.via) ? STALE_PLAN_CHAT_REASON : 'this vote names an older plan for this case' };
  return null;
}

async function sealSignoff(
  trx: Executor,
  ctx: WorkflowContext,
  args: { caseId: number; rolloutId: number; caseState: CaseState; personId: string; approved: boolean; comment: string | null },
): Promise<CaseState> {
  const now = ctx.clock.now().toISOString();
  const person = findPersonById(ctx.config.people, args.personId);
  const nextRollout: RolloutState = args.approved ? 'deploying' : 'halted';
  const haltedReason = args.approved ? null : `pilot sign-off rejected by ${person?.name ?? args.personId}${args.comment ? `: ${args.comment}` : ''}`;
  await trx
    .updateTable('rollouts')
    .set({ state: nextRollout, updated_at: now, ...(haltedReason ? { halted_reason: haltedReason } : {}) })
    .where('id', '=', args.rolloutId)
    .execute();
  await recordChange(trx, ctx, {
    audit: [
      {
        actor: args.personId,
        action: 'rollout.state_changed',
        subjectType: 'rollout',
        subjectId: args.rolloutId,
        before: { state: 'awaiting_signoff' },
        after: { state: nextRollout, ...(haltedReason ? { haltedReason } : {}) },
      },
    ],
    jobs: args.approved ? [{ kind: JOB_KINDS.rolloutResume, payload: { rolloutId: args.rolloutId }, uniqueKey: `rollout:${args.rolloutId}:resume` }] : [],
  });
  if (args.approved) {
    await moveCase(trx, ctx, { caseId: args.caseId, from: args.caseState, via: ['pilot_signed_off'], to: 'deploying', actor: args.personId });
    return 'deploying';
  }
  await moveCase(trx, ctx, { caseId: args.caseId, from: args.caseState, to: 'halted', actor: args.personId, reason: haltedReason ?? undefined });
  return 'halted';
}

export type DeferCaseResult = { status: 'deferred'; caseState: CaseState; until: string | null } | Refusal;

export interface DeferCaseInput {
  caseId: number;
  personId: string;
  reason: string;
  via: Channel;
  /** An ISO time in the future. */
  until?: string;
  /** A calendar day (`YYYY-MM-DD`, a date picker's answer): the start of that day in config `timezone`. */
  untilDay?: string;
  /** The plan the deferring message showed (chat forms carry it); a defer of an older plan is refused. */
  planHash?: string;
}

/**
 * Parks a case awaiting approval ("not now"): an approver's call, audited with the reason. With
 * `until` or `untilDay` (in the future) the case returns to awaiting_approval then, through the
 * `approvals.undefer` job; without either, it stays deferred.
 */
export async function deferCase(ctx: WorkflowContext, input: DeferCaseInput): Promise<DeferCaseResult> {
  const reason = input.reason.trim().slice(0, MAX_COMMENT);
  const result = await ctx.store.transaction(async (trx): Promise<DeferCaseResult> => {
    const caseRow = await lockCase(trx, ctx, input.caseId);
    if (!caseRow) return { status: 'refused', code: 'PD_VOTE_NO_CASE', reason: `there is no case ${input.caseId}` };
    const caseId = Number(caseRow.id);
    const { subject } = await loadSubject(trx, caseRow);
    const rule = await approvalRuleFor(trx, ctx, { id: caseId, severity: caseRow.severity });
    const refusal = eligibilityRefusal('approval', input.personId, ctx.config.people, subject, rule.policy);
    if (refusal) return { status: 'refused', code: refusal.code, reason: refusal.reason };
    if (reason === '') return { status: 'refused', code: 'PD_DEFER_NO_REASON', reason: 'say why the case is deferred (a reason is required)' };
    if (input.planHash !== undefined && subject.planHash !== null && input.planHash !== subject.planHash) {
      return { status: 'refused', code: 'PD_VOTE_STALE_PLAN', reason: CHAT_CHANNELS.has(input.via) ? STALE_PLAN_CHAT_REASON : 'this deferral names an older plan for this case' };
    }
    let until: string | null = null;
    if (input.untilDay !== undefined) {
      const dayStart = startOfDayInZone(input.untilDay, ctx.config.timezone);
      if (dayStart === null) return { status: 'refused', code: 'PD_DEFER_BAD_UNTIL', reason: `"${input.untilDay}" is not a day; pick a date such as 2026-12-01` };
      if (Date.parse(dayStart) <= ctx.clock.now().getTime()) return { status: 'refused', code: 'PD_DEFER_BAD_UNTIL', reason: `${input.untilDay} has already begun in ${ctx.config.timezone}; defer until a later day` };
      until = dayStart;
    } else if (input.until !== undefined) {
      const at = Date.parse(input.until);
      if (Number.isNaN(at)) return { status: 'refused', code: 'PD_DEFER_BAD_UNTIL', reason: `"${input.until}" is not a date and time; use ISO 8601 such as 2026-12-01T09:00:00Z` };
      if (at <= ctx.clock.now().getTime()) return { status: 'refused', code: 'PD_DEFER_BAD_UNTIL', reason: `${new Date(at).toISOString()} is not in the future; defer until a later time` };
      until = new Date(at).toISOString();
    }
    if (subject.caseState !== 'awaiting_approval') {
      return { status: 'refused', code: 'PD_VOTE_NOT_AWAITING', reason: `only a case awaiting approval can be deferred (this one is ${subject.caseState.replace(/_/g, ' ')})` };
    }
    await moveCase(trx, ctx, { caseId, from: 'awaiting_approval', to: 'deferred', actor: input.personId, reason, ...(until === null ? {} : { set: { deferred_until: until } }) });
    const jobs: NonNullable<ChangeRecord['jobs']> = [{ kind: JOB_KINDS.chatUpdate, payload: { caseId, purpose: 'alert' } }];
    if (until !== null) jobs.push({ kind: JOB_KINDS.approvalsUndefer, payload: { caseId }, runAt: new Date(until), uniqueKey: `case:${caseId}:approvals.undefer:${until}` });
    await recordChange(trx, ctx, { audit: [], jobs });
    return { status: 'deferred', caseState: 'deferred', until };
  });
  if (result.status === 'refused') {
    const what = { via: input.via, reason, ...(input.until === undefined ? {} : { until: input.until }), ...(input.untilDay === undefined ? {} : { untilDay: input.untilDay }) };
    return auditRefusal(ctx, { caseId: input.caseId, personId: input.personId, action: 'defer.refused', what }, result);
  }
  return result;
}

export type RefreshApprovalPlanResult =
  | { status: 'skipped'; planHash: null; voided: [] }
  | { status: 'bound' | 'unchanged' | 'changed'; planHash: string; voided: string[] };

/**
 * Binds the approval request of a case awaiting approval (or deferred) to its plan, inside the
 * caller's transaction. The first call stores the hash and schedules the TTL expiry; later calls do
 * nothing while the plan is the same. When the hosts, packages or fixed versions changed, the
 * approval votes cast so far are marked void (audited), the request restarts (new TTL) and, for a
 * case awaiting approval, the alert is posted again.
 */
export async function refreshApprovalPlan(trx: Executor, ctx: WorkflowContext, caseId: number): Promise<RefreshApprovalPlanResult> {
  const caseRow = await lockCase(trx, ctx, caseId);
  if (!caseRow || (caseRow.state !== 'awaiting_approval' && caseRow.state !== 'deferred')) return { status: 'skipped', planHash: null, voided: [] };
  const hash = await currentPlanHash(trx, { id: caseId, advisory_id: caseRow.advisory_id });
  if (caseRow.plan_hash === hash) return { status: 'unchanged', planHash: hash, voided: [] };
  const now = ctx.clock.now().toISOString();
  const rule = await approvalRuleFor(trx, ctx, { id: caseId, severity: caseRow.severity });
  const awaiting = caseRow.state === 'awaiting_approval';
  if (caseRow.plan_hash === null) {
    const requestedAt = requestedAtOf(caseRow);
    await trx.updateTable('cases').set({ plan_hash: hash, approval_requested_at: requestedAt }).where('id', '=', caseId).execute();
    await recordChange(trx, ctx, {
      audit: [{ actor: SYSTEM_ACTOR, action: 'approval.plan_bound', subjectType: 'case', subjectId: caseId, after: { planHash: hash, rule: rule.label } }],
      jobs: awaiting ? expiryJobs(caseId, rule, requestedAt) : [],
    });
    return { status: 'bound', planHash: hash, voided: [] };
  }
  const counted = await trx
    .selectFrom('votes')
    .select(['id', 'person', 'decision'])
    .where('case_id', '=', caseId)
    .where('stage', '=', 'approval')
    .where('status', '=', 'counted')
    .orderBy('id', 'asc')
    .execute();
  const voidReason = 'the plan changed (hosts, packages or fixed versions) after the vote';
  if (counted.length > 0) {
    await trx
      .updateTable('votes')
      .set({ status: 'void', voided_at: now, void_reason: voidReason })
      .where('id', 'in', counted.map((v) => v.id))
      .execute();
  }
  await trx.updateTable('cases').set({ plan_hash: hash, approval_requested_at: now, approval_expired_at: null, updated_at: now }).where('id', '=', caseId).execute();
  const voidedPending = await voidPendingVotesIn(trx, ctx, caseId, voidReason);
  const voided = counted.map((v) => v.person);
  await recordChange(trx, ctx, {
    audit: [
      {
        actor: SYSTEM_ACTOR,
        action: 'approval.plan_changed',
        subjectType: 'case',
        subjectId: caseId,
        before: { planHash: caseRow.plan_hash },
        after: { planHash: hash, voidedVotes: counted.map((v) => ({ person: v.person, decision: v.decision })), ...(voidedPending.length > 0 ? { voidedPendingVotes: voidedPending } : {}), reason: voidReason },
      },
    ],
    jobs: awaiting
      ? [{ kind: JOB_KINDS.chatPost, payload: { caseId, purpose: 'alert', planHash: hash }, uniqueKey: `case:${caseId}:alert:${hash}` }, ...expiryJobs(caseId, rule, now)]
      : [],
  });
  ctx.logger.info({ caseId, voided: voided.length }, 'approval plan changed; votes voided');
  return { status: 'changed', planHash: hash, voided };
}

/**
 * Marks the approval request of a case as expired and escalates it when it outlived its TTL. The
 * case keeps waiting for approval and votes still count. Idempotent: an escalated request, a decided
 * case, a rule without TTL or a request not yet due does nothing.
 */
async function expireApprovalRequest(trx: Executor, ctx: WorkflowContext, caseId: number): Promise<boolean> {
  const caseRow = await lockCase(trx, ctx, caseId);
  if (!caseRow || caseRow.state !== 'awaiting_approval' || caseRow.approval_expired_at !== null) return false;
  const rule = await approvalRuleFor(trx, ctx, { id: caseId, severity: caseRow.severity });
  const requestedAt = requestedAtOf(caseRow);
  const expiresAt = expiresAtOf(rule, requestedAt);
  const now = ctx.clock.now();
  if (expiresAt === null || Date.parse(expiresAt) > now.getTime()) return false;
  const counted = await trx
    .selectFrom('votes')
    .select(['person', 'decision'])
    .where('case_id', '=', caseId)
    .where('stage', '=', 'approval')
    .where('status', '=', 'counted')
    .execute();
  await trx.updateTable('cases').set({ approval_expired_at: now.toISOString(), updated_at: now.toISOString() }).where('id', '=', caseId).execute();
  await recordChange(trx, ctx, {
    audit: [
      {
        actor: SYSTEM_ACTOR,
        action: 'approval.expired',
        subjectType: 'case',
        subjectId: caseId,
        after: { requestedAt, expiresAt, ttl: rule.ttl, rule: rule.label, escalateTo: rule.escalateTo, votes: counted.map((v) => ({ person: v.person, decision: v.decision })) },
      },
    ],
    jobs: [
      {
        kind: JOB_KINDS.chatPost,
        payload: { caseId, purpose: 'escalation', ...(rule.escalateTo ? { escalateTo: rule.escalateTo } : {}) },
        uniqueKey: `case:${caseId}:escalation:${requestedAt}`,
      },
    ],
  });
  ctx.logger.info({ caseId, escalateTo: rule.escalateTo }, 'approval request expired; escalated');
  return true;
}

/** Brings a deferred case whose `deferred_until` has passed back to awaiting_approval, as a new request. */
async function endDeferral(trx: Executor, ctx: WorkflowContext, caseId: number): Promise<boolean> {
  const caseRow = await lockCase(trx, ctx, caseId);
  const now = ctx.clock.now();
  if (!caseRow || caseRow.state !== 'deferred' || caseRow.deferred_until === null || Date.parse(caseRow.deferred_until) > now.getTime()) return false;
  const nowIso = now.toISOString();
  await moveCase(trx, ctx, {
    caseId,
    from: 'deferred',
    to: 'awaiting_approval',
    actor: SYSTEM_ACTOR,
    reason: `the deferral ended (${caseRow.deferred_until})`,
    set: { deferred_until: null, approval_requested_at: nowIso, approval_expired_at: null },
  });
  const rule = await approvalRuleFor(trx, ctx, { id: caseId, severity: caseRow.severity });
  await recordChange(trx, ctx, { audit: [], jobs: [{ kind: JOB_KINDS.chatUpdate, payload: { caseId, purpose: 'alert' } }, ...expiryJobs(caseId, rule, nowIso)] });
  // The plan may have changed while the case waited: votes for the old plan are voided and the alert re-posted.
  await refreshApprovalPlan(trx, ctx, caseId);
  return true;
}

const CasePayload = z.object({ caseId: z.number().int().positive() }).passthrough();

function readCaseId(kind: string, payload: unknown): number {
  const parsed = CasePayload.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PatchdeckError('PD_JOB_PAYLOAD', `${kind} job payload field "${issue.path.join('.')}": ${issue.message}`);
  }
  return parsed.data.caseId;
}

/**
 * Job handlers of the approval policy: `approvals.expire` {caseId} (enqueued for opened + TTL),
 * `approvals.undefer` {caseId} (enqueued for the deferral's end) and `approvals.sweep` {} (a schedule
 * can enqueue it: expires and un-defers every case that is due, one transaction per case).
 */
export function createApprovalJobHandlers(): JobHandlers {
  return {
    [JOB_KINDS.approvalsExpire]: async (ctx, job) => {
      const caseId = readCaseId(job.kind, job.payload);
      await ctx.store.transaction((trx) => expireApprovalRequest(trx, ctx, caseId));
    },
    [JOB_KINDS.approvalsUndefer]: async (ctx, job) => {
      const caseId = readCaseId(job.kind, job.payload);
      await ctx.store.transaction((trx) => endDeferral(trx, ctx, caseId));
    },
    [JOB_KINDS.approvalsSweep]: async (ctx) => {
      const nowIso = ctx.clock.now().toISOString();
      const awaiting = await ctx.store.db.selectFrom('cases').select('id').where('state', '=', 'awaiting_approval').where('approval_expired_at', 'is', null).orderBy('id').execute();
      for (const row of awaiting) await ctx.store.transaction((trx) => expireApprovalRequest(trx, ctx, Number(row.id)));
      const deferred = await ctx.store.db.selectFrom('cases').select('id').where('state', '=', 'deferred').where('deferred_until', '<=', nowIso).orderBy('id').execute();
      for (const row of deferred) await ctx.store.transaction((trx) => endDeferral(trx, ctx, Number(row.id)));
    },
  };
}

export interface ApprovalVoteView extends VoteView {
  status: 'counted' | 'void';
  planHash: string | null;
  voidReason: string | null;
}

export interface ApprovalView {
  rule: { index: number | null; label: string; description: string; quorum: number; approversGroup: string; vetoGroup: string | null; ttl: string | null; escalateTo: string | null; requireReauth: boolean };
  planHash: string | null;
  requestedAt: string;
  /** When the current request expires (null: no TTL); `expiredAt` says whether it did. */
  expiresAt: string | null;
  expiredAt: string | null;
  deferredUntil: string | null;
  votes: ApprovalVoteView[];
}

/** The approval side of a case for the faces: the rule that applies, the plan, TTL and every vote (void ones marked). */
export async function describeApproval(ctx: WorkflowContext, caseId: number): Promise<ApprovalView | null> {
  const db = ctx.store.db;
  const caseRow = await db.selectFrom('cases').selectAll().where('id', '=', caseId).executeTakeFirst();
  if (!caseRow) return null;
  const rule = await approvalRuleFor(db, ctx, { id: caseId, severity: caseRow.severity });
  const requestedAt = requestedAtOf(caseRow);
  const votes = await db.selectFrom('votes').selectAll().where('case_id', '=', caseId).orderBy('id', 'asc').execute();
  return {
    rule: {
      index: rule.index,
      label: rule.label,
      description: describeApprovalRule(rule),
      quorum: rule.policy.quorum,
      approversGroup: rule.policy.approversGroup,
      vetoGroup: rule.policy.vetoGroup ?? null,
      ttl: rule.ttl,
      escalateTo: rule.escalateTo,
      requireReauth: rule.requireReauth,
    },
    planHash: caseRow.plan_hash,
    requestedAt,
    expiresAt: expiresAtOf(rule, requestedAt),
    expiredAt: caseRow.approval_expired_at,
    deferredUntil: caseRow.deferred_until,
    votes: votes.map((v) => ({
      ...toVoteView(v),
      status: v.status === 'void' ? 'void' : 'counted',
      planHash: v.plan_hash,
      voidReason: v.void_reason,
    })),
  };
}
