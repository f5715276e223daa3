import type { Kysely } from 'kysely';

// Migrations see the database before and after their change, so they take an untyped Kysely.
type AnyDb = Kysely<any>;

/**
 * Digest mode: a Medium or Low case routed to a channel in digest mode is not posted on its own but
 * listed in the channel's next daily digest; `digested_at` says it was, so it is listed once.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('cases').addColumn('digested_at', 'text').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable('cases').dropColumn('digested_at').execute();
}
