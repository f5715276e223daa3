import type { Application } from 'express';
import { SEVERITIES, severityRank, type CaseState } from '../../core/types.js';
import { listCases, type CaseListItem } from '../../store/queries/cases.js';
import { listConsoleMessages } from '../../store/queries/web.js';
import { describeConsoleMessage } from '../console-messages.js';
import { readViewer, sendPage, type WebContext } from '../web-context.js';

/** States after which a case needs nothing more from anyone. */
export const CLOSED_CASE_STATES: ReadonlySet<CaseState> = new Set(['completed', 'reviewed', 'rejected', 'not_applicable', 'mitigated']);

/** "Due soon" on the dashboard: the SLA ends within this window. */
export const DUE_SOON_MS = 72 * 3_600_000;
const CONSOLE_MESSAGES_SHOWN = 20;

function byUrgency(a: CaseListItem, b: CaseListItem): number {
  return severityRank(b.severity) - severityRank(a.severity) || a.dueAt.localeCompare(b.dueAt) || a.id - b.id;
}

export function registerDashboardRoutes(app: Application, web: WebContext): void {
  app.get('/', async (req, res) => {
    const viewer = readViewer(web, req);
    const now = web.ctx.clock.now().getTime();
    const cases = await listCases(web.ctx.store.db);
    const open = cases.filter((c) => !CLOSED_CASE_STATES.has(c.state)).sort(byUrgency);
    const closed = cases.filter((c) => CLOSED_CASE_STATES.has(c.state)).sort((a, b) => b.id - a.id);
    const overdue = open.filter((c) => Date.parse(c.dueAt) < now);
    const dueSoon = open.filter((c) => Date.parse(c.dueAt) >= now && Date.parse(c.dueAt) < now + DUE_SOON_MS);
    const bySeverity = [...SEVERITIES].reverse().map((severity) => ({ severity, count: open.filter((c) => c.severity === severity).length }));
    const messages = web.slackEnabled
      ? []
      : (await listConsoleMessages(web.ctx.store.db, CONSOLE_MESSAGES_SHOWN)).flatMap((row) => describeConsoleMessage(row) ?? []);
    sendPage(web, res, 'dashboard', { title: 'Dashboard', viewer }, {
      now: new Date(now).toISOString(),
      bySeverity,
      openCount: open.length,
      open,
      closed,
      overdue,
      dueSoon,
      dueSoonHours: DUE_SOON_MS / 3_600_000,
      showConsole: !web.slackEnabled,
      messages,
      signedIn: viewer.person !== null,
    });
  });
}
