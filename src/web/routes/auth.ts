import express, { type Application, type Request, type Response } from 'express';
import { findPersonById } from '../../core/people.js';
import { isCrossOriginPost } from '../session.js';
import { readViewer, sendErrorPage, sendPage, type WebContext } from '../web-context.js';

export const formBody = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });

export function formFields(req: Request): Record<string, unknown> {
  return typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {};
}

/** Where to go after signing in: only a path on this site, never `//other.example` or a full URL. */
export function safeNextPath(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.includes('\\') || value.length > 200) return '/';
  return value;
}

/** Refuses a POST from another site or without this session's form token; true when refused. */
export function refuseForgedPost(web: WebContext, req: Request, res: Response): boolean {
  if (isCrossOriginPost(req, web.ctx.config.publicUrl)) {
    sendErrorPage(web, req, res, 403, 'Request refused', 'This form was sent from another site. Open Patchdeck directly and try again.');
    return true;
  }
  const session = web.sessions.read(req);
  if (!session || !web.sessions.checkCsrf(session, formFields(req).csrf)) {
    sendErrorPage(web, req, res, 403, 'Form expired', 'This form has expired or did not come from this page. Reload the page and try again.');
    return true;
  }
  return false;
}

function renderLogin(web: WebContext, req: Request, res: Response, status: number, error: string | null, next: string): void {
  const session = web.sessions.ensure(req, res);
  const viewer = readViewer(web, req);
  const people = web.ctx.config.people.map((p) => ({ id: p.id, name: p.name, groups: p.groups.join(', ') }));
  sendPage(web, res, 'login', { status, title: 'Sign in', viewer }, { people, csrf: session.csrf, next, error, approversGroup: web.ctx.config.approvals.approversGroup });
}

export function registerAuthRoutes(app: Application, web: WebContext): void {
  app.get('/login', (req, res) => {
    renderLogin(web, req, res, 200, null, safeNextPath(req.query.next));
  });

  app.post('/login', formBody, (req, res) => {
    if (refuseForgedPost(web, req, res)) return;
    const fields = formFields(req);
    const next = safeNextPath(fields.next);
    const person = typeof fields.person === 'string' ? findPersonById(web.ctx.config.people, fields.person) : null;
    if (!person) {
      renderLogin(web, req, res, 400, 'Choose one of the people listed below.', next);
      return;
    }
    web.sessions.issue(res, person.id);
    web.ctx.logger.info({ person: person.id }, 'web console sign-in');
    res.redirect(303, next);
  });

  app.post('/logout', formBody, (req, res) => {
    if (refuseForgedPost(web, req, res)) return;
    web.sessions.issue(res, null);
    res.redirect(303, '/');
  });
}
