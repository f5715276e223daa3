/** Shared vocabulary of the domain. Pure data: no behaviour, no I/O. */

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

export const CRITICALITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Criticality = (typeof CRITICALITIES)[number];

/** Free-form in inventories, but these are the roles the policy knows about. */
export const KNOWN_ROLES = ['server', 'workstation', 'laptop', 'network', 'database', 'kiosk'] as const;

export const FEED_KINDS = ['kev', 'osv', 'rss'] as const;
export type FeedKind = string;

/** `authoritative` comes from a vendor or a curated database; `hint` is news (RSS) awaiting confirmation. */
export type AdvisoryTrust = 'authoritative' | 'hint';

export interface RangeEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

export interface AffectedRange {
  /** OSV range type: ECOSYSTEM, SEMVER or GIT (GIT ranges hold commits and never match versions). */
  type: string;
  events: RangeEvent[];
}

export interface AffectedPackage {
  ecosystem: string;
  /** Package name as the source publishes it (Ubuntu/Debian: the source package). */
  name: string;
  /** Binary package names built from `name` (Ubuntu OSV `ecosystem_specific.binaries`). */
  binaries: string[];
  ranges: AffectedRange[];
  versions: string[];
  /**
   * Windows only (ecosystem `Windows`, name = the fixing KB such as `KB5032190`, ranges and versions
   * empty): KB ids this update supersedes (MSRC CVRF `Supercedence`, e.g. `KB5031354`), and KB ids known
   * to supersede it. Matching builds one supersedence graph from every advisory's entries.
   */
  supersedes?: string[];
  supersededBy?: string[];
}

/** One FIRST EPSS score: the probability of exploitation activity in the next 30 days, and its percentile, as of a day. */
export interface EpssScoreInput {
  cve: string;
  /** 0..1 */
  epss: number;
  /** 0..1 */
  percentile: number;
  /** `YYYY-MM-DD`, the day the score is for. */
  scoreDate: string;
  modelVersion: string | null;
}

export interface KevFacts {
  dateAdded: string;
  dueDate: string | null;
  knownRansomwareCampaignUse: boolean;
  requiredAction: string;
  vendor: string;
  product: string;
}

export interface CvssFacts {
  score: number | null;
  vector: string | null;
}

/** An advisory as a feed plugin hands it to the workflow, already normalised. */
export interface AdvisoryInput {
  id: string;
  source: FeedKind;
  trust: AdvisoryTrust;
  title: string;
  summary: string;
  url: string | null;
  publishedAt: string | null;
  modifiedAt: string | null;
  withdrawnAt: string | null;
  cves: string[];
  affected: AffectedPackage[];
  cvss: CvssFacts | null;
  kev: KevFacts | null;
  /** Source-specific severity words, e.g. Ubuntu priority or GitHub rating, kept for the reasons text. */
  vendorSeverity: string | null;
  /** Vendor facts beyond the match data (CSAF, MSRC); stored in `advisories.vendor_details`. */
  remediations?: AdvisoryRemediation[];
  threats?: AdvisoryThreat[];
  products?: AdvisoryProduct[];
  provenance?: AdvisoryProvenance;
}

/** A vendor's remedy for some products: CSAF `remediations[]`, MSRC `vuln:Remediation`. */
export interface AdvisoryRemediation {
  /** CSAF category (`vendor_fix`, `workaround`, `mitigation`, `no_fix_planned`, `none_available`) or MSRC Type in that form. */
  category: string;
  details: string;
  url: string | null;
  productIds: string[];
  /** MSRC: the KB article (`KB5032189`), what it supersedes, and the build that carries the fix. */
  kb?: string | null;
  supercedence?: string | null;
  fixedBuild?: string | null;
  /** MSRC `RestartRequired` (`Yes`, `Maybe`, `No`); CSAF `restart_required.category` (`none`, `machine`, …). */
  restartRequired?: string | null;
}

/** A vendor's statement about impact or exploitation: CSAF `threats[]`, MSRC `vuln:Threat`. */
export interface AdvisoryThreat {
  /** `impact`, `exploit_status`, `target_set` (CSAF), or MSRC Type (`Severity`, `Impact`, `Exploit Status`) lower-cased with `_`. */
  category: string;
  details: string;
  productIds: string[];
}

/** A product the vendor's document names, with what identifies it. */
export interface AdvisoryProduct {
  id: string;
  name: string;
  cpe: string | null;
  purl: string | null;
  /** CSAF product status (`fixed`, `known_affected`, …) the product is listed under, if any. */
  status: string[];
}

/** How far the document an advisory came from was checked (CSAF hashes and OpenPGP signature). */
export interface AdvisoryProvenance {
  /** `signed`: hash files (when published) and the signature verified with a key the provider lists. `unverified`: nothing to check against. */
  verification: 'signed' | 'unverified';
  /** `file` when the operator named it on disk, `url` when fetched. */
  origin: 'file' | 'url';
  /** Fingerprint of the key that made the signature, upper-case hex. */
  signer: string | null;
  /** Hash files that matched (`sha256`, `sha512`). */
  hashes: string[];
}

export interface HostPackage {
  ecosystem: string;
  name: string;
  version: string;
}

export interface HostInput {
  name: string;
  os: string;
  role: string;
  criticality: Criticality;
  /** Share of the working day the machine is in use, 0..1. Busy machines patch first. */
  usage: number;
  owner: string;
  groups: string[];
  packages: HostPackage[];
}

export const CASE_STATES = [
  'identified',
  'assessed',
  'awaiting_approval',
  'approved',
  'rejected',
  'deferred',
  'testing',
  'piloting',
  'pilot_signed_off',
  'deploying',
  'verifying',
  'completed',
  'halted',
  'rolled_back',
  'reviewed',
  'not_applicable',
  'mitigated',
] as const;
export type CaseState = (typeof CASE_STATES)[number];

export const TARGET_STATES = [
  'queued',
  'dispatched',
  'installed',
  'failed',
  'reboot_pending',
  'rebooted',
  'reboot_failed',
  'verified',
] as const;
export type TargetState = (typeof TARGET_STATES)[number];

export const ROLLOUT_STATES = ['piloting', 'awaiting_signoff', 'deploying', 'completed', 'halted'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

export type VoteStage = 'approval' | 'pilot_signoff';
export type VoteDecision = 'approve' | 'reject';
export type Channel = 'slack' | 'web' | 'cli' | 'teams';
