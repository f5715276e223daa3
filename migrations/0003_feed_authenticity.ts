import { PostgresAdapter, type Kysely } from 'kysely';

// Migrations see the database before and after their change, so they take an untyped Kysely.
type AnyDb = Kysely<any>;

/**
 * Vendor feeds (CSAF, MSRC): `advisories.vendor_details` holds remediations, threats, named products
 * and how the source document was verified (JSON text, null for other feeds). `feed_quarantine` keeps
 * each document refused by its authenticity checks (hash or OpenPGP signature): never ingested, kept
 * for the operator to look at.
 */
export async function up(db: AnyDb): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema.alterTable('advisories').addColumn('vendor_details', 'text').execute();
  await db.schema
    .createTable('feed_quarantine')
    .addColumn('id', 'integer', (c) => (pg ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement()))
    .addColumn('feed', 'text', (c) => c.notNull())
    .addColumn('location', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('feed_quarantine_feed').on('feed_quarantine').columns(['feed', 'received_at']).execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('feed_quarantine').ifExists().execute();
  await db.schema.alterTable('advisories').dropColumn('vendor_details').execute();
}
