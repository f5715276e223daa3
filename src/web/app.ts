import path from 'node:path';
import express, { type Application, type NextFunction, type Request, type Response } from 'express';
import { isPatchdeckError } from '../core/errors.js';
import { checkDatabase } from '../store/db.js';
import { castVote } from '../workflow/approvals.js';
import type { WorkflowContext } from '../workflow/context.js';
import { buildReview } from '../workflow/reviews.js';
import { createViewRenderer, VIEWS_DIR } from './render.js';
import { createWebAuth, registerAuthRoutes } from './routes/auth.js';
import { registerCaseRoutes } from './routes/cases.js';
import { registerConfirmRoutes } from './routes/confirm.js';
import { registerComplianceRoutes } from './routes/compliance.js';
import { registerCveRoutes } from './routes/cves.js';
import { registerDashboardRoutes } from './routes/dashboard.js';
import { registerRebootRoutes } from './routes/reboots.js';
import { registerRolloutRoutes } from './routes/rollouts.js';
import { createSessionManager } from './session.js';
import { newErrorReference, sendErrorPage, type WebContext, type WebServices } from './web-context.js';

export interface WebAppDeps {
  ctx: WorkflowContext;
  slackEnabled: boolean;
  /** Mounts routes that must see the request first, with its raw body (the Slack router). */
  beforeRoutes?: (app: Application) => void;
  /** The workflow services behind the pages; tests may replace them. */
  services?: Partial<WebServices>;
  /** The fetch the OpenID Connect client uses (default: the global one). */
  oidcFetch?: typeof fetch;
}

// Pages use no scripts and no inline styles; forms post only to this site.
const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function setSecurityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.set({
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
    'X-Frame-Options': 'DENY',
  });
  next();
}

/**
 * The web console: status pages for managers and the approval forms. Body parsers are attached to
 * the console's own POST routes only, so a router mounted in `beforeRoutes` still gets the raw body.
 */
export function createWebApp(deps: WebAppDeps): Application {
  const { ctx } = deps;
  const web: WebContext = {
    ctx,
    slackEnabled: deps.slackEnabled,
    views: createViewRenderer({ timezone: ctx.config.timezone, now: () => ctx.clock.now() }),
    sessions: createSessionManager({
      secret: ctx.config.web.sessionSecret,
      secureCookie: new URL(ctx.config.publicUrl).protocol === 'https:',
      now: () => ctx.clock.now(),
    }),
    services: { castVote, buildReview, ...deps.services },
    auth: createWebAuth(ctx.config, deps.oidcFetch),
  };

  const app = express();
  app.disable('x-powered-by');
  app.use(setSecurityHeaders);
  deps.beforeRoutes?.(app);

  app.get('/healthz', async (_req, res) => {
    try {
      await checkDatabase(ctx.store);
      res.status(200).json({ status: 'ok', database: 'ok' });
    } catch (error) {
      ctx.logger.warn({ err: error }, 'health check: database unavailable');
      res.status(503).json({ status: 'unavailable', database: 'unavailable' });
    }
  });
  app.use('/static', express.static(path.join(VIEWS_DIR, 'static'), { index: false, maxAge: '1h', fallthrough: true }));

  registerAuthRoutes(app, web);
  registerConfirmRoutes(app, web);
  registerDashboardRoutes(app, web);
  registerCaseRoutes(app, web);
  registerRolloutRoutes(app, web);
  registerRebootRoutes(app, web);
  registerComplianceRoutes(app, web);
  registerCveRoutes(app, web);

  app.use((req, res) => {
    sendErrorPage(web, req, res, 404, 'Page not found', 'There is nothing at this address. Go back to the dashboard.');
  });

  app.use((error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const status = errorStatus(error);
    try {
      if (isPatchdeckError(error) && status < 500) {
        sendErrorPage(web, req, res, status, headingFor(status), error.message);
      } else if (status < 500) {
        // Parser and routing errors (bad encoding, body too large): say what happened, not how.
        sendErrorPage(web, req, res, status, headingFor(status), 'The request could not be read. Check the address or the form and try again.');
      } else {
        const reference = newErrorReference();
        ctx.logger.error({ err: error, reference, method: req.method, path: req.path }, 'web request failed');
        sendErrorPage(web, req, res, 500, 'Something went wrong', 'Patchdeck could not show this page. The error was logged; try again in a moment.', reference);
      }
    } catch (renderError) {
      ctx.logger.error({ err: renderError }, 'web error page failed to render');
      res.status(status >= 400 ? status : 500).type('text').send('Something went wrong.\n');
    }
  });

  return app;
}

function errorStatus(error: unknown): number {
  if (isPatchdeckError(error)) return error.status;
  const status = typeof error === 'object' && error !== null ? (error as { status?: unknown }).status : undefined;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

function headingFor(status: number): string {
  if (status === 400) return 'Bad request';
  if (status === 401) return 'Sign-in needed';
  if (status === 403) return 'Not allowed';
  if (status === 404) return 'Not found';
  if (status === 409) return 'Conflict';
  if (status === 413) return 'Too large';
  return 'Request refused';
}
