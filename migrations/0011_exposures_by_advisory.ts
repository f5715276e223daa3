import type { Kysely } from 'kysely';

// Migrations see the database before and after their change, so they take an untyped Kysely.
type AnyDb = Kysely<any>;

/**
 * Incremental assessment reads one advisory's exposures (a new or changed advisory, and the cases it
 * may open); without this index that is a scan of every exposure in the fleet.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.createIndex('exposures_advisory').on('exposures').columns(['advisory_id', 'status']).execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('exposures_advisory').ifExists().execute();
}
