import type { Kysely } from 'kysely';

// Migrations see the database before and after their change, so they take an untyped Kysely.
type AnyDb = Kysely<any>;

/**
 * Patch artifact cache. `artifacts`: one row per downloaded URL with the sha256 and size of what it
 * served (the file itself lives at `<artifacts.dir>/sha256/<first two hex digits>/<sha256>`, shared by
 * URLs that served the same bytes). `case_artifacts`: which case needs which artifact, for which package.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('artifacts')
    .addColumn('url', 'text', (c) => c.primaryKey())
    .addColumn('sha256', 'text', (c) => c.notNull())
    // Packages and MSU files can pass 2 GiB.
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('content_type', 'text')
    .addColumn('fetched_at', 'text', (c) => c.notNull())
    .addColumn('fetched_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('artifacts_sha256').on('artifacts').column('sha256').execute();

  await db.schema
    .createTable('case_artifacts')
    .addColumn('case_id', 'integer', (c) => c.notNull().references('cases.id').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull().references('artifacts.url').onDelete('cascade'))
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('ecosystem', 'text')
    .addColumn('package', 'text')
    .addColumn('version', 'text')
    .addColumn('linked_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('case_artifacts_pk', ['case_id', 'url'])
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('case_artifacts').ifExists().execute();
  await db.schema.dropTable('artifacts').ifExists().execute();
}
