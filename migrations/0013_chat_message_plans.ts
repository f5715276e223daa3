import type { Kysely } from 'kysely';

// Migrations see the database before and after their change, so they take an untyped Kysely.
type AnyDb = Kysely<any>;

/**
 * Which approval plan a posted alert showed (its buttons carry the same hash), and when a newer
 * alert for a changed plan replaced it. `chat.post` dedupes per plan; `chat.update` only touches
 * messages that are not superseded. Faces find the message a click came from by platform and ts.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('chat_messages').addColumn('plan_hash', 'text').execute();
  await db.schema.alterTable('chat_messages').addColumn('superseded_at', 'text').execute();
  // A click names the message it came from (Slack channel + ts, Teams activity id): faces look it up.
  await db.schema.createIndex('chat_messages_platform_ts').on('chat_messages').columns(['platform', 'ts']).execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('chat_messages_platform_ts').ifExists().execute();
  await db.schema.alterTable('chat_messages').dropColumn('superseded_at').execute();
  await db.schema.alterTable('chat_messages').dropColumn('plan_hash').execute();
}
