import type { Kysely } from 'kysely';

// Migrations see the database before and after their change, so they take an untyped Kysely.
type AnyDb = Kysely<any>;

/**
 * The grown-up approval policy. Votes keep a status (`counted`, or `void` once the plan they were cast
 * for changed) and the plan hash they were cast for. Cases remember when the current approval request
 * was posted (its TTL counts from there), when it expired and was escalated, and until when a
 * deferral lasts.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('votes').addColumn('status', 'text', (c) => c.notNull().defaultTo('counted')).execute();
  await db.schema.alterTable('votes').addColumn('plan_hash', 'text').execute();
  await db.schema.alterTable('votes').addColumn('voided_at', 'text').execute();
  await db.schema.alterTable('votes').addColumn('void_reason', 'text').execute();
  await db.schema.alterTable('cases').addColumn('approval_requested_at', 'text').execute();
  await db.schema.alterTable('cases').addColumn('approval_expired_at', 'text').execute();
  await db.schema.alterTable('cases').addColumn('deferred_until', 'text').execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const column of ['deferred_until', 'approval_expired_at', 'approval_requested_at']) {
    await db.schema.alterTable('cases').dropColumn(column).execute();
  }
  for (const column of ['void_reason', 'voided_at', 'plan_hash', 'status']) {
    await db.schema.alterTable('votes').dropColumn(column).execute();
  }
}
