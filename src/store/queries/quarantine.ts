import { createHash } from 'node:crypto';
import type { Executor } from '../db.js';

/** A document a feed run refused (hash or signature failed), as stored in `feed_quarantine`. */
export interface QuarantineRecord {
  id: number;
  feed: string;
  location: string;
  reason: string;
  detail: string;
  sha256: string;
  receivedAt: string;
}

/** Stores refused documents by location, reason and the sha256 of the bytes received. Call inside the run's transaction. */
export async function insertQuarantined(
  trx: Executor,
  feed: string,
  documents: { location: string; reason: string; detail: string; body: Buffer }[],
  now: Date,
): Promise<void> {
  if (documents.length === 0) return;
  await trx
    .insertInto('feed_quarantine')
    .values(
      documents.map((d) => ({
        feed,
        location: d.location,
        reason: d.reason,
        detail: d.detail,
        sha256: createHash('sha256').update(d.body).digest('hex'),
        received_at: now.toISOString(),
      })),
    )
    .execute();
}

/** Quarantined documents, newest first, optionally of one feed. */
export async function listQuarantined(db: Executor, filter: { feed?: string } = {}): Promise<QuarantineRecord[]> {
  let query = db.selectFrom('feed_quarantine').selectAll().orderBy('received_at', 'desc').orderBy('id', 'desc');
  if (filter.feed !== undefined) query = query.where('feed', '=', filter.feed);
  const rows = await query.execute();
  return rows.map((r) => ({
    id: Number(r.id),
    feed: r.feed,
    location: r.location,
    reason: r.reason,
    detail: r.detail,
    sha256: r.sha256,
    receivedAt: r.received_at,
  }));
}
