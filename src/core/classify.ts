import { SEVERITIES, severityRank, type Criticality, type CvssFacts, type KevFacts, type Severity } from './types.js';

/**
 * How an exposure's severity is decided, as data so it can be configured (`policy.classification`).
 * Every step that changes or confirms the severity adds a human-readable reason.
 */
export interface ClassificationPolicy {
  /** Lowest CVSS base score for each level; below `medium` is low. */
  cvss: { critical: number; high: number; medium: number };
  kev: {
    /** A CVE in CISA KEV is at least this severe. */
    minimum: Severity;
    /** Known ransomware use makes a KEV exposure critical. */
    criticalWhenRansomware: boolean;
    /** Host criticalities that make a KEV exposure critical. */
    criticalOnHosts: Criticality[];
  };
  /** Host criticalities that raise the severity by one level (capped at critical). */
  raiseOnHosts: Criticality[];
}

export const DEFAULT_CLASSIFICATION_POLICY: ClassificationPolicy = {
  cvss: { critical: 9, high: 7, medium: 4 },
  kev: { minimum: 'high', criticalWhenRansomware: true, criticalOnHosts: ['high', 'critical'] },
  raiseOnHosts: ['critical'],
};

export interface ClassificationInput {
  cvss: CvssFacts | null;
  /** Vendor word when the source publishes one: Ubuntu priority, GitHub rating, Red Hat impact. */
  vendorSeverity: string | null;
  /** KEV facts about any of the advisory's CVEs, or null when none is in the catalog. */
  kev: KevFacts | null;
  host: { criticality: Criticality; role: string };
}

export interface Classification {
  severity: Severity;
  reasons: string[];
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

function atLeast(a: Severity, b: Severity): Severity {
  return severityRank(a) >= severityRank(b) ? a : b;
}

function raise(severity: Severity): Severity {
  return SEVERITIES[Math.min(severityRank(severity) + 1, SEVERITIES.length - 1)]!;
}

function baseSeverity(input: ClassificationInput, policy: ClassificationPolicy): Classification {
  const score = input.cvss?.score ?? null;
  if (score !== null && Number.isFinite(score)) {
    const { critical, high, medium } = policy.cvss;
    const severity: Severity = score >= critical ? 'critical' : score >= high ? 'high' : score >= medium ? 'medium' : 'low';
    const vector = input.cvss?.vector ? ` (${input.cvss.vector})` : '';
    const band =
      severity === 'critical' ? `≥ ${critical}` : severity === 'high' ? `≥ ${high}` : severity === 'medium' ? `≥ ${medium}` : `< ${medium}`;
    return { severity, reasons: [`CVSS ${score.toFixed(1)}${vector}: ${severity} (${band})`] };
  }
  if (input.vendorSeverity !== null && input.vendorSeverity.trim() !== '') {
    const word = input.vendorSeverity.trim();
    const severity = severityFromVendorWord(word);
    if (severity !== null) return { severity, reasons: [`No CVSS score; vendor severity "${word}": ${severity}`] };
    return { severity: 'medium', reasons: [`No CVSS score; vendor severity "${word}" is not a known word: medium`] };
  }
  return { severity: 'medium', reasons: ['No score published: medium'] };
}

/**
 * Severity of one exposure (an advisory on one host): CVSS or vendor word, then CISA KEV, then the
 * host's criticality; the role is stated so a reader sees what kind of machine it is.
 */
export function classifyExposure(input: ClassificationInput, policy: ClassificationPolicy = DEFAULT_CLASSIFICATION_POLICY): Classification {
  const { severity: base, reasons } = baseSeverity(input, policy);
  let severity = base;
  const kev = input.kev;
  if (kev !== null) {
    const due = kev.dueDate ? ` (federal due date ${kev.dueDate})` : '';
    const since = `In CISA KEV since ${kev.dateAdded}${due}`;
    if (policy.kev.criticalWhenRansomware && kev.knownRansomwareCampaignUse) {
      severity = 'critical';
      reasons.push(`${since}, known ransomware use: critical`);
    } else if (policy.kev.criticalOnHosts.includes(input.host.criticality)) {
      severity = 'critical';
      reasons.push(`${since}, on a host of ${input.host.criticality} criticality: critical`);
    } else {
      const raised = atLeast(severity, policy.kev.minimum);
      reasons.push(raised === severity ? `${since}: stays ${severity}` : `${since}: raised from ${severity} to ${raised}`);
      severity = raised;
    }
  }
  if (policy.raiseOnHosts.includes(input.host.criticality)) {
    const raised = raise(severity);
    reasons.push(
      raised === severity
        ? `Host criticality ${input.host.criticality}: already ${severity}`
        : `Host criticality ${input.host.criticality}: raised from ${severity} to ${raised}`,
    );
    severity = raised;
  }
  reasons.push(`Role: ${input.host.role}`);
  return { severity, reasons };
}
