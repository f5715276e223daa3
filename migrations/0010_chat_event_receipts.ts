import type { Kysely } from 'kysely';

// Migrations see the database before and after their change, so they take an untyped Kysely.
type AnyDb = Kysely<any>;

/**
 * Event ids a chat platform already delivered. Slack resends an event it thinks we missed
 * (`X-Slack-Retry-Num`); the first delivery claims the id and the retries find it taken.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('chat_event_receipts')
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('chat_event_receipts_pk', ['platform', 'event_id'])
    .execute();
  await db.schema.createIndex('chat_event_receipts_received_at').on('chat_event_receipts').column('received_at').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('chat_event_receipts').ifExists().execute();
}
