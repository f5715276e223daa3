import type { Kysely } from 'kysely';

// Migrations see the database before and after their change, so they take an untyped Kysely.
type AnyDb = Kysely<any>;

const COLUMNS = ['etag', 'last_modified', 'validators_url', 'next_attempt_at', 'failure_notified_at'] as const;

/**
 * Per-feed fetch state: the HTTP validators of the last good fetch (sent back as If-None-Match /
 * If-Modified-Since, and only for the same URL), when a feed whose server was busy or down may be
 * tried again, and when its run of failures was reported to the ops channel (so it is reported once).
 */
export async function up(db: AnyDb): Promise<void> {
  // One column per statement: SQLite's ALTER TABLE adds one column at a time.
  for (const column of COLUMNS) {
    await db.schema.alterTable('feed_state').addColumn(column, 'text').execute();
  }
}

export async function down(db: AnyDb): Promise<void> {
  for (const column of [...COLUMNS].reverse()) {
    await db.schema.alterTable('feed_state').dropColumn(column).execute();
  }
}
