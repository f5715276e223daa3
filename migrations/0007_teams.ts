import type { Kysely } from 'kysely';

// Migrations see the database before and after their change, so they take an untyped Kysely.
type AnyDb = Kysely<any>;

/**
 * Microsoft Teams: where the bot may post (one stored conversation reference per conversation, the
 * only way to send a proactive message) and which Teams user id (MRI) belongs to which Entra object
 * id, so a card can ask the clients of known approvers to refresh it.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('teams_conversations')
    .addColumn('conversation_id', 'text', (c) => c.primaryKey())
    .addColumn('channel_name', 'text')
    .addColumn('team_name', 'text')
    .addColumn('tenant_id', 'text')
    .addColumn('service_url', 'text', (c) => c.notNull())
    .addColumn('reference', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('teams_conversations_channel').on('teams_conversations').columns(['channel_name', 'updated_at']).execute();

  await db.schema
    .createTable('teams_users')
    .addColumn('aad_object_id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('teams_users').ifExists().execute();
  await db.schema.dropTable('teams_conversations').ifExists().execute();
}
