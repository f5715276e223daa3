import { createHash, randomBytes } from 'node:crypto';
import type { Channel, VoteDecision, VoteStage } from '../core/types.js';
import type { Executor } from '../store/db.js';
import { castVoteIn, type CastVoteResult } from './approvals.js';
import { lockCase } from './case-transitions.js';
import { recordChange, type WorkflowContext } from './context.js';

/** How long a confirmation link works. */
export const PENDING_VOTE_TTL_MS = 30 * 60_000;
export const PENDING_VOTE_STATUSES = ['pending_reauth', 'confirmed', 'void'] as const;
export type PendingVoteStatus = (typeof PENDING_VOTE_STATUSES)[number];
export const CONFIRM_PATH_PREFIX = '/approvals/confirm/';

/** Tokens are 256 random bits; only this hash is stored, so the table alone cannot confirm a vote. */
export function hashConfirmToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface NewPendingVote {
  caseId: number;
  stage: VoteStage;
  personId: string;
  decision: VoteDecision;
  via: Channel;
  comment: string | null;
  planHash: string | null;
  ruleLabel: string;
}

/**
 * Inside castVote's transaction: keeps a chat vote that needs a fresh sign-in as `pending_reauth` (not
 * counted) and returns the link that confirms it. An older pending vote of the same person on the same
 * case and stage is voided, so only the newest click can be confirmed.
 */
export async function createPendingVoteIn(trx: Executor, ctx: WorkflowContext, vote: NewPendingVote): Promise<{ url: string; expiresAt: string }> {
  const now = ctx.clock.now();
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + PENDING_VOTE_TTL_MS).toISOString();
  await trx
    .updateTable('pending_votes')
    .set({ status: 'void', resolved_at: now.toISOString(), void_reason: 'a newer vote of the same person replaced it' })
    .where('case_id', '=', vote.caseId)
    .where('person', '=', vote.personId)
    .where('stage', '=', vote.stage)
    .where('status', '=', 'pending_reauth')
    .execute();
  const row = await trx
    .insertInto('pending_votes')
    .values({
      case_id: vote.caseId,
      stage: vote.stage,
      person: vote.personId,
      decision: vote.decision,
      via: vote.via,
      comment: vote.comment,
      plan_hash: vote.planHash,
      token_hash: hashConfirmToken(token),
      status: 'pending_reauth',
      created_at: now.toISOString(),
      expires_at: expiresAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await recordChange(trx, ctx, {
    audit: [
      {
        actor: vote.personId,
        action: 'vote.pending_reauth',
        subjectType: 'case',
        subjectId: vote.caseId,
        after: { pendingVoteId: Number(row.id), stage: vote.stage, decision: vote.decision, via: vote.via, planHash: vote.planHash, rule: vote.ruleLabel, expiresAt },
      },
    ],
  });
  return { url: `${ctx.config.publicUrl.replace(/\/+$/, '')}${CONFIRM_PATH_PREFIX}${token}`, expiresAt };
}

/** Voids the votes of a case still waiting for re-authentication (its plan changed); returns who cast them. */
export async function voidPendingVotesIn(trx: Executor, ctx: WorkflowContext, caseId: number, reason: string): Promise<{ person: string; decision: string }[]> {
  const rows = await trx.selectFrom('pending_votes').select(['id', 'person', 'decision']).where('case_id', '=', caseId).where('status', '=', 'pending_reauth').orderBy('id').execute();
  if (rows.length === 0) return [];
  await trx
    .updateTable('pending_votes')
    .set({ status: 'void', resolved_at: ctx.clock.now().toISOString(), void_reason: reason })
    .where('id', 'in', rows.map((r) => r.id))
    .execute();
  return rows.map((r) => ({ person: r.person, decision: r.decision }));
}

export interface PendingVoteView {
  id: number;
  caseId: number;
  stage: VoteStage;
  person: string;
  decision: VoteDecision;
  via: string;
  comment: string | null;
  planHash: string | null;
  status: PendingVoteStatus;
  expiresAt: string;
  expired: boolean;
  voidReason: string | null;
}

/** The pending vote a confirmation link names, or null for a link Patchdeck never gave out. */
export async function findPendingVote(ctx: WorkflowContext, token: string): Promise<PendingVoteView | null> {
  const row = await ctx.store.db.selectFrom('pending_votes').selectAll().where('token_hash', '=', hashConfirmToken(token)).executeTakeFirst();
  if (!row) return null;
  return {
    id: Number(row.id),
    caseId: Number(row.case_id),
    stage: row.stage as VoteStage,
    person: row.person,
    decision: row.decision as VoteDecision,
    via: row.via,
    comment: row.comment,
    planHash: row.plan_hash,
    status: row.status as PendingVoteStatus,
    expiresAt: row.expires_at,
    expired: Date.parse(row.expires_at) <= ctx.clock.now().getTime(),
    voidReason: row.void_reason,
  };
}

export type ConfirmPendingVoteResult =
  | { status: 'confirmed'; caseId: number; vote: Extract<CastVoteResult, { status: 'recorded' }> }
  | { status: 'refused'; caseId: number | null; code: string; reason: string };

/**
 * Counts a pending vote after its voter signed in again (`authTime`, from the provider). One
 * transaction under the case's lock: the link must be unused, unexpired and the signed-in person's;
 * the vote then goes through the same rules as any other (quorum, separation of duties, plan hash: a
 * changed plan voids it). Every outcome is audited.
 */
export async function confirmPendingVote(ctx: WorkflowContext, input: { token: string; personId: string; authTime: Date }): Promise<ConfirmPendingVoteResult> {
  return ctx.store.transaction(async (trx): Promise<ConfirmPendingVoteResult> => {
    const tokenHash = hashConfirmToken(input.token);
    const first = await trx.selectFrom('pending_votes').select(['id', 'case_id']).where('token_hash', '=', tokenHash).executeTakeFirst();
    if (!first) return { status: 'refused', caseId: null, code: 'PD_REAUTH_UNKNOWN_LINK', reason: 'this confirmation link is not one Patchdeck gave out; vote again in chat to get a new one' };
    const caseId = Number(first.case_id);
    // The case's lock serialises two confirmations of one link (and any vote racing them).
    await lockCase(trx, ctx, caseId);
    const row = await trx.selectFrom('pending_votes').selectAll().where('id', '=', first.id).executeTakeFirstOrThrow();
    const now = ctx.clock.now().toISOString();
    const audit = async (action: string, after: Record<string, unknown>) =>
      recordChange(trx, ctx, { audit: [{ actor: input.personId, action, subjectType: 'case', subjectId: caseId, after: { pendingVoteId: Number(row.id), ...after } }] });
    const refuse = async (code: string, reason: string, voidIt: boolean): Promise<ConfirmPendingVoteResult> => {
      if (voidIt) await trx.updateTable('pending_votes').set({ status: 'void', resolved_at: now, void_reason: reason }).where('id', '=', row.id).execute();
      await audit('vote.reauth_refused', { code, reason });
      return { status: 'refused', caseId, code, reason };
    };
    if (row.person !== input.personId) return refuse('PD_REAUTH_OTHER_PERSON', `this link confirms a vote of ${row.person}; sign in as that person or vote yourself in chat`, false);
    if (row.status !== 'pending_reauth') return refuse('PD_REAUTH_USED', row.status === 'confirmed' ? 'this vote was already confirmed' : `this vote can no longer be confirmed (${row.void_reason ?? 'void'}); vote again in chat`, false);
    if (Date.parse(row.expires_at) <= ctx.clock.now().getTime()) return refuse('PD_REAUTH_EXPIRED', 'this confirmation link has expired; vote again in chat to get a new one', true);
    const result = await castVoteIn(trx, ctx, {
      caseId,
      stage: row.stage as VoteStage,
      personId: row.person,
      decision: row.decision as VoteDecision,
      via: row.via as Channel,
      ...(row.comment === null ? {} : { comment: row.comment }),
      ...(row.plan_hash === null ? {} : { planHash: row.plan_hash }),
      reauthenticated: true,
    });
    if (result.status === 'refused') return refuse(result.code, result.reason, true);
    await trx.updateTable('pending_votes').set({ status: 'confirmed', resolved_at: now }).where('id', '=', row.id).execute();
    await audit('vote.reauth_confirmed', { stage: row.stage, decision: row.decision, via: row.via, authTime: input.authTime.toISOString(), outcome: result.outcome });
    return { status: 'confirmed', caseId, vote: result };
  });
}
