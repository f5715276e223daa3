import type { Application } from 'express';
import { PatchdeckError } from '../../core/errors.js';
import { formatDuration } from '../../core/sla.js';
import { DEFAULT_CLASSIFICATION_POLICY } from '../../core/classify.js';
import { listSsvcTree, MISSION_LEVELS, SSVC_DECISIONS, type SsvcDecision } from '../../core/ssvc.js';
import { CRITICALITIES, SEVERITIES } from '../../core/types.js';
import { listHostGroups } from '../../store/queries/compliance.js';
import { slaPolicy } from '../../workflow/assess.js';
import { buildComplianceReport, type GroupCompliance } from '../../workflow/compliance.js';
import { readViewer, sendPage, type WebContext } from '../web-context.js';

const BASELINE_TONE = { meets: 'good', exceeds: 'good', exempt: 'wait', below: 'bad' } as const;
const DECISION_LABEL: Record<SsvcDecision, string> = { track: 'Track', 'track*': 'Track*', attend: 'Attend', act: 'Act' };

function describeGroup(g: GroupCompliance) {
  const closed = g.sla.met + g.sla.missed;
  return { ...g, href: `/compliance/${encodeURIComponent(g.group)}`, metPercent: closed === 0 ? null : Math.round((g.sla.met / closed) * 100) };
}

export function registerComplianceRoutes(app: Application, web: WebContext): void {
  app.get('/compliance', async (req, res) => {
    const report = await buildComplianceReport(web.ctx);
    sendPage(web, res, 'compliance', { title: 'Compliance', viewer: readViewer(web, req) }, { report, groups: report.groups.map(describeGroup), overview: true });
  });

  app.get('/compliance/:group', async (req, res) => {
    const group = String(req.params.group);
    const hasBaseline = web.ctx.config.baselines.some((b) => b.group === group);
    if (!hasBaseline && !(await listHostGroups(web.ctx.store.db)).includes(group)) {
      throw new PatchdeckError('PD_WEB_NOT_FOUND', `No host is in a group named "${group}" and no baseline names it. Go back to the compliance page.`, { status: 404 });
    }
    const report = await buildComplianceReport(web.ctx, { group });
    const summary = report.groups[0]!;
    const baseline = web.ctx.config.baselines.find((b) => b.group === group) ?? null;
    sendPage(web, res, 'compliance', { title: `Compliance: ${group}`, viewer: readViewer(web, req) }, {
      report,
      overview: false,
      group: describeGroup(summary),
      baseline,
      hosts: report.hosts.map((h) => ({ ...h, tone: BASELINE_TONE[h.status] })),
    });
  });

  app.get('/policy', (req, res) => {
    const config = web.ctx.config;
    const policy = config.policy.classification ?? DEFAULT_CLASSIFICATION_POLICY;
    const sla = slaPolicy(config.policy);
    const tree = listSsvcTree();
    const rows = tree
      .filter((r) => r.mission === 'low')
      .map((r) => ({
        exploitation: r.exploitation,
        automatable: r.automatable,
        technicalImpact: r.technicalImpact,
        outcomes: MISSION_LEVELS.map((mission) => {
          const decision = tree.find((t) => t.exploitation === r.exploitation && t.automatable === r.automatable && t.technicalImpact === r.technicalImpact && t.mission === mission)!.decision;
          return { decision: DECISION_LABEL[decision], tone: decision === 'act' ? 'bad' : decision === 'attend' ? 'wait' : 'neutral' };
        }),
      }));
    sendPage(web, res, 'policy', { title: 'Policy', viewer: readViewer(web, req) }, {
      policy,
      epssPercent: Math.round(policy.ssvc.epssActivePercentile * 1000) / 10,
      mission: CRITICALITIES.map((c) => ({ criticality: c, mission: policy.ssvc.missionByCriticality[c] })).reverse(),
      decisions: SSVC_DECISIONS.map((d) => ({ decision: DECISION_LABEL[d], ...policy.ssvc.severityByDecision[d] })).reverse(),
      missionLevels: MISSION_LEVELS,
      rows,
      alertThreshold: config.policy.alertThreshold,
      maxExemption: config.policy.maxExemption,
      slaDefault: [...SEVERITIES].reverse().map((s) => ({ severity: s, duration: formatDuration(sla.defaults[s]) })),
      slaGroups: Object.entries(sla.byGroup)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([group, table]) => ({ group, cells: [...SEVERITIES].reverse().map((s) => (table[s] === undefined ? null : formatDuration(table[s]))) })),
      baselines: config.baselines.map((b) => ({ ...b, href: `/compliance/${encodeURIComponent(b.group)}` })),
    });
  });
}
