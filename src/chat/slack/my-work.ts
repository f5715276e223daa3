import { eligibilityRefusal } from '../../core/approvals.js';
import { findPersonBySlackId } from '../../core/people.js';
import { listOpenDecisions, listRebootsOfOwners, listUnfinishedRolloutsStartedBy, type OpenDecision } from '../../store/queries/my-work.js';
import type { WorkflowContext } from '../../workflow/context.js';
import type { MyWork, ReplyOptions } from './replies.js';

/** More than fits on a Home tab; the rest is in the web console. */
const LISTED = 25;
/** Open decisions scanned for one person's share; a backlog beyond this is a job for the console. */
const SCANNED_DECISIONS = 200;

/** The Patchdeck person id a Slack user acts as: their `people` entry, or a name no policy grants. */
export function personIdForSlackUser(ctx: WorkflowContext, slackUserId: string): string {
  return findPersonBySlackId(ctx.config.people, slackUserId)?.id ?? `slack:${slackUserId}`;
}

/**
 * Loads what waits for a Slack user: decisions they may take and have not taken (the same eligibility
 * rules the approval service applies), rollouts they started, and reboots of hosts whose inventory
 * `owner` is their person id or e-mail address.
 */
export async function loadMyWork(ctx: WorkflowContext, slackUserId: string): Promise<MyWork> {
  const person = findPersonBySlackId(ctx.config.people, slackUserId);
  if (person === null) return { person: null, approvals: [], signoffs: [], rollouts: [], reboots: [] };
  const policy = { approversGroup: ctx.config.approvals.approversGroup, quorum: ctx.config.approvals.quorum };
  const awaitsMe = (d: OpenDecision) =>
    !d.votes.some((v) => v.person === person.id) &&
    eligibilityRefusal(d.stage, person.id, ctx.config.people, { caseState: d.caseState, requestedBy: d.requestedBy, rollout: d.rollout }, policy) === null;
  const decisions = (await listOpenDecisions(ctx.store.db, { limit: SCANNED_DECISIONS })).filter(awaitsMe);
  const owners = [person.id, ...(person.email ? [person.email] : [])];
  return {
    person,
    approvals: decisions.filter((d) => d.stage === 'approval').slice(0, LISTED),
    signoffs: decisions.filter((d) => d.stage === 'pilot_signoff').slice(0, LISTED),
    rollouts: await listUnfinishedRolloutsStartedBy(ctx.store.db, person.id, { limit: LISTED }),
    reboots: await listRebootsOfOwners(ctx.store.db, owners, { limit: LISTED }),
  };
}

/** What the reply builders need to know about the team, read now. */
export function replyOptionsFor(ctx: WorkflowContext): ReplyOptions {
  return { publicUrl: ctx.config.publicUrl.replace(/\/+$/, ''), timezone: ctx.config.timezone, now: ctx.clock.now(), people: ctx.config.people };
}
