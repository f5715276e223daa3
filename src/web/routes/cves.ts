import type { Application } from 'express';
import { normalizeCveId, type CveView, type SourceAuthority } from '../../core/cve-merge.js';
import { PatchdeckError } from '../../core/errors.js';
import { getCveView, listCasesForCve, listRecentCves } from '../../store/queries/cve-view.js';
import { readViewer, sendPage, type WebContext } from '../web-context.js';

const AUTHORITY_TONE: Record<SourceAuthority, string> = { vendor: 'good', distro: 'good', osv: 'active', kev: 'bad', hint: 'wait' };
const STATUS_BADGE: Record<CveView['status'], { tone: string; text: string }> = {
  confirmed: { tone: 'good', text: 'confirmed' },
  awaiting_confirmation: { tone: 'wait', text: 'awaiting vendor confirmation' },
  withdrawn: { tone: 'bad', text: 'withdrawn' },
  unknown: { tone: 'neutral', text: 'unknown' },
};

/** CVEs listed on the index page. */
const RECENT_CVES = 100;

/**
 * `/cves`: the newest CVEs and a form to look one up (`?id=` redirects to its page); `/cves/:id`: one
 * CVE merged from every stored advisory that names it (core/cve-merge.ts).
 */
export function registerCveRoutes(app: Application, web: WebContext): void {
  app.get('/cves', async (req, res) => {
    if (typeof req.query.id === 'string' && req.query.id.trim() !== '') {
      res.redirect(303, `/cves/${encodeURIComponent(normalizeCveId(req.query.id))}`);
      return;
    }
    const cves = await listRecentCves(web.ctx.store.db, RECENT_CVES);
    sendPage(web, res, 'cves', { title: 'CVEs', viewer: readViewer(web, req) }, { cves, limit: RECENT_CVES });
  });

  app.get('/cves/:id', async (req, res) => {
    const cve = normalizeCveId(String(req.params.id));
    const view = await getCveView(web.ctx.store.db, cve);
    if (view === null) {
      throw new PatchdeckError('PD_WEB_NOT_FOUND', `No stored advisory names ${cve} yet. Check the id, or wait for the next feed run.`, { status: 404 });
    }
    const cases = await listCasesForCve(web.ctx.store.db, cve);
    sendPage(web, res, 'cve', { title: cve, viewer: readViewer(web, req) }, {
      view,
      cases,
      statusBadge: STATUS_BADGE[view.status],
      hintOnly: view.status === 'awaiting_confirmation',
      sources: view.sources.map((s) => ({ ...s, tone: AUTHORITY_TONE[s.authority] })),
      hasFix: view.packages.length + view.remediations.length + view.notes.length > 0,
      // MSRC writes the KB number as the remediation's text; say it once.
      remediations: view.remediations.map((r) => ({ ...r, text: r.kb && (r.details === r.kb || `KB${r.details}` === r.kb) ? '' : r.details })),
      epssPercent: view.epss === null ? null : (view.epss.epss * 100).toFixed(1),
      epssPercentile: view.epss === null ? null : Math.round(view.epss.percentile * 100),
    });
  });
}
