import { parseDurationMs } from '../config/schema.js';
import { classifyExposure, DEFAULT_CLASSIFICATION_POLICY } from '../core/classify.js';
import { matchAdvisory, type MatchResult } from '../core/matching.js';
import { routeCase } from '../core/routing.js';
import { holdExposure, type Exemption } from '../core/exemptions.js';
import { chooseSla, computeDueAt, type SlaDurations, type SlaPolicy } from '../core/sla.js';
import { formatInZone } from '../core/time.js';
import { SEVERITIES, severityRank, type KevFacts, type Severity } from '../core/types.js';
import type { Executor } from '../store/db.js';
import { fromJson, toJson } from '../store/json.js';
import { listExemptions } from '../store/queries/exemptions.js';
import {
  listMatchCandidates,
  loadAdvisoryFacts,
  loadHostFacts,
  loadKevByCve,
  type AdvisoryFacts,
  type HostFacts,
} from '../store/queries/exposures.js';
import { getEpss, type EpssFact } from '../store/queries/epss.js';
import { chunk } from '../store/queries/hosts.js';
import { refreshApprovalPlan } from './approvals.js';
import { recordChange, type ChangeRecord, type WorkflowContext } from './context.js';
import { expireDueExemptions } from './exemptions.js';
import { JOB_KINDS } from './jobs.js';

export interface AssessResult {
  exposures: { new: number; unchanged: number; resolved: number };
  casesOpened: number[];
}

/** An exposure as assessment computes it now. */
interface Finding {
  hostId: number;
  advisoryId: string;
  ecosystem: string;
  package: string;
  installed: string;
  fixed: string | null;
  severity: Severity;
  reasons: string[];
}

const keyOf = (hostId: number, advisoryId: string, ecosystem: string, pkg: string) => `${hostId}\u0000${advisoryId}\u0000${ecosystem}\u0000${pkg}`;

/** The KEV entry that weighs most among an advisory's CVEs: ransomware use first, then the oldest. */
function kevFor(advisory: AdvisoryFacts, kevByCve: Map<string, KevFacts>): KevFacts | null {
  const entries = [advisory.kev, ...advisory.cves.map((cve) => kevByCve.get(cve) ?? null)].filter((k): k is KevFacts => k !== null);
  entries.sort((a, b) => Number(b.knownRansomwareCampaignUse) - Number(a.knownRansomwareCampaignUse) || a.dateAdded.localeCompare(b.dateAdded));
  return entries[0] ?? null;
}

/** The EPSS score that weighs most among an advisory's CVEs: the highest percentile. */
function epssFor(advisory: AdvisoryFacts, epssByCve: Map<string, EpssFact>): (EpssFact & { cve: string }) | null {
  const scores = advisory.cves.flatMap((cve) => {
    const score = epssByCve.get(cve);
    return score === undefined ? [] : [{ cve, ...score }];
  });
  scores.sort((a, b) => b.percentile - a.percentile || a.cve.localeCompare(b.cve));
  return scores[0] ?? null;
}

export function slaDurations(sla: Record<Severity, string>): SlaDurations {
  return Object.fromEntries(SEVERITIES.map((s) => [s, parseDurationMs(sla[s])])) as SlaDurations;
}

/** `policy.sla` and `policy.slaByGroup`, parsed. */
export function slaPolicy(policy: WorkflowContext['config']['policy']): SlaPolicy {
  const byGroup: SlaPolicy['byGroup'] = {};
  for (const [group, table] of Object.entries(policy.slaByGroup)) {
    byGroup[group] = Object.fromEntries(
      SEVERITIES.flatMap((s) => (table[s] === undefined ? [] : [[s, parseDurationMs(table[s])]])),
    ) as Partial<SlaDurations>;
  }
  return { defaults: slaDurations(policy.sla), byGroup };
}

/**
 * Matches every authoritative, non-withdrawn advisory against every host's packages (only pairs that
 * share ecosystem and package name are version-checked), stores the exposures with severity, reasons
 * and due time, resolves those no longer found, and opens a case for each advisory whose worst open
 * exposure reaches `policy.alertThreshold`. One transaction, audited, with one alert job per new case.
 */
export async function assessAll(ctx: WorkflowContext, options: { actor: string }): Promise<AssessResult> {
  const now = ctx.clock.now();
  const nowIso = now.toISOString();
  const policy = ctx.config.policy.classification ?? DEFAULT_CLASSIFICATION_POLICY;
  const sla = slaPolicy(ctx.config.policy);

  return ctx.store.transaction(async (trx) => {
    // Exemptions that ran out re-open what they held before anything is matched.
    await expireDueExemptions(trx, ctx, options.actor);
    const candidates = await listMatchCandidates(trx);
    const advisories = await loadAdvisoryFacts(trx, candidates.map((c) => c.advisoryId));
    const kevByCve = await loadKevByCve(trx);
    const epssByCve = await getEpss(trx, [...new Set([...advisories.values()].flatMap((a) => a.cves))]);
    const hosts = await loadHostFacts(trx);
    const exemptions = await listExemptions(trx);

    // Fleets run the same versions: decide each (advisory, package, version) once.
    const matches = new Map<string, MatchResult>();
    const kevByAdvisory = new Map<string, KevFacts | null>();
    const findings = new Map<string, Finding>();
    /** Exposures whose versions could not be compared: keep them as they are rather than resolve them. */
    const undetermined = new Set<string>();
    for (const candidate of candidates) {
      const advisory = advisories.get(candidate.advisoryId);
      const host = hosts.get(candidate.hostId);
      if (!advisory || !host) continue;
      const key = keyOf(candidate.hostId, candidate.advisoryId, candidate.ecosystem, candidate.name);
      const matchKey = `${candidate.advisoryId}\u0000${candidate.ecosystem}\u0000${candidate.name}\u0000${candidate.version}`;
      let match = matches.get(matchKey);
      if (match === undefined) {
        match = matchAdvisory(advisory.affected, { ecosystem: candidate.ecosystem, name: candidate.name, version: candidate.version });
        matches.set(matchKey, match);
        if (match.undetermined) {
          ctx.logger.warn({ host: host.name, advisory: advisory.id, reason: match.reason }, 'version could not be compared; exposures left as they were');
        }
      }
      if (match.undetermined) {
        undetermined.add(key);
        continue;
      }
      if (!match.affected) continue;
      const previous = findings.get(key);
      // Two installed versions of one package: report the lower-sorting one, deterministically.
      if (previous && previous.installed <= candidate.version) continue;
      let kev = kevByAdvisory.get(advisory.id);
      if (kev === undefined) {
        kev = kevFor(advisory, kevByCve);
        kevByAdvisory.set(advisory.id, kev);
      }
      const epss = epssFor(advisory, epssByCve);
      const classification = classifyExposure(
        { cvss: advisory.cvss, vendorSeverity: advisory.vendorSeverity, kev, epss, exploitStatus: advisory.exploitStatus, host },
        policy,
      );
      findings.set(key, {
        hostId: candidate.hostId,
        advisoryId: candidate.advisoryId,
        ecosystem: candidate.ecosystem,
        package: candidate.name,
        installed: candidate.version,
        fixed: match.fixed,
        severity: classification.severity,
        reasons: [match.reason, ...classification.reasons],
      });
    }

    const counts = await storeExposures(trx, { findings, undetermined, sla, hosts, exemptions, now, timeZone: ctx.config.timezone });
    const casesOpened = await openCases(trx, ctx, advisories, hosts, options.actor, nowIso);
    // Each pending approval is bound to the plan it asks about: a changed host set voids its votes.
    const pending = await trx.selectFrom('cases').select('id').where('state', 'in', ['awaiting_approval', 'deferred']).orderBy('id', 'asc').execute();
    for (const row of pending) await refreshApprovalPlan(trx, ctx, Number(row.id));

    const change: ChangeRecord = { audit: [] };
    if (counts.new > 0 || counts.resolved > 0 || casesOpened.length > 0) {
      change.audit.push({
        actor: options.actor,
        action: 'exposures.assessed',
        subjectType: 'exposures',
        subjectId: 'all',
        after: { ...counts, casesOpened },
      });
    }
    await recordChange(trx, ctx, change);
    ctx.logger.info({ ...counts, casesOpened }, 'assessment finished');
    return { exposures: counts, casesOpened };
  });
}

interface StoreInput {
  findings: Map<string, Finding>;
  /** Exposures whose versions could not be compared: kept as they are rather than resolved. */
  undetermined: Set<string>;
  sla: SlaPolicy;
  hosts: Map<number, HostFacts>;
  exemptions: Exemption[];
  now: Date;
  timeZone: string;
}

async function storeExposures(trx: Executor, input: StoreInput): Promise<AssessResult['exposures']> {
  const { findings, undetermined, sla, hosts, exemptions, now, timeZone } = input;
  const nowIso = now.toISOString();
  const existingRows = await trx.selectFrom('exposures').selectAll().execute();
  const existing = new Map(existingRows.map((r) => [keyOf(Number(r.host_id), r.advisory_id, r.ecosystem, r.package), r]));
  const counts = { new: 0, unchanged: 0, resolved: 0 };
  const inserts = [];
  for (const [key, finding] of findings) {
    const row = existing.get(key);
    const reopen = row !== undefined && row.status === 'resolved';
    // detected_at survives re-assessment (and exemptions), so the SLA clock does not restart.
    const detectedAt = row !== undefined && !reopen ? row.detected_at : nowIso;
    const host = hosts.get(finding.hostId);
    const groups = host?.groups ?? [];
    const slaChoice = chooseSla(finding.severity, groups, sla);
    const dueAt = computeDueAt(detectedAt, finding.severity, { ...sla.defaults, [finding.severity]: slaChoice.ms });
    const hold = holdExposure(
      { host: host?.name ?? '', groups, advisoryId: finding.advisoryId, package: finding.package },
      exemptions,
      row !== undefined && !reopen ? (row.exemption_id === null ? null : Number(row.exemption_id)) : null,
      now,
    );
    const reasons = [...finding.reasons, `${slaChoice.reason}: due ${formatInZone(dueAt, timeZone)}`, ...(hold.reason === null ? [] : [hold.reason])];
    const values = {
      installed: finding.installed,
      fixed: finding.fixed,
      severity: finding.severity,
      reasons: toJson(reasons),
      due_at: dueAt,
      status: hold.status,
      exemption_id: hold.exemptionId,
    };
    if (row === undefined) {
      counts.new++;
      inserts.push({
        host_id: finding.hostId,
        advisory_id: finding.advisoryId,
        ecosystem: finding.ecosystem,
        package: finding.package,
        ...values,
        detected_at: detectedAt,
        resolved_at: null,
        case_id: null,
      });
    } else if (reopen) {
      // Vulnerable again (a downgrade, a re-imaged machine): a new detection, attached to a case below.
      counts.new++;
      await trx
        .updateTable('exposures')
        .set({ ...values, detected_at: detectedAt, resolved_at: null, case_id: null })
        .where('id', '=', row.id)
        .execute();
    } else {
      counts.unchanged++;
      const changed = (Object.keys(values) as (keyof typeof values)[]).some((k) => values[k] !== (k === 'exemption_id' && row[k] !== null ? Number(row[k]) : row[k]));
      if (changed) await trx.updateTable('exposures').set(values).where('id', '=', row.id).execute();
    }
  }
  for (const part of chunk(inserts, 150)) await trx.insertInto('exposures').values(part).execute();

  const gone = existingRows
    .filter((r) => r.status !== 'resolved')
    .filter((r) => {
      const key = keyOf(Number(r.host_id), r.advisory_id, r.ecosystem, r.package);
      return !findings.has(key) && !undetermined.has(key);
    })
    .map((r) => Number(r.id));
  counts.resolved = gone.length;
  for (const part of chunk(gone, 500)) {
    await trx.updateTable('exposures').set({ status: 'resolved', resolved_at: nowIso }).where('id', 'in', part).execute();
  }
  return counts;
}

interface OpenExposure {
  id: number;
  hostId: number;
  ecosystem: string;
  severity: Severity;
  reasons: string[];
  dueAt: string;
  caseId: number | null;
}

/** Worst first: highest severity, then earliest due, then oldest. */
function byUrgency(a: OpenExposure, b: OpenExposure): number {
  return severityRank(b.severity) - severityRank(a.severity) || a.dueAt.localeCompare(b.dueAt) || a.id - b.id;
}

async function openCases(
  trx: Executor,
  ctx: WorkflowContext,
  advisories: Map<string, AdvisoryFacts>,
  hosts: Map<number, { groups: string[] }>,
  actor: string,
  nowIso: string,
): Promise<number[]> {
  const rows = await trx
    .selectFrom('exposures')
    .select(['id', 'host_id', 'advisory_id', 'ecosystem', 'severity', 'reasons', 'due_at', 'case_id'])
    .where('status', '=', 'open')
    .execute();
  const byAdvisory = new Map<string, OpenExposure[]>();
  for (const r of rows) {
    const list = byAdvisory.get(r.advisory_id) ?? [];
    list.push({
      id: Number(r.id),
      hostId: Number(r.host_id),
      ecosystem: r.ecosystem,
      severity: r.severity as Severity,
      reasons: fromJson<string[]>(r.reasons, []),
      dueAt: r.due_at,
      caseId: r.case_id === null ? null : Number(r.case_id),
    });
    byAdvisory.set(r.advisory_id, list);
  }
  const cases = await trx.selectFrom('cases').select(['id', 'advisory_id']).execute();
  const caseByAdvisory = new Map(cases.map((c) => [c.advisory_id, Number(c.id)]));
  const threshold = severityRank(ctx.config.policy.alertThreshold);
  const opened: number[] = [];
  const change: ChangeRecord = { audit: [], jobs: [] };

  for (const [advisoryId, exposures] of [...byAdvisory].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const existingCase = caseByAdvisory.get(advisoryId);
    if (existingCase !== undefined) {
      if (exposures.some((e) => e.caseId === null)) {
        await trx
          .updateTable('exposures')
          .set({ case_id: existingCase })
          .where('advisory_id', '=', advisoryId)
          .where('status', '=', 'open')
          .where('case_id', 'is', null)
          .execute();
      }
      continue;
    }
    const worst = [...exposures].sort(byUrgency)[0]!;
    if (severityRank(worst.severity) < threshold) continue;
    const advisory = advisories.get(advisoryId);
    const hostIds = [...new Set(exposures.map((e) => e.hostId))];
    const dueAt = exposures.map((e) => e.dueAt).sort()[0]!;
    const reasons = [...worst.reasons, `${hostIds.length} host${hostIds.length === 1 ? '' : 's'} affected`];
    const route = routeCase(
      {
        severity: worst.severity,
        hostGroups: [...new Set(hostIds.flatMap((id) => hosts.get(id)?.groups ?? []))],
        ecosystems: [...new Set(exposures.map((e) => e.ecosystem))],
      },
      ctx.config.routing,
    );
    const title = advisory?.title ?? advisoryId;
    const inserted = await trx
      .insertInto('cases')
      .values({
        advisory_id: advisoryId,
        title,
        severity: worst.severity,
        state: 'awaiting_approval',
        reasons: toJson(reasons),
        requested_by: actor,
        due_at: dueAt,
        created_at: nowIso,
        updated_at: nowIso,
        decided_at: null,
        plan_hash: null,
        channel: route.channel,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const caseId = Number(inserted.id);
    await trx.updateTable('exposures').set({ case_id: caseId }).where('advisory_id', '=', advisoryId).where('status', '=', 'open').execute();
    opened.push(caseId);
    change.audit.push({
      actor,
      action: 'case.opened',
      subjectType: 'case',
      subjectId: caseId,
      after: {
        id: caseId,
        advisoryId,
        title,
        severity: worst.severity,
        state: 'awaiting_approval',
        reasons,
        requestedBy: actor,
        dueAt,
        channel: route.channel,
        hosts: hostIds.length,
        exposures: exposures.length,
      },
    });
    change.jobs!.push({ kind: JOB_KINDS.chatPost, payload: { caseId, purpose: 'alert' }, uniqueKey: `case:${caseId}:alert` });
  }
  await recordChange(trx, ctx, change);
  return opened;
}
