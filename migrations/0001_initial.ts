import { PostgresAdapter, type ColumnDefinitionBuilder, type Kysely } from 'kysely';

/** The first schema. Runs on SQLite and PostgreSQL; `id` columns differ only in how they auto-number. */
// Migrations see the database before and after their change, so they take an untyped Kysely.
type AnyDb = Kysely<any>;

export function isPostgres(db: AnyDb): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

export async function up(db: AnyDb): Promise<void> {
  const pg = isPostgres(db);
  const idColumn = (builder: ColumnDefinitionBuilder) =>
    pg ? builder.primaryKey().generatedByDefaultAsIdentity() : builder.primaryKey().autoIncrement();
  // PostgreSQL's `real` is 4 bytes and would turn 0.35 into 0.3499999940395355.
  const floatType = pg ? 'double precision' : 'real';

  await db.schema
    .createTable('advisories')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('trust', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('url', 'text')
    .addColumn('published_at', 'text')
    .addColumn('modified_at', 'text')
    .addColumn('withdrawn_at', 'text')
    .addColumn('cves', 'text', (c) => c.notNull())
    .addColumn('affected', 'text', (c) => c.notNull())
    .addColumn('cvss_score', floatType)
    .addColumn('cvss_vector', 'text')
    .addColumn('kev', 'text')
    .addColumn('vendor_severity', 'text')
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .addColumn('ingested_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('advisories_source').on('advisories').column('source').execute();

  await db.schema
    .createTable('advisory_cves')
    .addColumn('advisory_id', 'text', (c) => c.notNull().references('advisories.id').onDelete('cascade'))
    .addColumn('cve', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('advisory_cves_pk', ['advisory_id', 'cve'])
    .execute();
  await db.schema.createIndex('advisory_cves_cve').on('advisory_cves').column('cve').execute();

  await db.schema
    .createTable('advisory_packages')
    .addColumn('advisory_id', 'text', (c) => c.notNull().references('advisories.id').onDelete('cascade'))
    .addColumn('ecosystem', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('advisory_packages_pk', ['advisory_id', 'ecosystem', 'name'])
    .execute();
  await db.schema.createIndex('advisory_packages_lookup').on('advisory_packages').columns(['ecosystem', 'name']).execute();

  await db.schema
    .createTable('hosts')
    .addColumn('id', 'integer', idColumn)
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('os', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('criticality', 'text', (c) => c.notNull())
    .addColumn('usage', floatType, (c) => c.notNull())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('groups', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('host_packages')
    .addColumn('host_id', 'integer', (c) => c.notNull().references('hosts.id').onDelete('cascade'))
    .addColumn('ecosystem', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('host_packages_pk', ['host_id', 'ecosystem', 'name', 'version'])
    .execute();
  await db.schema.createIndex('host_packages_lookup').on('host_packages').columns(['ecosystem', 'name']).execute();

  await db.schema
    .createTable('cases')
    .addColumn('id', 'integer', idColumn)
    .addColumn('advisory_id', 'text', (c) => c.notNull().unique().references('advisories.id'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('reasons', 'text', (c) => c.notNull())
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('due_at', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('decided_at', 'text')
    .addColumn('plan_hash', 'text')
    .addColumn('channel', 'text')
    .execute();
  await db.schema.createIndex('cases_state').on('cases').column('state').execute();

  await db.schema
    .createTable('exposures')
    .addColumn('id', 'integer', idColumn)
    .addColumn('host_id', 'integer', (c) => c.notNull().references('hosts.id').onDelete('cascade'))
    .addColumn('advisory_id', 'text', (c) => c.notNull().references('advisories.id').onDelete('cascade'))
    .addColumn('ecosystem', 'text', (c) => c.notNull())
    .addColumn('package', 'text', (c) => c.notNull())
    .addColumn('installed', 'text', (c) => c.notNull())
    .addColumn('fixed', 'text')
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('reasons', 'text', (c) => c.notNull())
    .addColumn('detected_at', 'text', (c) => c.notNull())
    .addColumn('due_at', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('resolved_at', 'text')
    .addColumn('case_id', 'integer', (c) => c.references('cases.id'))
    .addUniqueConstraint('exposures_unique', ['host_id', 'advisory_id', 'ecosystem', 'package'])
    .execute();
  await db.schema.createIndex('exposures_status').on('exposures').columns(['status', 'severity']).execute();
  await db.schema.createIndex('exposures_case').on('exposures').column('case_id').execute();

  await db.schema
    .createTable('votes')
    .addColumn('id', 'integer', idColumn)
    .addColumn('case_id', 'integer', (c) => c.notNull().references('cases.id').onDelete('cascade'))
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('person', 'text', (c) => c.notNull())
    .addColumn('decision', 'text', (c) => c.notNull())
    .addColumn('via', 'text', (c) => c.notNull())
    .addColumn('comment', 'text')
    .addColumn('at', 'text', (c) => c.notNull())
    .addUniqueConstraint('votes_one_per_person', ['case_id', 'stage', 'person'])
    .execute();

  await db.schema
    .createTable('rollouts')
    .addColumn('id', 'integer', idColumn)
    .addColumn('case_id', 'integer', (c) => c.notNull().references('cases.id').onDelete('cascade'))
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('connector', 'text', (c) => c.notNull())
    .addColumn('started_by', 'text', (c) => c.notNull())
    .addColumn('plan', 'text', (c) => c.notNull())
    .addColumn('current_wave', 'integer', (c) => c.notNull())
    .addColumn('halted_reason', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('completed_at', 'text')
    .execute();
  await db.schema.createIndex('rollouts_case').on('rollouts').column('case_id').execute();

  await db.schema
    .createTable('rollout_targets')
    .addColumn('id', 'integer', idColumn)
    .addColumn('rollout_id', 'integer', (c) => c.notNull().references('rollouts.id').onDelete('cascade'))
    .addColumn('host_id', 'integer', (c) => c.notNull().references('hosts.id').onDelete('cascade'))
    .addColumn('host_name', 'text', (c) => c.notNull())
    .addColumn('wave', 'integer', (c) => c.notNull())
    .addColumn('ring', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('detail', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('rollout_targets_unique', ['rollout_id', 'host_id'])
    .execute();
  await db.schema.createIndex('rollout_targets_wave').on('rollout_targets').columns(['rollout_id', 'wave', 'state']).execute();

  await db.schema
    .createTable('chat_messages')
    .addColumn('id', 'integer', idColumn)
    .addColumn('case_id', 'integer', (c) => c.references('cases.id').onDelete('cascade'))
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('ts', 'text')
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('chat_messages_case').on('chat_messages').columns(['case_id', 'purpose']).execute();

  await db.schema
    .createTable('audit_events')
    .addColumn('seq', 'integer', (c) => c.primaryKey())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('subject_type', 'text', (c) => c.notNull())
    .addColumn('subject_id', 'text', (c) => c.notNull())
    .addColumn('before', 'text')
    .addColumn('after', 'text')
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_subject').on('audit_events').columns(['subject_type', 'subject_id']).execute();

  await db.schema
    .createTable('audit_head')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await db.insertInto('audit_head').values({ id: 1, seq: 0, hash: 'genesis' }).execute();

  await db.schema
    .createTable('jobs')
    .addColumn('id', 'integer', idColumn)
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('run_at', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', 'text')
    .addColumn('fence', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('unique_key', 'text', (c) => c.unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('jobs_ready').on('jobs').columns(['state', 'run_at']).execute();

  await db.schema
    .createTable('leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('until', 'text', (c) => c.notNull())
    .addColumn('fence', 'integer', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('feed_state')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('last_run_at', 'text')
    .addColumn('last_success_at', 'text')
    .addColumn('last_error', 'text')
    .addColumn('last_error_at', 'text')
    .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('items', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const table of [
    'feed_state', 'leases', 'jobs', 'audit_head', 'audit_events', 'chat_messages', 'rollout_targets', 'rollouts',
    'votes', 'exposures', 'cases', 'host_packages', 'hosts', 'advisory_packages', 'advisory_cves', 'advisories',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
