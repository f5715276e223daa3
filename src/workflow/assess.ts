import { parseDurationMs } from '../config/schema.js';
import { classifyExposure, DEFAULT_CLASSIFICATION_POLICY, type Classification, type ClassificationPolicy } from '../core/classify.js';
import { buildKbSupersedence, matchPackageTriples, matchWindowsAdvisory, normalizeKbs, WINDOWS_KB_ECOSYSTEM, type MatchResult, type WindowsAdvisoryMatch } from '../core/matching.js';
import { routeCase, routingUsesOwners } from '../core/routing.js';
import { holdExposure, type Exemption, type ExposureHold } from '../core/exemptions.js';
import { chooseSla, computeDueAt, type SlaDurations, type SlaPolicy } from '../core/sla.js';
import { formatInZone } from '../core/time.js';
import { SEVERITIES, severityRank, type HostPackage, type KevFacts, type Severity } from '../core/types.js';
import type { Executor } from '../store/db.js';
import { toJson } from '../store/json.js';
import { listExemptions } from '../store/queries/exemptions.js';
import {
  exposureKey,
  getExposureReasons,
  insertExposures,
  listAdvisoriesWithUnassignedExposures,
  listMatchAdvisories,
  listOpenExposuresOf,
  listWindowsAdvisoryIds,
  loadAdvisoryFacts,
  loadHostFacts,
  loadKevByCve,
  forEachStoredExposurePage,
  resolveExposures,
  sameExposureValues,
  updateExposures,
  type AdvisoryFacts,
  type AssessScope,
  type ExposureInsert,
  type ExposureUpdate,
  type ExposureValues,
  type HostFacts,
  type OpenExposureFacts,
  type StoredExposure,
} from '../store/queries/exposures.js';
import { getEpss, type EpssFact } from '../store/queries/epss.js';
import { listHostOwners } from '../store/queries/host-owners.js';
import { forEachHostWithTriples, listPackageTriples, loadWindowsKbsByHost } from '../store/queries/hosts.js';
import { refreshApprovalPlan } from './approvals.js';
import { recordChange, type ChangeRecord, type WorkflowContext } from './context.js';
import { expireDueExemptions } from './exemptions.js';
import { JOB_KINDS } from './jobs.js';

export interface AssessResult {
  exposures: { new: number; unchanged: number; resolved: number };
  casesOpened: number[];
}

export interface AssessOptions {
  actor: string;
  /**
   * Only these advisories (new or changed): their packages alone are re-matched and only their
   * exposures can be resolved. A withdrawn or no longer authoritative one has all its exposures resolved.
   */
  advisoryIds?: string[];
  /** Only these hosts (a changed inventory): every advisory is matched against them alone. */
  hostIds?: number[];
}

/** An exposure as assessment computes it now; the reasons are put together when it is stored. */
interface Finding {
  hostId: number;
  advisoryId: string;
  ecosystem: string;
  package: string;
  installed: string;
  fixed: string | null;
  matchReason: string;
  classification: Classification;
}

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
 * Matches authoritative, non-withdrawn advisories against the inventory, stores the exposures with
 * severity, reasons and due time, resolves those no longer found, and opens a case for each advisory
 * whose worst open exposure reaches `policy.alertThreshold`. One transaction, audited, with one alert
 * job per new case.
 *
 * Packages are matched on distinct installed (ecosystem, name, version) triples, each against the
 * advisories naming it, and hosts are attached afterwards; Windows hosts are matched by their KB
 * list and the KB supersedence graph, once per distinct KB list. With `advisoryIds` and/or `hostIds`
 * only that part is matched and only exposures inside it can be resolved.
 */
export async function assessAll(ctx: WorkflowContext, options: AssessOptions): Promise<AssessResult> {
  const now = ctx.clock.now();
  const nowIso = now.toISOString();
  const policy = ctx.config.policy.classification ?? DEFAULT_CLASSIFICATION_POLICY;
  const sla = slaPolicy(ctx.config.policy);
  const scope: AssessScope = {
    ...(options.advisoryIds === undefined ? {} : { advisoryIds: [...new Set(options.advisoryIds)] }),
    ...(options.hostIds === undefined ? {} : { hostIds: [...new Set(options.hostIds)] }),
  };
  const scoped = scope.advisoryIds !== undefined || scope.hostIds !== undefined;

  return ctx.store.transaction(async (trx) => {
    // Phase times go into the log line: where a slow assessment spends its time.
    const started = performance.now();
    const ms: Record<string, number> = {};
    const lap = (phase: string, since: number) => (ms[phase] = Math.round(performance.now() - since));
    // Exemptions that ran out re-open what they held before anything is matched.
    const expiry = await expireDueExemptions(trx, ctx, options.actor);
    const hosts = await loadHostFacts(trx);
    const exemptions = await listExemptions(trx);
    const nothing = scope.advisoryIds?.length === 0 || scope.hostIds?.length === 0;
    const found = nothing ? { findings: new Map<string, Finding>(), undetermined: new Set<string>() } : await findExposures(trx, ctx, scope, hosts, policy);
    lap('match', started);
    const storing = performance.now();
    const { counts, changed } = nothing
      ? { counts: { new: 0, unchanged: 0, resolved: 0 }, changed: new Set<string>() }
      : await storeExposures(trx, { ...found, scope, sla, hosts, exemptions, now, timeZone: ctx.config.timezone });
    // A scoped run changed exposures of some advisories only; an expired exemption may have re-opened
    // exposures anywhere, so then every advisory is looked at, as in a full run.
    const only = scoped && expiry.expired.length === 0 ? [...changed] : undefined;
    lap('store', storing);
    const opening = performance.now();
    const casesOpened = await openCases(trx, ctx, hosts, options.actor, nowIso, only);
    lap('cases', opening);
    const binding = performance.now();
    // Each pending approval is bound to the plan it asks about: a changed host set voids its votes.
    const pending = await trx.selectFrom('cases').select('id').where('state', 'in', ['awaiting_approval', 'deferred']).orderBy('id', 'asc').execute();
    for (const row of pending) await refreshApprovalPlan(trx, ctx, Number(row.id));
    lap('plans', binding);

    const change: ChangeRecord = { audit: [] };
    if (counts.new > 0 || counts.resolved > 0 || casesOpened.length > 0) {
      change.audit.push({
        actor: options.actor,
        action: 'exposures.assessed',
        subjectType: 'exposures',
        subjectId: scoped ? 'scope' : 'all',
        after: { ...counts, casesOpened, ...(scoped ? { scope } : {}) },
      });
    }
    await recordChange(trx, ctx, change);
    ctx.logger.info({ ...counts, casesOpened, ms, ...(scoped ? { scope: { advisories: scope.advisoryIds?.length, hosts: scope.hostIds?.length } } : {}) }, 'assessment finished');
    return { exposures: counts, casesOpened };
  });
}

interface Found {
  findings: Map<string, Finding>;
  /** Exposures whose versions (or KBs) could not be decided: kept as they are rather than resolved. */
  undetermined: Set<string>;
}

/**
 * Classification reads only the advisory's facts and the host's criticality, role and groups, so
 * hosts alike in those share one result per advisory.
 */
function classifier(advisories: Map<string, AdvisoryFacts>, kevByCve: Map<string, KevFacts>, epssByCve: Map<string, EpssFact>, policy: ClassificationPolicy) {
  const cache = new Map<string, Classification>();
  return (advisoryId: string, host: HostFacts): Classification | null => {
    const advisory = advisories.get(advisoryId);
    if (advisory === undefined) return null;
    const key = `${advisoryId}\u0000${host.criticality}\u0000${host.role}\u0000${host.groups.join('\u0001')}`;
    let classification = cache.get(key);
    if (classification === undefined) {
      classification = classifyExposure(
        { cvss: advisory.cvss, vendorSeverity: advisory.vendorSeverity, kev: kevFor(advisory, kevByCve), epss: epssFor(advisory, epssByCve), exploitStatus: advisory.exploitStatus, host },
        policy,
      );
      cache.set(key, classification);
    }
    return classification;
  };
}

const tripleKey = (t: HostPackage) => `${t.ecosystem}\u0000${t.name}\u0000${t.version}`;

async function findExposures(trx: Executor, ctx: WorkflowContext, scope: AssessScope, hosts: Map<number, HostFacts>, policy: ClassificationPolicy): Promise<Found> {
  const findings = new Map<string, Finding>();
  const undetermined = new Set<string>();

  // Packages: distinct installed triples against the advisories naming them; hosts are attached below.
  const triples = await listPackageTriples(trx, scope);
  const matches = triples.length === 0 ? [] : matchPackageTriples(await listMatchAdvisories(trx, scope), triples);
  const byTriple = new Map<string, typeof matches>();
  for (const match of matches) {
    if (match.result.undetermined) {
      ctx.logger.warn({ advisory: match.advisoryId, package: match.triple.name, version: match.triple.version, reason: match.result.reason }, 'version could not be compared; exposures left as they were');
    }
    const key = tripleKey(match.triple);
    const list = byTriple.get(key);
    if (list === undefined) byTriple.set(key, [match]);
    else list.push(match);
  }

  // Windows: a KB exposure is a KB missing, so it cannot come from a name join. The supersedence graph
  // is built from every Windows advisory held; hosts with the same KB list are matched once.
  const windowsMatches: { advisoryId: string; match: WindowsAdvisoryMatch; hostIds: number[] }[] = [];
  const windowsInScope = await listWindowsAdvisoryIds(trx, scope.advisoryIds);
  let windowsFacts = new Map<string, AdvisoryFacts>();
  if (windowsInScope.length > 0) {
    const kbsByHost = await loadWindowsKbsByHost(trx, scope.hostIds);
    if (kbsByHost.size > 0) {
      windowsFacts = await loadAdvisoryFacts(trx, await listWindowsAdvisoryIds(trx));
      const graph = buildKbSupersedence([...windowsFacts.values()].flatMap((a) => a.affected));
      const hostsByKbs = new Map<string, { kbs: Set<string>; hostIds: number[] }>();
      for (const [hostId, kbs] of kbsByHost) {
        const normal = normalizeKbs(kbs);
        const key = [...normal].sort().join(',');
        const group = hostsByKbs.get(key);
        if (group === undefined) hostsByKbs.set(key, { kbs: normal, hostIds: [hostId] });
        else group.hostIds.push(hostId);
      }
      for (const { kbs, hostIds } of hostsByKbs.values()) {
        for (const advisoryId of windowsInScope) {
          const facts = windowsFacts.get(advisoryId);
          if (facts === undefined) continue;
          for (const match of matchWindowsAdvisory(facts.affected, kbs, graph)) {
            if (match.result.undetermined) {
              for (const hostId of hostIds) undetermined.add(exposureKey(hostId, advisoryId, WINDOWS_KB_ECOSYSTEM, match.kb));
            } else {
              windowsMatches.push({ advisoryId, match, hostIds });
            }
          }
        }
      }
    }
  }

  // Classification facts, for the advisories that affect something.
  const advisoryIds = new Set([...matches.filter((m) => m.result.affected).map((m) => m.advisoryId), ...windowsMatches.map((w) => w.advisoryId)]);
  const advisories = await loadAdvisoryFacts(trx, [...advisoryIds].filter((id) => !windowsFacts.has(id)));
  for (const [id, facts] of windowsFacts) if (advisoryIds.has(id)) advisories.set(id, facts);
  const kevByCve = await loadKevByCve(trx);
  const epssByCve = await getEpss(trx, [...new Set([...advisories.values()].flatMap((a) => a.cves))]);
  const classify = classifier(advisories, kevByCve, epssByCve, policy);
  const add = (hostId: number, advisoryId: string, ecosystem: string, pkg: string, installed: string, result: MatchResult) => {
    const host = hosts.get(hostId);
    if (host === undefined) return;
    const key = exposureKey(hostId, advisoryId, ecosystem, pkg);
    const previous = findings.get(key);
    // Two installed versions of one package: report the lower-sorting one, deterministically.
    if (previous && previous.installed <= installed) return;
    const classification = classify(advisoryId, host);
    if (classification === null) return;
    findings.set(key, { hostId, advisoryId, ecosystem, package: pkg, installed, fixed: result.fixed, matchReason: result.reason, classification });
  };

  // Hosts holding the matched triples, read in chunks; the triple's own strings are shared by its hosts.
  if (byTriple.size > 0) {
    await forEachHostWithTriples(trx, [...byTriple.values()].map((list) => list[0]!.triple), scope.hostIds, (holder) => {
      for (const { advisoryId, triple, result } of byTriple.get(tripleKey(holder)) ?? []) {
        if (result.undetermined) undetermined.add(exposureKey(holder.hostId, advisoryId, triple.ecosystem, triple.name));
        else add(holder.hostId, advisoryId, triple.ecosystem, triple.name, triple.version, result);
      }
    });
  }
  for (const { advisoryId, match, hostIds } of windowsMatches) {
    for (const hostId of hostIds) add(hostId, advisoryId, WINDOWS_KB_ECOSYSTEM, match.kb, match.installedOlder.join(', '), match.result);
  }
  return { findings, undetermined };
}

interface StoreInput extends Found {
  scope: AssessScope;
  sla: SlaPolicy;
  hosts: Map<number, HostFacts>;
  exemptions: Exemption[];
  now: Date;
  timeZone: string;
}

/** Rows gathered before a multi-row insert is sent: bounds memory on a fleet's first assessment. */
const INSERT_BATCH = 3000;

/** Insert order, so ids (and so "the first exposure found", which explains a case) do not depend on query plans. */
function byAdvisoryPackageHost(a: Finding, b: Finding): number {
  return cmp(a.advisoryId, b.advisoryId) || cmp(a.ecosystem, b.ecosystem) || cmp(a.package, b.package) || a.hostId - b.hostId;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Writes what was found against what is stored in scope. Stored rows are read page by page: a found
 * one is updated in bulk when a decided column differs (a resolved one found again is re-opened as a
 * new detection), one no longer found is resolved (unless undetermined). What is left of the findings
 * is new and inserted in batches, in a fixed order.
 */
async function storeExposures(trx: Executor, input: StoreInput): Promise<{ counts: AssessResult['exposures']; changed: Set<string> }> {
  const { findings, undetermined, sla, hosts, exemptions, now, timeZone } = input;
  const nowIso = now.toISOString();
  const counts = { new: 0, unchanged: 0, resolved: 0 };
  /** Advisories with an exposure written: the only ones whose cases a scoped run can change. */
  const changed = new Set<string>();
  // The SLA line and due time depend only on severity, groups and detection time.
  const slaCache = new Map<string, { dueAt: string; line: string }>();
  const noHold: ExposureHold = { status: 'open', exemptionId: null, reason: null };
  /** JSON of the reason lines after the match's, without its opening bracket, by classification and SLA/hold lines. */
  const reasonTails = new Map<Classification, Map<string, string>>();

  const decide = (finding: Finding, row: StoredExposure | undefined): { values: ExposureValues; detectedAt: string } => {
    const reopen = row !== undefined && row.status === 'resolved';
    // detected_at survives re-assessment (and exemptions), so the SLA clock does not restart.
    const detectedAt = row !== undefined && !reopen ? row.detectedAt : nowIso;
    const host = hosts.get(finding.hostId);
    const groups = host?.groups ?? [];
    const severity = finding.classification.severity;
    const slaKey = `${severity}\u0000${detectedAt}\u0000${groups.join('\u0001')}`;
    let due = slaCache.get(slaKey);
    if (due === undefined) {
      const slaChoice = chooseSla(severity, groups, sla);
      const dueAt = computeDueAt(detectedAt, severity, { ...sla.defaults, [severity]: slaChoice.ms });
      due = { dueAt, line: `${slaChoice.reason}: due ${formatInZone(dueAt, timeZone)}` };
      slaCache.set(slaKey, due);
    }
    const previousExemption = row !== undefined && !reopen ? row.exemption_id : null;
    const hold =
      exemptions.length === 0 && previousExemption === null
        ? noHold
        : holdExposure({ host: host?.name ?? '', groups, advisoryId: finding.advisoryId, package: finding.package }, exemptions, previousExemption, now);
    // The reasons after the match's own line repeat across hosts alike: their JSON is made once.
    const tailKey = hold.reason === null ? due.line : `${due.line}\u0000${hold.reason}`;
    let tails = reasonTails.get(finding.classification);
    if (tails === undefined) reasonTails.set(finding.classification, (tails = new Map()));
    let tail = tails.get(tailKey);
    if (tail === undefined) {
      tail = toJson([...finding.classification.reasons, due.line, ...(hold.reason === null ? [] : [hold.reason])]).slice(1);
      tails.set(tailKey, tail);
    }
    return {
      detectedAt,
      values: { installed: finding.installed, fixed: finding.fixed, severity, reasons: `[${toJson(finding.matchReason)},${tail}`, due_at: due.dueAt, status: hold.status, exemption_id: hold.exemptionId },
    };
  };

  await forEachStoredExposurePage(trx, input.scope, async (rows) => {
    const updates: ExposureUpdate[] = [];
    const gone: number[] = [];
    for (const row of rows) {
      const key = exposureKey(row.hostId, row.advisoryId, row.ecosystem, row.package);
      const finding = findings.get(key);
      if (finding === undefined) {
        if (row.status !== 'resolved' && !undetermined.has(key)) {
          gone.push(row.id);
          changed.add(row.advisoryId);
        }
        continue;
      }
      // Each key is stored once, so what is left in `findings` afterwards is new.
      findings.delete(key);
      const { values, detectedAt } = decide(finding, row);
      if (row.status === 'resolved') {
        // Vulnerable again (a downgrade, a re-imaged machine): a new detection, attached to a case below.
        counts.new++;
        changed.add(row.advisoryId);
        updates.push({ id: row.id, ...values, detected_at: detectedAt, reopen: true });
      } else {
        counts.unchanged++;
        if (!sameExposureValues(values, row)) {
          changed.add(row.advisoryId);
          updates.push({ id: row.id, ...values, detected_at: detectedAt, reopen: false });
        }
      }
    }
    await updateExposures(trx, updates);
    counts.resolved += gone.length;
    await resolveExposures(trx, gone, nowIso);
  });

  let inserts: ExposureInsert[] = [];
  for (const finding of [...findings.values()].sort(byAdvisoryPackageHost)) {
    const { values, detectedAt } = decide(finding, undefined);
    counts.new++;
    changed.add(finding.advisoryId);
    inserts.push({ host_id: finding.hostId, advisory_id: finding.advisoryId, ecosystem: finding.ecosystem, package: finding.package, ...values, detected_at: detectedAt });
    if (inserts.length >= INSERT_BATCH) {
      await insertExposures(trx, inserts);
      inserts = [];
    }
  }
  await insertExposures(trx, inserts);
  return { counts, changed };
}

/** Worst first: highest severity, then earliest due, then oldest. */
function byUrgency(a: OpenExposureFacts, b: OpenExposureFacts): number {
  return severityRank(b.severity) - severityRank(a.severity) || a.dueAt.localeCompare(b.dueAt) || a.id - b.id;
}

/** Advisories whose open exposures are read at once when opening cases (one can have a row per host). */
const CASE_BATCH = 100;

/**
 * Attaches open exposures without a case to their advisory's case, or opens one when the worst of
 * them reaches the threshold. Only advisories with such exposures can need either, so only they are
 * read; `only` narrows that further to the advisories a scoped run changed.
 */
async function openCases(trx: Executor, ctx: WorkflowContext, hosts: Map<number, { groups: string[] }>, actor: string, nowIso: string, only?: string[]): Promise<number[]> {
  const candidates = only === undefined ? await listAdvisoriesWithUnassignedExposures(trx) : [...only].sort(cmp);
  if (candidates.length === 0) return [];
  const cases = await trx.selectFrom('cases').select(['id', 'advisory_id']).execute();
  const caseByAdvisory = new Map(cases.map((c) => [c.advisory_id, Number(c.id)]));
  const threshold = severityRank(ctx.config.policy.alertThreshold);
  const opened: number[] = [];
  const change: ChangeRecord = { audit: [], jobs: [] };

  for (let i = 0; i < candidates.length; i += CASE_BATCH) {
    const batch = candidates.slice(i, i + CASE_BATCH);
    const byAdvisory = new Map<string, OpenExposureFacts[]>(batch.map((id) => [id, []]));
    for (const e of await listOpenExposuresOf(trx, batch)) byAdvisory.get(e.advisoryId)?.push(e);
    const titles = await loadAdvisoryFacts(trx, batch.filter((id) => !caseByAdvisory.has(id)));
    for (const [advisoryId, exposures] of byAdvisory) {
      if (!exposures.some((e) => e.caseId === null)) continue;
      const existingCase = caseByAdvisory.get(advisoryId);
      if (existingCase !== undefined) {
        await trx
          .updateTable('exposures')
          .set({ case_id: existingCase })
          .where('advisory_id', '=', advisoryId)
          .where('status', '=', 'open')
          .where('case_id', 'is', null)
          .execute();
        continue;
      }
      const worst = [...exposures].sort(byUrgency)[0]!;
      if (severityRank(worst.severity) < threshold) continue;
      const hostIds = [...new Set(exposures.map((e) => e.hostId))];
      const dueAt = exposures.map((e) => e.dueAt).sort()[0]!;
      const reasons = [...(await getExposureReasons(trx, worst.id)), `${hostIds.length} host${hostIds.length === 1 ? '' : 's'} affected`];
      const route = routeCase(
        {
          severity: worst.severity,
          hostGroups: [...new Set(hostIds.flatMap((id) => hosts.get(id)?.groups ?? []))],
          ecosystems: [...new Set(exposures.map((e) => e.ecosystem))],
          // Owners are read only when a rule asks about them.
          hostOwners: routingUsesOwners(ctx.config.routing) ? await listHostOwners(trx, hostIds) : [],
        },
        ctx.config.routing,
      );
      const title = titles.get(advisoryId)?.title ?? advisoryId;
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
  }
  await recordChange(trx, ctx, change);
  return opened;
}
