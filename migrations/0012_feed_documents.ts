import type { Kysely } from 'kysely';

// Migrations see the database before and after their change, so they take an untyped Kysely.
type AnyDb = Kysely<any>;

/**
 * What each feed last ingested per document location: the sha256 of the document's bytes, the kind
 * that parsed it, how many records it gave, and (CSAF) the `changes.csv` timestamp it was listed
 * with. A run skips parsing a document whose bytes hash is unchanged, and a CSAF poll skips fetching
 * a document whose listed timestamp is not newer.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('feed_documents')
    .addColumn('feed', 'text', (c) => c.notNull())
    .addColumn('location', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('stamp', 'text')
    .addColumn('records', 'integer', (c) => c.notNull())
    .addColumn('ingested_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('feed_documents_pk', ['feed', 'location'])
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('feed_documents').ifExists().execute();
}
