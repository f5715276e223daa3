import type { Kysely } from 'kysely';

// Migrations see the database before and after their change, so they take an untyped Kysely.
type AnyDb = Kysely<any>;

/**
 * Host states: `status` is what the inventory knows of a host (`managed` from an inventory source,
 * `unmanaged` seen only by a scan, `foreign` a contractor or guest device tracked by attestation);
 * `stale` is not stored but computed from `last_seen_at` and the clock. `attestation` is the foreign
 * device's attestation state (`pending`, `attested`, `expired`), null for other hosts. Also a covering
 * index for matching on distinct package triples.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('hosts').addColumn('status', 'text', (c) => c.notNull().defaultTo('managed')).execute();
  await db.schema.alterTable('hosts').addColumn('attestation', 'text').execute();
  await db.schema.createIndex('hosts_status').on('hosts').column('status').execute();
  // Matching reads distinct (ecosystem, name, version) triples and the hosts holding one: an index
  // covering both answers from the index alone. It starts with (ecosystem, name), so it replaces that one.
  await db.schema.createIndex('host_packages_triple').on('host_packages').columns(['ecosystem', 'name', 'version', 'host_id']).execute();
  await db.schema.dropIndex('host_packages_lookup').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.createIndex('host_packages_lookup').on('host_packages').columns(['ecosystem', 'name']).execute();
  await db.schema.dropIndex('host_packages_triple').ifExists().execute();
  await db.schema.dropIndex('hosts_status').ifExists().execute();
  await db.schema.alterTable('hosts').dropColumn('attestation').execute();
  await db.schema.alterTable('hosts').dropColumn('status').execute();
}
