import calculator from 'ae-cvss-calculator';
import { severityRank, type Criticality, type Severity } from './types.js';

/**
 * An SSVC-style decision (CISA's coordinator tree: Exploitation × Automatable × Technical Impact ×
 * Mission & Well-being → Track, Track*, Attend, Act). Each decision point is worked out from the facts
 * Patchdeck holds and explained in one line, so a reader can check every step.
 */
export const EXPLOITATION_LEVELS = ['none', 'poc', 'active'] as const;
export type Exploitation = (typeof EXPLOITATION_LEVELS)[number];
export type Automatable = 'yes' | 'no';
export type TechnicalImpact = 'partial' | 'total';
export const MISSION_LEVELS = ['low', 'medium', 'high'] as const;
export type MissionImpact = (typeof MISSION_LEVELS)[number];
export const SSVC_DECISIONS = ['track', 'track*', 'attend', 'act'] as const;
export type SsvcDecision = (typeof SSVC_DECISIONS)[number];

/** The configurable part of the tree (`policy.classification.ssvc`). */
export interface SsvcPolicy {
  /** An EPSS percentile (0..1) at or above this counts as active exploitation. */
  epssActivePercentile: number;
  /** Mission & well-being impact of a host, by its criticality. */
  missionByCriticality: Record<Criticality, MissionImpact>;
  /** Host groups or roles that mean "reachable from the internet": they raise the mission impact one level. */
  exposedGroups: string[];
  /**
   * The severities each decision allows (its SLA follows from the severity): the published severity
   * (medium when none) is held inside the range, so within "Track" a low-rated flaw stays low.
   */
  severityByDecision: Record<SsvcDecision, SeverityRange>;
}

export interface SeverityRange {
  min: Severity;
  max: Severity;
}

export const DEFAULT_SSVC_POLICY: SsvcPolicy = {
  epssActivePercentile: 0.95,
  missionByCriticality: { critical: 'high', high: 'medium', medium: 'medium', low: 'low' },
  exposedGroups: ['internet-facing'],
  severityByDecision: {
    act: { min: 'critical', max: 'critical' },
    attend: { min: 'high', max: 'high' },
    'track*': { min: 'medium', max: 'high' },
    track: { min: 'low', max: 'medium' },
  },
};

/** Holds `severity` inside `range`; says what happened when it moved. */
export function clampSeverity(severity: Severity, range: SeverityRange): Severity {
  if (severityRank(severity) < severityRank(range.min)) return range.min;
  if (severityRank(severity) > severityRank(range.max)) return range.max;
  return severity;
}

/**
 * CISA coordinator tree 2.0.3, as published by CERT/CC (SSVC `data/csv/cisa/cisa_coordinator_2_0_3.csv`).
 * Key: exploitation, automatable, technical impact, mission.
 */
const CISA_TREE: Record<string, SsvcDecision> = (() => {
  const rows: [Exploitation, Automatable, TechnicalImpact, SsvcDecision, SsvcDecision, SsvcDecision][] = [
    // exploitation, automatable, impact, → decision for mission low, medium, high
    ['none', 'no', 'partial', 'track', 'track', 'track'],
    ['none', 'no', 'total', 'track', 'track', 'track*'],
    ['none', 'yes', 'partial', 'track', 'track', 'attend'],
    ['none', 'yes', 'total', 'track', 'track', 'attend'],
    ['poc', 'no', 'partial', 'track', 'track', 'track*'],
    ['poc', 'no', 'total', 'track', 'track*', 'attend'],
    ['poc', 'yes', 'partial', 'track', 'track', 'attend'],
    ['poc', 'yes', 'total', 'track', 'track*', 'attend'],
    ['active', 'no', 'partial', 'track', 'track', 'attend'],
    ['active', 'no', 'total', 'track', 'attend', 'act'],
    ['active', 'yes', 'partial', 'attend', 'attend', 'act'],
    ['active', 'yes', 'total', 'attend', 'act', 'act'],
  ];
  const tree: Record<string, SsvcDecision> = {};
  for (const [e, a, t, low, medium, high] of rows) {
    tree[`${e}/${a}/${t}/low`] = low;
    tree[`${e}/${a}/${t}/medium`] = medium;
    tree[`${e}/${a}/${t}/high`] = high;
  }
  return tree;
})();

export function ssvcDecision(e: Exploitation, a: Automatable, t: TechnicalImpact, m: MissionImpact): SsvcDecision {
  return CISA_TREE[`${e}/${a}/${t}/${m}`]!;
}

/** Every row of the tree, for the policy page. */
export function listSsvcTree(): { exploitation: Exploitation; automatable: Automatable; technicalImpact: TechnicalImpact; mission: MissionImpact; decision: SsvcDecision }[] {
  return Object.entries(CISA_TREE).map(([key, decision]) => {
    const [exploitation, automatable, technicalImpact, mission] = key.split('/') as [Exploitation, Automatable, TechnicalImpact, MissionImpact];
    return { exploitation, automatable, technicalImpact, mission, decision };
  });
}

/** A CVSS vector's metrics by short name (`AV` → `N`); null when the vector cannot be read. */
export interface CvssMetrics {
  version: '2.0' | '3.x' | '4.0';
  metrics: Record<string, string>;
}

export function parseCvssVector(vector: string): CvssMetrics | null {
  let parsed: { getVectorName(): string; components: Map<{ shortName: string }, { shortName: string }> } | null;
  try {
    // fromVector is typed `any` upstream; the shape above is what this reads.
    parsed = calculator.fromVector(vector.trim()) as typeof parsed;
  } catch {
    return null;
  }
  if (!parsed) return null;
  const metrics: Record<string, string> = {};
  for (const [component, value] of parsed.components) metrics[component.shortName] = value.shortName;
  const name = parsed.getVectorName();
  const version = name.startsWith('CVSS:4') ? '4.0' : name.startsWith('CVSS:3') ? '3.x' : '2.0';
  return { version, metrics };
}

export interface ExploitationEvidence {
  /** KEV catalog entry date, when any of the advisory's CVEs is listed. */
  kevDateAdded: string | null;
  /** EPSS of the advisory's highest-scored CVE. */
  epss: { cve: string; percentile: number; scoreDate: string } | null;
  /** CSAF `threats` of category `exploit_status`: their `details` texts. */
  exploitStatus: string[];
  cvss: CvssMetrics | null;
}

const ACTIVE_WORDS = /\b(active(ly)?|exploited|in the wild|attacked)\b/i;
const NO_EXPLOIT_WORDS = /\b(no|not|none)\b[^.]*\b(exploit|exploitation|exploited|known)\b/i;

export function decideExploitation(evidence: ExploitationEvidence, policy: SsvcPolicy): { value: Exploitation; reason: string } {
  if (evidence.kevDateAdded !== null) return { value: 'active', reason: `in CISA KEV since ${evidence.kevDateAdded}` };
  const reported = evidence.exploitStatus.map((s) => s.trim()).filter((s) => s !== '');
  const active = reported.find((s) => ACTIVE_WORDS.test(s) && !NO_EXPLOIT_WORDS.test(s));
  if (active !== undefined) return { value: 'active', reason: `advisory exploit status "${active}"` };
  const epss = evidence.epss;
  if (epss !== null && epss.percentile >= policy.epssActivePercentile) {
    return {
      value: 'active',
      reason: `EPSS of ${epss.cve} at the ${percent(epss.percentile)} percentile on ${epss.scoreDate} (≥ ${percent(policy.epssActivePercentile)})`,
    };
  }
  const e = evidence.cvss?.metrics.E;
  if (evidence.cvss?.version === '4.0' && e === 'A') return { value: 'active', reason: 'CVSS E:A (attacked)' };
  if (e === 'P' || e === 'F' || e === 'H' || (evidence.cvss?.version === '2.0' && e === 'POC')) {
    return { value: 'poc', reason: `CVSS E:${e} (exploit code published)` };
  }
  const poc = reported.find((s) => !NO_EXPLOIT_WORDS.test(s));
  if (poc !== undefined) return { value: 'poc', reason: `advisory exploit status "${poc}"` };
  const epssNote = epss === null ? 'no EPSS score' : `EPSS ${percent(epss.percentile)} percentile is below ${percent(policy.epssActivePercentile)}`;
  return { value: 'none', reason: `not in CISA KEV, no exploit reported, ${epssNote}` };
}

export function decideAutomatable(cvss: CvssMetrics | null): { value: Automatable; reason: string } {
  if (cvss === null) return { value: 'no', reason: 'no CVSS vector to tell, so not assumed' };
  const m = cvss.metrics;
  const wanted: [string, string][] =
    cvss.version === '4.0'
      ? [['AV', 'N'], ['AC', 'L'], ['AT', 'N'], ['PR', 'N'], ['UI', 'N']]
      : cvss.version === '3.x'
        ? [['AV', 'N'], ['AC', 'L'], ['PR', 'N'], ['UI', 'N']]
        : [['AV', 'N'], ['AC', 'L'], ['Au', 'N']];
  const missing = wanted.filter(([k, v]) => m[k] !== v);
  if (missing.length === 0) return { value: 'yes', reason: `CVSS ${wanted.map(([k, v]) => `${k}:${v}`).join('/')}: reachable over the network without privileges or user action` };
  return { value: 'no', reason: `CVSS ${missing.map(([k]) => `${k}:${m[k] ?? '?'}`).join('/')}` };
}

/**
 * Total when an attacker gains full confidentiality and integrity, or one of them fully without
 * privileges (CERT/CC's CVSS-to-technical-impact mapping). Without a vector, a published severity at or
 * above `high` is taken as total so a missing vector never hides a serious flaw.
 */
export function decideTechnicalImpact(cvss: CvssMetrics | null, published: { severity: Severity; what: string } | null): { value: TechnicalImpact; reason: string } {
  if (cvss !== null) {
    const m = cvss.metrics;
    const [c, i] = cvss.version === '4.0' ? [m.VC, m.VI] : [m.C, m.I];
    const full = cvss.version === '2.0' ? 'C' : 'H';
    const some = cvss.version === '2.0' ? 'P' : 'L';
    const pr = cvss.version === '2.0' ? (m.Au === 'N' ? 'N' : 'L') : m.PR;
    const label = cvss.version === '4.0' ? `VC:${c}/VI:${i}` : `C:${c}/I:${i}`;
    const total = (c === full && i === full) || (pr === 'N' && ((c === full && i === some) || (c === some && i === full)));
    return { value: total ? 'total' : 'partial', reason: `CVSS ${label}${cvss.version === '2.0' ? '' : `/PR:${pr}`}` };
  }
  if (published === null) return { value: 'partial', reason: 'no CVSS vector or published severity' };
  const total = published.severity === 'high' || published.severity === 'critical';
  return { value: total ? 'total' : 'partial', reason: `no CVSS vector; ${published.what} is ${published.severity}` };
}

export function decideMission(
  host: { criticality: Criticality; role: string; groups: readonly string[] },
  policy: SsvcPolicy,
): { value: MissionImpact; reason: string } {
  const base = policy.missionByCriticality[host.criticality];
  const exposedBy = [host.role, ...host.groups].find((g) => policy.exposedGroups.includes(g));
  if (exposedBy === undefined) return { value: base, reason: `host criticality ${host.criticality}` };
  const raised = MISSION_LEVELS[Math.min(MISSION_LEVELS.indexOf(base) + 1, MISSION_LEVELS.length - 1)]!;
  return {
    value: raised,
    reason: `host criticality ${host.criticality} (${base}), internet-facing ("${exposedBy}")${raised === base ? '' : ` raises it to ${raised}`}`,
  };
}

export interface SsvcInput {
  evidence: ExploitationEvidence;
  published: { severity: Severity; what: string } | null;
  host: { criticality: Criticality; role: string; groups: readonly string[] };
}

export interface SsvcOutcome {
  exploitation: Exploitation;
  automatable: Automatable;
  technicalImpact: TechnicalImpact;
  mission: MissionImpact;
  decision: SsvcDecision;
  severity: Severity;
  reasons: string[];
}

const DECISION_LABEL: Record<SsvcDecision, string> = { track: 'Track', 'track*': 'Track*', attend: 'Attend', act: 'Act' };

/** Walks the tree once; one reason line per decision point and one for the outcome. */
export function evaluateSsvc(input: SsvcInput, policy: SsvcPolicy = DEFAULT_SSVC_POLICY): SsvcOutcome {
  const exploitation = decideExploitation(input.evidence, policy);
  const automatable = decideAutomatable(input.evidence.cvss);
  const impact = decideTechnicalImpact(input.evidence.cvss, input.published);
  const mission = decideMission(input.host, policy);
  const decision = ssvcDecision(exploitation.value, automatable.value, impact.value, mission.value);
  const range = policy.severityByDecision[decision];
  const start = input.published?.severity ?? 'medium';
  const severity = clampSeverity(start, range);
  const bounds = range.min === range.max ? range.min : `${range.min}–${range.max}`;
  const origin = input.published === null ? 'nothing published, so medium' : `published ${start}`;
  const outcome = severity === start ? `${origin}, within ${bounds}` : `${origin}, held to ${bounds}`;
  return {
    exploitation: exploitation.value,
    automatable: automatable.value,
    technicalImpact: impact.value,
    mission: mission.value,
    decision,
    severity,
    reasons: [
      `Exploitation: ${exploitation.value} (${exploitation.reason})`,
      `Automatable: ${automatable.value} (${automatable.reason})`,
      `Technical impact: ${impact.value} (${impact.reason})`,
      `Mission & well-being: ${mission.value} (${mission.reason})`,
      `SSVC decision ${DECISION_LABEL[decision]}: ${severity} (${outcome})`,
    ],
  };
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10}%`;
}
