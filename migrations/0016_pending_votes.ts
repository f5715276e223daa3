import { PostgresAdapter, type ColumnDefinitionBuilder, type Kysely } from 'kysely';

// Migrations see the database before and after their change, so they take an untyped Kysely.
type AnyDb = Kysely<any>;

/**
 * Re-authentication for critical votes: a chat vote on a case whose approval rule has `requireReauth`
 * waits here (not counted) until the voter confirms it on the web console after a fresh sign-in. The
 * confirmation link carries a random token; only its SHA-256 is stored.
 */
export async function up(db: AnyDb): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const idColumn = (builder: ColumnDefinitionBuilder) =>
    pg ? builder.primaryKey().generatedByDefaultAsIdentity() : builder.primaryKey().autoIncrement();
  await db.schema
    .createTable('pending_votes')
    .addColumn('id', 'integer', idColumn)
    .addColumn('case_id', 'integer', (c) => c.notNull().references('cases.id').onDelete('cascade'))
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('person', 'text', (c) => c.notNull())
    .addColumn('decision', 'text', (c) => c.notNull())
    .addColumn('via', 'text', (c) => c.notNull())
    .addColumn('comment', 'text')
    /** The plan the voter saw; a different plan at confirmation voids the pending vote. */
    .addColumn('plan_hash', 'text')
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    /** `pending_reauth`, `confirmed`, `void` (plan changed, refused, superseded by a newer click). */
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('resolved_at', 'text')
    .addColumn('void_reason', 'text')
    .execute();
  await db.schema.createIndex('pending_votes_case_person').on('pending_votes').columns(['case_id', 'person']).execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('pending_votes').ifExists().execute();
}
