import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { findPersonById, type PersonRecord } from '../core/people.js';
import type { Review } from '../core/review.js';
import { PatchdeckError } from '../core/errors.js';
import type { CastVoteInput, CastVoteResult } from '../workflow/approvals.js';
import type { WorkflowContext } from '../workflow/context.js';
import type { OidcClient } from './oidc.js';
import type { ViewRenderer } from './render.js';
import type { SessionManager, WebSession } from './session.js';

/** The workflow services the web face calls; tests may stand in their own. */
export interface WebServices {
  castVote(ctx: WorkflowContext, input: CastVoteInput): Promise<CastVoteResult>;
  buildReview(ctx: WorkflowContext, caseId: number): Promise<Review>;
}

/** Everything a route needs, built once per app. */
export interface WebContext {
  ctx: WorkflowContext;
  slackEnabled: boolean;
  views: ViewRenderer;
  sessions: SessionManager;
  services: WebServices;
  auth: WebAuth;
}

/** How people sign in to the console (config `web.auth`). */
export interface WebAuth {
  mode: 'demo' | 'oidc';
  /** Set in `oidc` mode. */
  oidc: OidcClient | null;
  /** The callback path of the redirect URL (oidc mode). */
  callbackPath: string;
  /** How old a provider sign-in may be for a critical vote (config `web.auth.reauthMaxAge`). */
  reauthMaxAgeMs: number;
}

export interface Viewer {
  session: WebSession | null;
  person: PersonRecord | null;
}

/** Who is looking: a person only while the session names someone still in config.people. */
export function readViewer(web: WebContext, req: Request): Viewer {
  const session = web.sessions.read(req);
  const person = session?.personId ? findPersonById(web.ctx.config.people, session.personId) : null;
  return { session, person };
}

export interface Flash {
  tone: 'ok' | 'error' | 'info';
  text: string;
}

export interface PageOptions {
  status?: number;
  title: string;
  viewer: Viewer;
  flash?: Flash | null;
  refreshSeconds?: number;
}

export function sendPage(web: WebContext, res: Response, page: string, options: PageOptions, data: Record<string, unknown>): void {
  const html = web.views.render(page, {
    ...data,
    pageTitle: options.title,
    person: options.viewer.person,
    // The form token is only rendered for signed-in people (sign-out, votes); the login page passes its own.
    csrf: options.viewer.person ? options.viewer.session?.csrf : data.csrf,
    flash: options.flash ?? null,
    refreshSeconds: options.refreshSeconds ?? null,
    slackEnabled: web.slackEnabled,
  });
  res.status(options.status ?? 200).type('html').send(html);
}

export function sendErrorPage(web: WebContext, req: Request, res: Response, status: number, heading: string, message: string, reference?: string): void {
  sendPage(web, res, 'error', { status, title: heading, viewer: readViewer(web, req) }, { status, heading, message, reference: reference ?? null });
}

/** Page ids are positive integers that fit a 32-bit column; anything else is a malformed URL (400). */
export function parseId(text: string | string[] | undefined, what: string): number {
  const value = Array.isArray(text) ? text[0] : text;
  if (value === undefined || !/^[1-9][0-9]{0,9}$/.test(value) || Number(value) > 2_147_483_647) {
    throw new PatchdeckError('PD_WEB_BAD_ID', `"${String(value)}" is not a valid ${what} number; use the number shown in the case list.`, { status: 400 });
  }
  return Number(value);
}

export function notFound(what: string, id: number): PatchdeckError {
  return new PatchdeckError('PD_WEB_NOT_FOUND', `There is no ${what} #${id}. It may have been removed; go back to the dashboard.`, { status: 404 });
}

/** A browser navigating (form post, link) gets HTML and redirects; scripts get status codes. */
export function isBrowserNavigation(req: Request): boolean {
  if (req.get('sec-fetch-mode') === 'navigate') return true;
  return (req.get('accept') ?? '').includes('text/html');
}

export function newErrorReference(): string {
  return randomBytes(4).toString('hex');
}
