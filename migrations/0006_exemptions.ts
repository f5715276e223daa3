import { PostgresAdapter, type ColumnDefinitionBuilder, type Kysely } from 'kysely';

// Migrations see the database before and after their change, so they take an untyped Kysely.
type AnyDb = Kysely<any>;

/**
 * Exemptions and mitigations (an accepted risk, or a workaround instead of a patch): each covers a host
 * or a group, an advisory or a package, names its compensating control and approver, and must expire.
 * Exposures point at the exemption that holds them; cases keep an operator's severity override.
 */
export async function up(db: AnyDb): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const idColumn = (builder: ColumnDefinitionBuilder) =>
    pg ? builder.primaryKey().generatedByDefaultAsIdentity() : builder.primaryKey().autoIncrement();
  await db.schema
    .createTable('exemptions')
    .addColumn('id', 'integer', idColumn)
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('host', 'text')
    .addColumn('group_name', 'text')
    .addColumn('advisory_id', 'text')
    .addColumn('package', 'text')
    .addColumn('control', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('approved_by', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('expired_at', 'text')
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema.createIndex('exemptions_expires_at').on('exemptions').column('expires_at').execute();
  await db.schema.alterTable('exposures').addColumn('exemption_id', 'integer').execute();
  await db.schema.alterTable('cases').addColumn('severity_override', 'text').execute();
  await db.schema.alterTable('cases').addColumn('override_reason', 'text').execute();
  await db.schema.alterTable('cases').addColumn('override_by', 'text').execute();
  await db.schema.alterTable('cases').addColumn('override_at', 'text').execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const column of ['override_at', 'override_by', 'override_reason', 'severity_override']) {
    await db.schema.alterTable('cases').dropColumn(column).execute();
  }
  await db.schema.alterTable('exposures').dropColumn('exemption_id').execute();
  await db.schema.dropTable('exemptions').ifExists().execute();
}
