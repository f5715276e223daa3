import calculator from 'ae-cvss-calculator';
import { DEFAULT_SSVC_POLICY, evaluateSsvc, parseCvssVector, type SsvcOutcome, type SsvcPolicy } from './ssvc.js';
import { severityRank, type Criticality, type CvssFacts, type KevFacts, type Severity } from './types.js';

/**
 * How an exposure's severity is decided, as data so it can be configured (`policy.classification`):
 * an SSVC-style decision tree (see ssvc.ts), then the CISA KEV floor. Every step adds a reason.
 */
export interface ClassificationPolicy {
  /** Lowest CVSS base score for each published level; below `medium` is low. */
  cvss: { critical: number; high: number; medium: number };
  kev: {
    /** A CVE in CISA KEV is at least this severe, whatever the tree says (BOD 22-01 deadlines are short). */
    minimum: Severity;
    /** Known ransomware use makes a KEV exposure critical. */
    criticalWhenRansomware: boolean;
  };
  ssvc: SsvcPolicy;
}

export const DEFAULT_CLASSIFICATION_POLICY: ClassificationPolicy = {
  cvss: { critical: 9, high: 7, medium: 4 },
  kev: { minimum: 'high', criticalWhenRansomware: true },
  ssvc: DEFAULT_SSVC_POLICY,
};

export interface ClassificationInput {
  cvss: CvssFacts | null;
  /** Vendor word when the source publishes one: Ubuntu priority, GitHub rating, Red Hat impact. */
  vendorSeverity: string | null;
  /** KEV facts about any of the advisory's CVEs, or null when none is in the catalog. */
  kev: KevFacts | null;
  /** EPSS of the advisory's highest-scored CVE, when known. */
  epss?: { cve: string; percentile: number; scoreDate: string } | null;
  /** CSAF `threats` of category `exploit_status`: their details. */
  exploitStatus?: string[];
  host: { criticality: Criticality; role: string; groups?: readonly string[] };
}

export interface Classification {
  severity: Severity;
  reasons: string[];
  ssvc: Omit<SsvcOutcome, 'reasons'>;
}

const VENDOR_WORDS: Record<string, Severity> = {
  critical: 'critical',
  important: 'high',
  high: 'high',
  moderate: 'medium',
  medium: 'medium',
  low: 'low',
  negligible: 'low',
  unimportant: 'low',
};

/** Reads a vendor severity word ("MODERATE", "medium", "Important"); null when none is recognised. */
export function severityFromVendorWord(text: string): Severity | null {
  for (const token of text.toLowerCase().split(/[^a-z]+/)) {
    const severity = VENDOR_WORDS[token];
    if (severity !== undefined) return severity;
  }
  return null;
}

/** Base score of a vector, for advisories that publish only the vector. */
function scoreOfVector(vector: string): number | null {
  try {
    // fromVector is typed `any` upstream; calculateScores is the part used here.
    const parsed = calculator.fromVector(vector.trim()) as { isBaseFullyDefined(): boolean; calculateScores(): { base?: number; overall: number } } | null;
    if (!parsed || !parsed.isBaseFullyDefined()) return null;
    const scores = parsed.calculateScores();
    const score = scores.base ?? scores.overall;
    return Number.isFinite(score) ? score : null;
  } catch {
    return null;
  }
}

/** What the advisory itself says about severity: a CVSS band, else the vendor's word; null when silent. */
export function publishedSeverity(
  input: Pick<ClassificationInput, 'cvss' | 'vendorSeverity'>,
  policy: ClassificationPolicy = DEFAULT_CLASSIFICATION_POLICY,
): { severity: Severity; what: string } | null {
  const vector = input.cvss?.vector ?? null;
  let score = input.cvss?.score ?? null;
  let computed = false;
  if ((score === null || !Number.isFinite(score)) && vector !== null) {
    score = scoreOfVector(vector);
    computed = score !== null;
  }
  if (score !== null && Number.isFinite(score)) {
    const { critical, high, medium } = policy.cvss;
    const severity: Severity = score >= critical ? 'critical' : score >= high ? 'high' : score >= medium ? 'medium' : 'low';
    const band =
      severity === 'critical' ? `≥ ${critical}` : severity === 'high' ? `≥ ${high}` : severity === 'medium' ? `≥ ${medium}` : `< ${medium}`;
    return { severity, what: `CVSS ${score.toFixed(1)}${computed ? ' (computed from the vector)' : ''} (${band})` };
  }
  const word = input.vendorSeverity?.trim() ?? '';
  if (word === '') return null;
  const severity = severityFromVendorWord(word);
  return severity === null ? null : { severity, what: `vendor severity "${word}"` };
}

/**
 * Severity of one exposure (an advisory on one host): the SSVC tree decides from exploitation,
 * automatability, technical impact and the host's mission impact; CISA KEV then sets a floor.
 */
export function classifyExposure(input: ClassificationInput, policy: ClassificationPolicy = DEFAULT_CLASSIFICATION_POLICY): Classification {
  const published = publishedSeverity(input, policy);
  const vector = input.cvss?.vector ?? null;
  const parsedVector = vector === null ? null : parseCvssVector(vector);
  const reasons: string[] = [];
  if (published !== null) reasons.push(`Published: ${published.what}${vector ? `, ${vector}` : ''}: ${published.severity}`);
  else if (input.vendorSeverity?.trim()) reasons.push(`Published: vendor severity "${input.vendorSeverity.trim()}" is not a known word`);
  else reasons.push('Published: no score or severity');
  if (vector !== null && parsedVector === null) reasons.push(`CVSS vector "${vector}" could not be read`);

  const kev = input.kev;
  const outcome = evaluateSsvc(
    {
      evidence: {
        kevDateAdded: kev?.dateAdded ?? null,
        epss: input.epss ?? null,
        exploitStatus: input.exploitStatus ?? [],
        cvss: parsedVector,
      },
      published,
      host: { criticality: input.host.criticality, role: input.host.role, groups: input.host.groups ?? [] },
    },
    policy.ssvc,
  );
  reasons.push(...outcome.reasons);
  let severity = outcome.severity;
  if (kev !== null) {
    const due = kev.dueDate ? ` (federal due date ${kev.dueDate})` : '';
    if (policy.kev.criticalWhenRansomware && kev.knownRansomwareCampaignUse) {
      reasons.push(`In CISA KEV${due}, known ransomware use: ${severity === 'critical' ? 'stays' : 'raised to'} critical`);
      severity = 'critical';
    } else if (severityRank(severity) < severityRank(policy.kev.minimum)) {
      reasons.push(`In CISA KEV${due}: raised from ${severity} to ${policy.kev.minimum} (the KEV minimum)`);
      severity = policy.kev.minimum;
    } else {
      reasons.push(`In CISA KEV${due}: at or above the KEV minimum ${policy.kev.minimum}`);
    }
  }
  reasons.push(`Role: ${input.host.role}`);
  const { exploitation, automatable, technicalImpact, mission, decision } = outcome;
  return { severity, reasons, ssvc: { exploitation, automatable, technicalImpact, mission, decision, severity: outcome.severity } };
}
