import type { Application, Request, Response } from 'express';
import { confirmPendingVote, CONFIRM_PATH_PREFIX, findPendingVote, type PendingVoteView } from '../../workflow/reauth.js';
import { readViewer, sendErrorPage, sendPage, type Viewer, type WebContext } from '../web-context.js';
import { formBody, isFreshAuthentication, redirectToProvider, refuseForgedPost } from './auth.js';

const DECISION_WORDS: Record<string, string> = { approve: 'approve', reject: 'reject' };

function tokenOf(req: Request): string {
  const token = req.params.token;
  return typeof token === 'string' ? token : '';
}

/**
 * Checks what opening a confirmation link needs, answering the browser itself when something is
 * missing: a link Patchdeck gave out and still open, the OpenID Connect mode, and a session of the
 * voter whose provider sign-in is fresher than web.auth.reauthMaxAge (else: to the provider with
 * prompt=login and max_age). Returns the pending vote and viewer when all is there.
 */
async function admit(web: WebContext, req: Request, res: Response): Promise<{ pending: PendingVoteView; viewer: Viewer } | null> {
  const token = tokenOf(req);
  const pending = /^[A-Za-z0-9_-]{20,100}$/.test(token) ? await findPendingVote(web.ctx, token) : null;
  if (pending === null) {
    sendErrorPage(web, req, res, 404, 'Link not recognised', 'This confirmation link is not one Patchdeck gave out. Vote again in chat to get a new one.');
    return null;
  }
  if (pending.status !== 'pending_reauth' || pending.expired) {
    const why = pending.status === 'confirmed' ? 'This vote was already confirmed.' : pending.expired && pending.status === 'pending_reauth' ? 'This confirmation link has expired.' : `This vote can no longer be confirmed (${pending.voidReason ?? 'void'}).`;
    sendErrorPage(web, req, res, 410, 'Link no longer valid', `${why} Vote again in chat if a decision is still needed.`);
    return null;
  }
  if (web.auth.mode !== 'oidc') {
    sendErrorPage(web, req, res, 403, 'Sign-in needed', 'Confirming a vote needs sign-in at an identity provider (web.auth.mode: oidc). Vote on the web console instead.');
    return null;
  }
  const viewer = readViewer(web, req);
  const session = viewer.session;
  if (viewer.person === null || session === null || session.method !== 'oidc' || !isFreshAuthentication(web, session.authTime)) {
    await redirectToProvider(web, res, `${CONFIRM_PATH_PREFIX}${token}`, true);
    return null;
  }
  if (viewer.person.id !== pending.person) {
    sendErrorPage(web, req, res, 403, 'Not your vote', `This link confirms a vote of ${pending.person}; you are signed in as ${viewer.person.id}. Sign out and sign in as that person, or vote yourself in chat.`);
    return null;
  }
  return { pending, viewer };
}

export function registerConfirmRoutes(app: Application, web: WebContext): void {
  app.get(`${CONFIRM_PATH_PREFIX}:token`, async (req, res) => {
    const admitted = await admit(web, req, res);
    if (admitted === null) return;
    const { pending, viewer } = admitted;
    sendPage(web, res, 'confirm-vote', { title: 'Confirm your vote', viewer }, {
      caseId: pending.caseId,
      decisionWords: DECISION_WORDS[pending.decision] ?? pending.decision,
      via: pending.via === 'teams' ? 'Microsoft Teams' : pending.via === 'slack' ? 'Slack' : pending.via,
      planShort: pending.planHash === null ? 'not bound' : pending.planHash.slice(0, 12),
      expiresAt: pending.expiresAt,
      comment: pending.comment,
      action: `${CONFIRM_PATH_PREFIX}${tokenOf(req)}`,
    });
  });

  app.post(`${CONFIRM_PATH_PREFIX}:token`, formBody, async (req, res) => {
    if (refuseForgedPost(web, req, res)) return;
    const admitted = await admit(web, req, res);
    if (admitted === null) return;
    const { viewer } = admitted;
    const result = await confirmPendingVote(web.ctx, { token: tokenOf(req), personId: viewer.person!.id, authTime: new Date(viewer.session!.authTime!) });
    if (result.status === 'refused') {
      sendErrorPage(web, req, res, 409, 'Vote not counted', `Not counted: ${result.reason}.`);
      return;
    }
    res.redirect(303, `/cases/${result.caseId}`);
  });
}
