import type { Application } from 'express';
import { PatchdeckError } from '../../core/errors.js';
import { parseRebootActionValue } from '../../core/messages.js';
import { decideReboot } from '../../workflow/reboots.js';
import { isBrowserNavigation, parseId, readViewer, sendErrorPage, type WebContext } from '../web-context.js';
import { formBody, formFields, refuseForgedPost } from './auth.js';

/**
 * The web console's answer to a reboot notice (the console notifier's "DM"): the signed-in person is
 * the one deciding, the form only carries the button's value. Refusals are shown, not hidden.
 */
export function registerRebootRoutes(app: Application, web: WebContext): void {
  app.post('/reboots/:id', formBody, async (req, res) => {
    const noticeId = parseId(req.params.id, 'reboot notice');
    const viewer = readViewer(web, req);
    if (!viewer.person) {
      if (isBrowserNavigation(req)) res.redirect(303, '/login?next=/');
      else res.status(401).type('text').send('Sign in at /login before answering a reboot notice.\n');
      return;
    }
    if (refuseForgedPost(web, req, res)) return;
    const value = formFields(req).value;
    const parsed = typeof value === 'string' ? parseRebootActionValue(value) : null;
    if (parsed === null || parsed.noticeId !== noticeId) {
      throw new PatchdeckError('PD_WEB_BAD_REBOOT', 'The reboot form was incomplete: reload the dashboard and use its buttons.', { status: 400 });
    }
    const result = await decideReboot(web.ctx, {
      noticeId,
      personId: viewer.person.id,
      decision: parsed.decision,
      ...(parsed.decision === 'postpone' ? { postponesSoFar: parsed.postponesSoFar } : {}),
      via: 'web',
    });
    if (result.status === 'refused') {
      sendErrorPage(web, req, res, result.code === 'PD_REBOOT_NO_NOTICE' ? 404 : 403, 'Not recorded', result.reason);
      return;
    }
    res.redirect(303, `/?reboot=${result.status}`);
  });
}
