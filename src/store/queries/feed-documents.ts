import type { Executor } from '../db.js';

/** What a feed last ingested from one document location (`feed_documents`, migration 0012). */
export interface FeedDocumentRecord {
  location: string;
  /** The feed kind that parsed it, with the parser version when above 1 (`osv`, `csaf@2`). */
  kind: string;
  /** sha256 of the document's bytes, hex. */
  sha256: string;
  /** The timestamp the source listed the document with (CSAF `changes.csv`); null when it gives none. */
  stamp: string | null;
  /** Advisories and facts the document gave. */
  records: number;
}

const CHUNK = 500;
const ID_CHUNK = 1000;

/** The documents a feed last ingested, by location. */
export async function loadFeedDocuments(db: Executor, feed: string): Promise<Map<string, FeedDocumentRecord>> {
  const rows = await db.selectFrom('feed_documents').select(['location', 'kind', 'sha256', 'stamp', 'records']).where('feed', '=', feed).execute();
  return new Map(rows.map((r) => [r.location, { location: r.location, kind: r.kind, sha256: r.sha256, stamp: r.stamp, records: Number(r.records) }]));
}

/** Records documents a run ingested (insert or overwrite). Call inside the run's transaction. */
export async function saveFeedDocuments(trx: Executor, feed: string, documents: FeedDocumentRecord[], now: Date): Promise<void> {
  const at = now.toISOString();
  for (let i = 0; i < documents.length; i += CHUNK) {
    const rows = documents.slice(i, i + CHUNK).map((d) => ({ feed, location: d.location, kind: d.kind, sha256: d.sha256, stamp: d.stamp, records: d.records, ingested_at: at }));
    await trx
      .insertInto('feed_documents')
      .values(rows)
      .onConflict((oc) =>
        oc.columns(['feed', 'location']).doUpdateSet((eb) => ({
          kind: eb.ref('excluded.kind'),
          sha256: eb.ref('excluded.sha256'),
          stamp: eb.ref('excluded.stamp'),
          records: eb.ref('excluded.records'),
          ingested_at: eb.ref('excluded.ingested_at'),
        })),
      )
      .execute();
  }
}

/** Forgets documents of a feed (gone from its source, or no longer readable), so they are read in full next time. */
export async function deleteFeedDocuments(trx: Executor, feed: string, locations: string[]): Promise<void> {
  for (let i = 0; i < locations.length; i += ID_CHUNK) {
    await trx.deleteFrom('feed_documents').where('feed', '=', feed).where('location', 'in', locations.slice(i, i + ID_CHUNK)).execute();
  }
}
