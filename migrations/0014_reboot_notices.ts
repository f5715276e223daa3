import { PostgresAdapter, type ColumnDefinitionBuilder, type Kysely } from 'kysely';

// Migrations see the database before and after their change, so they take an untyped Kysely.
type AnyDb = Kysely<any>;

/**
 * End-user reboot notices: before a rollout reboots a host, its owner is asked ("Reboot now",
 * "Postpone"). One notice per rollout target; `reboot_at` is when the reboot happens unless the owner
 * answers, never later than `deadline_at`.
 */
export async function up(db: AnyDb): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const idColumn = (builder: ColumnDefinitionBuilder) =>
    pg ? builder.primaryKey().generatedByDefaultAsIdentity() : builder.primaryKey().autoIncrement();
  await db.schema
    .createTable('reboot_notices')
    .addColumn('id', 'integer', idColumn)
    .addColumn('target_id', 'integer', (c) => c.notNull().unique().references('rollout_targets.id').onDelete('cascade'))
    .addColumn('rollout_id', 'integer', (c) => c.notNull())
    .addColumn('case_id', 'integer', (c) => c.notNull())
    .addColumn('host_name', 'text', (c) => c.notNull())
    .addColumn('owner', 'text', (c) => c.notNull())
    /** `scheduled` (waiting for the owner or the time), `rebooting` (handed to the connector). */
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('postpones', 'integer', (c) => c.notNull())
    .addColumn('reboot_at', 'text', (c) => c.notNull())
    .addColumn('deadline_at', 'text', (c) => c.notNull())
    /** `reboot_now`, `postpone`, `due` (the time came), or null. */
    .addColumn('last_decision', 'text')
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('reboot_notices_rollout').on('reboot_notices').column('rollout_id').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('reboot_notices').ifExists().execute();
}
