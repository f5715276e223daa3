import type { Application, Request, Response } from 'express';
import { PatchdeckError } from '../../core/errors.js';
import { TARGET_STATES, type VoteDecision, type VoteStage } from '../../core/types.js';
import { getCaseView, type RolloutSummary } from '../../store/queries/cases.js';
import { listCaseDeployedArtifacts } from '../../store/queries/artifacts.js';
import { listWaitingVotes } from '../../store/queries/pending-votes.js';
import { listCaseExposures } from '../../store/queries/web.js';
import { dayInZone, formatInZone } from '../../core/time.js';
import { deferCase, REAUTH_WEB_CODE, type CastVoteResult } from '../../workflow/approvals.js';
import { describeReviewPage } from '../review-view.js';
import {
  isBrowserNavigation,
  notFound,
  parseId,
  readViewer,
  sendPage,
  type Flash,
  type WebContext,
} from '../web-context.js';
import { formBody, formFields, isFreshAuthentication, redirectToProvider, refuseForgedPost } from './auth.js';

type Outcome = Extract<CastVoteResult, { status: 'recorded' }>['outcome'];

const OUTCOME_MESSAGES: Record<Outcome, string> = {
  pending: 'Your vote was recorded. The case still needs more approvals.',
  approved: 'Your vote was recorded: the case is approved.',
  rejected: 'Your vote was recorded: the case is rejected.',
  signed_off: 'Your sign-off was recorded: the rollout continues past the pilot.',
};

const MAX_COMMENT = 2000;
const DAY_MS = 86_400_000;
const DEFERRED_FLASH = 'deferred';
const VIA_LABELS: Record<string, string> = { slack: 'Slack', teams: 'Microsoft Teams', web: 'the web console', cli: 'the CLI' };

/** HTTP status for a refused vote: who may not (403), not now (409), no such case (404). */
const REFUSAL_STATUS: Record<string, number> = {
  PD_VOTE_NO_CASE: 404,
  PD_VOTE_BAD_DECISION: 400,
  PD_VOTE_WRONG_STAGE: 409,
  PD_VOTE_NOT_AWAITING: 409,
  PD_VOTE_SEALED: 409,
};

export function describeRollout(rollout: RolloutSummary | null) {
  if (!rollout) return null;
  const count = (state: (typeof TARGET_STATES)[number]) => rollout.byState[state] ?? 0;
  return {
    ...rollout,
    counts: TARGET_STATES.filter((s) => count(s) > 0).map((state) => ({ state, count: count(state) })),
    // Patched: the install went through (with its reboot, where one was needed).
    patched: count('installed') + count('rebooted') + count('verified'),
    failed: count('failed') + count('reboot_failed'),
    active: rollout.state === 'piloting' || rollout.state === 'deploying',
    finished: rollout.state === 'completed' || rollout.state === 'halted',
  };
}

interface CasePageExtras {
  status?: number;
  flash?: Flash | null;
}

async function renderCasePage(web: WebContext, req: Request, res: Response, caseId: number, extras: CasePageExtras = {}): Promise<void> {
  const view = await getCaseView(web.ctx.store.db, caseId);
  if (!view) throw notFound('case', caseId);
  const exposures = await listCaseExposures(web.ctx.store.db, caseId);
  const viewer = readViewer(web, req);
  const people = web.ctx.config.people;
  const nameOf = (id: string) => people.find((p) => p.id === id)?.name ?? id;
  const myVotes = viewer.person ? view.votes.filter((v) => v.person === viewer.person!.id) : [];
  const myVoteAt = (stage: VoteStage) => myVotes.find((v) => v.stage === stage) ?? null;
  const zone = web.ctx.config.timezone;
  const waiting = await listWaitingVotes(web.ctx.store.db, caseId, web.ctx.clock.now());
  sendPage(web, res, 'case', { status: extras.status ?? 200, title: `Case #${view.id}`, viewer, flash: extras.flash ?? null }, {
    case: view,
    kev: view.advisory.kev,
    exposures,
    openExposures: exposures.filter((e) => e.status === 'open').length,
    votes: view.votes.map((v) => ({ ...v, name: nameOf(v.person) })),
    // Chat votes not counted until their voter signs in again (critical rules with requireReauth).
    waitingVotes: waiting.map((v) => ({ ...v, name: nameOf(v.person), viaLabel: VIA_LABELS[v.via] ?? v.via, until: formatInZone(v.expiresAt, zone) })),
    rollout: describeRollout(view.rollout),
    signedIn: viewer.person !== null,
    loginHref: `/login?next=${encodeURIComponent(`/cases/${view.id}`)}`,
    approvalOpen: view.state === 'awaiting_approval',
    signoffOpen: view.rollout?.state === 'awaiting_signoff',
    myApproval: myVoteAt('approval'),
    mySignoff: myVoteAt('pilot_signoff'),
    approversGroup: web.ctx.config.approvals.approversGroup,
    quorum: web.ctx.config.approvals.quorum,
    // The defer form's date picker: the earliest day it offers is tomorrow in the team's zone.
    deferMinDay: dayInZone(new Date(web.ctx.clock.now().getTime() + DAY_MS), web.ctx.config.timezone),
    timezone: zone,
    deferredUntil: view.state === 'deferred' ? await deferredUntilOf(web, caseId) : null,
  });
}

async function deferredUntilOf(web: WebContext, caseId: number): Promise<string | null> {
  const row = await web.ctx.store.db.selectFrom('cases').select('deferred_until').where('id', '=', caseId).executeTakeFirst();
  return row?.deferred_until ? formatInZone(row.deferred_until, web.ctx.config.timezone) : null;
}

function flashFromQuery(value: unknown): Flash | null {
  if (value === DEFERRED_FLASH) return { tone: 'ok', text: 'The case was deferred: it asks for approval again on the day you picked.' };
  return typeof value === 'string' && Object.hasOwn(OUTCOME_MESSAGES, value) ? { tone: 'ok', text: OUTCOME_MESSAGES[value as Outcome] } : null;
}

/** The signed-in person, or null after answering (sign-in redirect, 401, or a forged post refused). */
function voterOrAnswer(web: WebContext, req: Request, res: Response, caseId: number) {
  const viewer = readViewer(web, req);
  if (!viewer.person) {
    if (isBrowserNavigation(req)) res.redirect(303, `/login?next=${encodeURIComponent(`/cases/${caseId}`)}`);
    else res.status(401).type('text').send('Sign in at /login before voting.\n');
    return null;
  }
  if (refuseForgedPost(web, req, res)) return null;
  return viewer.person;
}

export function registerCaseRoutes(app: Application, web: WebContext): void {
  app.get('/cases/:id', async (req, res) => {
    const caseId = parseId(req.params.id, 'case');
    await renderCasePage(web, req, res, caseId, { flash: flashFromQuery(req.query.vote) });
  });

  app.post('/cases/:id/votes', formBody, async (req, res) => {
    const caseId = parseId(req.params.id, 'case');
    const person = voterOrAnswer(web, req, res, caseId);
    if (person === null) return;
    const fields = formFields(req);
    const stage = fields.stage;
    const decision = fields.decision;
    const comment = typeof fields.comment === 'string' ? fields.comment.trim() : '';
    if ((stage !== 'approval' && stage !== 'pilot_signoff') || (decision !== 'approve' && decision !== 'reject')) {
      throw new PatchdeckError('PD_WEB_BAD_VOTE', 'The vote form was incomplete: it needs a stage (approval or pilot_signoff) and a decision (approve or reject).', { status: 400 });
    }
    if (comment.length > MAX_COMMENT) {
      throw new PatchdeckError('PD_WEB_BAD_VOTE', `The comment is too long (${comment.length} characters; at most ${MAX_COMMENT}).`, { status: 400 });
    }
    // A reject (of an approval or a pilot) needs a reason (the dashboard's Reject buttons land here without one: the page asks).
    if (decision === 'reject' && comment === '') {
      await renderCasePage(web, req, res, caseId, { status: 400, flash: { tone: 'error', text: 'Your vote was not recorded: say why you reject (a reason is required). Write it in the reason field and press Reject again.' } });
      return;
    }
    // Who votes comes from the signed session only; the form names the case, stage and decision.
    const session = readViewer(web, req).session;
    const fresh = session !== null && session.method === 'oidc' && isFreshAuthentication(web, session.authTime);
    const result = await web.services.castVote(web.ctx, {
      caseId,
      stage: stage as VoteStage,
      personId: person.id,
      decision: decision as VoteDecision,
      via: 'web',
      ...(comment === '' ? {} : { comment }),
      ...(fresh ? { reauthenticated: true } : {}),
    });
    if (result.status === 'refused' && result.code === REAUTH_WEB_CODE) {
      // Sign in again at the provider (prompt=login, max_age), then back to the case to vote again.
      await redirectToProvider(web, res, `/cases/${caseId}#votes`, true);
      return;
    }
    if (result.status === 'recorded') {
      res.redirect(303, `/cases/${caseId}?vote=${result.outcome}#votes`);
      return;
    }
    const status = REFUSAL_STATUS[result.code] ?? 403;
    if (status === 404) throw notFound('case', caseId);
    await renderCasePage(web, req, res, caseId, { status, flash: { tone: 'error', text: `Your vote was not recorded: ${result.reason}` } });
  });

  app.post('/cases/:id/defer', formBody, async (req, res) => {
    const caseId = parseId(req.params.id, 'case');
    const person = voterOrAnswer(web, req, res, caseId);
    if (person === null) return;
    const fields = formFields(req);
    const reason = typeof fields.reason === 'string' ? fields.reason.trim() : '';
    const until = typeof fields.until === 'string' ? fields.until.trim() : '';
    const problem =
      reason === ''
        ? 'say why the case is deferred (a reason is required)'
        : reason.length > MAX_COMMENT
          ? `the reason is too long (${reason.length} characters; at most ${MAX_COMMENT})`
          : until === ''
            ? 'pick the day the case asks for approval again'
            : null;
    if (problem !== null) {
      await renderCasePage(web, req, res, caseId, { status: 400, flash: { tone: 'error', text: `The case was not deferred: ${problem}.` } });
      return;
    }
    // The day is the team's (config timezone): deferCase turns it into the start of that day there.
    const result = await deferCase(web.ctx, { caseId, personId: person.id, reason, via: 'web', untilDay: until });
    if (result.status === 'deferred') {
      res.redirect(303, `/cases/${caseId}?vote=${DEFERRED_FLASH}`);
      return;
    }
    const status = result.code.startsWith('PD_DEFER_') ? 400 : REFUSAL_STATUS[result.code] ?? 403;
    if (status === 404) throw notFound('case', caseId);
    await renderCasePage(web, req, res, caseId, { status, flash: { tone: 'error', text: `The case was not deferred: ${result.reason}` } });
  });

  app.get('/cases/:id/review', async (req, res) => {
    const caseId = parseId(req.params.id, 'case');
    const view = await getCaseView(web.ctx.store.db, caseId);
    if (!view) throw notFound('case', caseId);
    const review = await web.services.buildReview(web.ctx, caseId);
    sendPage(web, res, 'review', { title: `Review of case #${caseId}`, viewer: readViewer(web, req) }, {
      case: view,
      ...describeReviewPage(review),
      deployedArtifacts: await listCaseDeployedArtifacts(web.ctx.store.db, caseId),
    });
  });
}
