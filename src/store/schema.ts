import type { Generated } from 'kysely';

/**
 * The typed schema shared by SQLite and PostgreSQL. Portable choices, on purpose:
 * - times are ISO 8601 UTC strings (`2026-11-23T10:00:00.000Z`), which sort as text on both;
 * - JSON is stored as text and parsed in queries' callers (see `json.ts`);
 * - booleans are integers 0/1.
 */
export interface AdvisoriesTable {
  id: string;
  source: string;
  trust: string;
  title: string;
  summary: string;
  url: string | null;
  published_at: string | null;
  modified_at: string | null;
  withdrawn_at: string | null;
  cves: string;
  affected: string;
  cvss_score: number | null;
  cvss_vector: string | null;
  kev: string | null;
  vendor_severity: string | null;
  /** JSON: remediations, threats, products, provenance of vendor feeds (CSAF, MSRC); null otherwise (migration 0003). */
  vendor_details: Generated<string | null>;
  content_hash: string;
  ingested_at: string;
  updated_at: string;
}

export interface AdvisoryCvesTable {
  advisory_id: string;
  cve: string;
}

export interface AdvisoryPackagesTable {
  advisory_id: string;
  ecosystem: string;
  /** Normalised name a host package can carry: the source name and each binary name. */
  name: string;
}

export interface HostsTable {
  id: Generated<number>;
  name: string;
  os: string;
  role: string;
  criticality: string;
  usage: number;
  owner: string;
  groups: string;
  source: string;
  created_at: string;
  updated_at: string;
  last_seen_at: string;
  /** `managed`, `unmanaged` (seen by a scan only) or `foreign` (migration 0005); `stale` is computed. */
  status: Generated<string>;
  /** Foreign devices: `pending`, `attested` or `expired`; null otherwise (migration 0005). */
  attestation: Generated<string | null>;
}

export interface HostPackagesTable {
  host_id: number;
  ecosystem: string;
  name: string;
  version: string;
}

export interface ExposuresTable {
  id: Generated<number>;
  host_id: number;
  advisory_id: string;
  ecosystem: string;
  package: string;
  installed: string;
  fixed: string | null;
  severity: string;
  reasons: string;
  detected_at: string;
  due_at: string;
  status: string;
  resolved_at: string | null;
  case_id: number | null;
  /** The exemption or mitigation that holds this exposure (status `exempt`/`mitigated`), migration 0006. */
  exemption_id: Generated<number | null>;
}

export interface CasesTable {
  id: Generated<number>;
  advisory_id: string;
  title: string;
  severity: string;
  state: string;
  reasons: string;
  requested_by: string;
  due_at: string;
  created_at: string;
  updated_at: string;
  decided_at: string | null;
  plan_hash: string | null;
  channel: string | null;
  /** An operator's severity for this case, kept across re-assessment (migration 0006). */
  severity_override: Generated<string | null>;
  override_reason: Generated<string | null>;
  override_by: Generated<string | null>;
  override_at: Generated<string | null>;
  /** When the current approval request was posted; its TTL counts from here (null: created_at). Migration 0008. */
  approval_requested_at: Generated<string | null>;
  /** When the approval request outlived its TTL and was escalated (migration 0008). */
  approval_expired_at: Generated<string | null>;
  /** A deferred case returns to awaiting_approval at this time (migration 0008). */
  deferred_until: Generated<string | null>;
  /** When the case was listed in its channel's daily digest (migration 0015). */
  digested_at: Generated<string | null>;
}

export interface VotesTable {
  id: Generated<number>;
  case_id: number;
  stage: string;
  person: string;
  decision: string;
  via: string;
  comment: string | null;
  at: string;
  /** `counted`, or `void` once the plan it was cast for changed (migration 0008). */
  status: Generated<string>;
  /** The case's plan hash when the vote was cast (migration 0008). */
  plan_hash: Generated<string | null>;
  voided_at: Generated<string | null>;
  void_reason: Generated<string | null>;
}

/** A chat vote waiting for its voter to sign in again on the web (migration 0016). */
export interface PendingVotesTable {
  id: Generated<number>;
  case_id: number;
  stage: string;
  person: string;
  decision: string;
  via: string;
  comment: string | null;
  plan_hash: string | null;
  /** SHA-256 (hex) of the confirmation link's token; the token itself is never stored. */
  token_hash: string;
  /** `pending_reauth`, `confirmed` or `void`. */
  status: string;
  created_at: string;
  expires_at: string;
  resolved_at: string | null;
  void_reason: string | null;
}

export interface RolloutsTable {
  id: Generated<number>;
  case_id: number;
  state: string;
  connector: string;
  started_by: string;
  plan: string;
  current_wave: number;
  halted_reason: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

export interface RolloutTargetsTable {
  id: Generated<number>;
  rollout_id: number;
  host_id: number;
  host_name: string;
  wave: number;
  ring: string;
  state: string;
  detail: string | null;
  attempts: number;
  updated_at: string;
}

export interface ChatMessagesTable {
  id: Generated<number>;
  case_id: number | null;
  purpose: string;
  platform: string;
  channel: string;
  ts: string | null;
  payload: string;
  created_at: string;
  updated_at: string;
  /** The approval plan the message showed (migration 0013); null for messages without one. */
  plan_hash: string | null;
  /** Set when a newer alert for a changed plan replaced this one; such messages are no longer updated. */
  superseded_at: string | null;
}

export interface AuditEventsTable {
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject_type: string;
  subject_id: string;
  before: string | null;
  after: string | null;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

export interface JobsTable {
  id: Generated<number>;
  kind: string;
  payload: string;
  state: string;
  run_at: string;
  attempts: number;
  max_attempts: number;
  lease_owner: string | null;
  lease_until: string | null;
  fence: number;
  last_error: string | null;
  unique_key: string | null;
  created_at: string;
  updated_at: string;
}

export interface LeasesTable {
  name: string;
  owner: string;
  until: string;
  fence: number;
}

export interface FeedStateTable {
  name: string;
  kind: string;
  last_run_at: string | null;
  last_success_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
  consecutive_failures: number;
  items: number;
  /** Validators of the last good fetch of `validators_url` (migration 0004). */
  etag: string | null;
  last_modified: string | null;
  validators_url: string | null;
  /** A busy or failing server asked us to wait: polls skip the feed until then. */
  next_attempt_at: string | null;
  /** When the current run of failures was posted to the ops channel; cleared by a good run. */
  failure_notified_at: string | null;
}

/** One downloaded patch artifact per URL; the file is `<artifacts.dir>/sha256/<ab>/<sha256>`. */
export interface ArtifactsTable {
  url: string;
  sha256: string;
  /** bigint: PostgreSQL returns it as a string; read with Number(). */
  size: number | string;
  content_type: string | null;
  fetched_at: string;
  fetched_by: string;
}

export interface CaseArtifactsTable {
  case_id: number;
  url: string;
  /** `csaf` (a remediation URL in the advisory) or `source` (config artifacts.sources). */
  origin: string;
  ecosystem: string | null;
  package: string | null;
  version: string | null;
  linked_at: string;
}

/** A feed document refused by its authenticity checks (hash, OpenPGP signature); never ingested (migration 0003). */
export interface FeedQuarantineTable {
  id: Generated<number>;
  feed: string;
  location: string;
  reason: string;
  detail: string;
  sha256: string;
  received_at: string;
}

/** An exemption (accepted risk) or mitigation (workaround) with a required expiry, migration 0006. */
export interface ExemptionsTable {
  id: Generated<number>;
  /** `exemption` or `mitigation`. */
  kind: string;
  /** Exactly one of host and group_name. */
  host: string | null;
  group_name: string | null;
  /** Exactly one of advisory_id and package. */
  advisory_id: string | null;
  package: string | null;
  control: string;
  reason: string;
  approved_by: string;
  created_by: string;
  created_at: string;
  expires_at: string;
  expired_at: string | null;
  revoked_at: string | null;
}

export interface EpssScoresTable {
  cve: string;
  epss: number;
  percentile: number;
  score_date: string;
  model_version: string | null;
}

/**
 * A document a feed last ingested (migration 0012): sha256 of its bytes, the kind that parsed it,
 * the records it gave and, for CSAF, its `changes.csv` timestamp; unchanged documents are skipped.
 */
export interface FeedDocumentsTable {
  feed: string;
  location: string;
  kind: string;
  sha256: string;
  stamp: string | null;
  records: number;
  ingested_at: string;
}

/** A reboot the host's owner is asked about before a rollout reboots the host (migration 0014). */
export interface RebootNoticesTable {
  id: Generated<number>;
  target_id: number;
  rollout_id: number;
  case_id: number;
  host_name: string;
  /** Person id of the host's owner: the only one who may decide. */
  owner: string;
  /** `scheduled` (waiting for the owner or the time) or `rebooting` (handed to the connector). */
  state: string;
  postpones: number;
  reboot_at: string;
  deadline_at: string;
  /** `reboot_now`, `postpone`, `due` (the time came), or null. */
  last_decision: string | null;
  decided_by: string | null;
  decided_at: string | null;
  created_at: string;
  updated_at: string;
}

/** Event ids a chat platform delivered, so a redelivery (Slack's retries) is processed once. */
export interface ChatEventReceiptsTable {
  platform: string;
  event_id: string;
  received_at: string;
}

/** A Teams conversation the bot was added to or spoken to in; `reference` is the stored ConversationReference (JSON). */
export interface TeamsConversationsTable {
  conversation_id: string;
  channel_name: string | null;
  team_name: string | null;
  tenant_id: string | null;
  service_url: string;
  reference: string;
  updated_at: string;
}

/** The Teams user id (MRI, `29:…`) last seen for an Entra object id. */
export interface TeamsUsersTable {
  aad_object_id: string;
  user_id: string;
  updated_at: string;
}

export interface Database {
  advisories: AdvisoriesTable;
  advisory_cves: AdvisoryCvesTable;
  advisory_packages: AdvisoryPackagesTable;
  hosts: HostsTable;
  host_packages: HostPackagesTable;
  exposures: ExposuresTable;
  cases: CasesTable;
  votes: VotesTable;
  pending_votes: PendingVotesTable;
  rollouts: RolloutsTable;
  rollout_targets: RolloutTargetsTable;
  chat_messages: ChatMessagesTable;
  audit_events: AuditEventsTable;
  audit_head: AuditHeadTable;
  jobs: JobsTable;
  leases: LeasesTable;
  feed_state: FeedStateTable;
  epss_scores: EpssScoresTable;
  exemptions: ExemptionsTable;
  feed_quarantine: FeedQuarantineTable;
  artifacts: ArtifactsTable;
  case_artifacts: CaseArtifactsTable;
  teams_conversations: TeamsConversationsTable;
  teams_users: TeamsUsersTable;
  chat_event_receipts: ChatEventReceiptsTable;
  reboot_notices: RebootNoticesTable;
  feed_documents: FeedDocumentsTable;
}
