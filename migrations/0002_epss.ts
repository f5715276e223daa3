import { PostgresAdapter, type Kysely } from 'kysely';

// Migrations see the database before and after their change, so they take an untyped Kysely.
type AnyDb = Kysely<any>;

/** FIRST EPSS scores, one row per CVE: the latest score and percentile and the date they are for. */
export async function up(db: AnyDb): Promise<void> {
  const floatType = db.getExecutor().adapter instanceof PostgresAdapter ? 'double precision' : 'real';
  await db.schema
    .createTable('epss_scores')
    .addColumn('cve', 'text', (c) => c.primaryKey())
    .addColumn('epss', floatType, (c) => c.notNull())
    .addColumn('percentile', floatType, (c) => c.notNull())
    .addColumn('score_date', 'text', (c) => c.notNull())
    .addColumn('model_version', 'text')
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('epss_scores').ifExists().execute();
}
