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
}

export interface EpssScoresTable {
  cve: string;
  epss: number;
  percentile: number;
  score_date: string;
  model_version: string | null;
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
  rollouts: RolloutsTable;
  rollout_targets: RolloutTargetsTable;
  chat_messages: ChatMessagesTable;
  audit_events: AuditEventsTable;
  audit_head: AuditHeadTable;
  jobs: JobsTable;
  leases: LeasesTable;
  feed_state: FeedStateTable;
  epss_scores: EpssScoresTable;
}
