import type { EpssScoreInput } from '../../core/types.js';
import type { Executor } from '../db.js';

/** 5 columns x 500 rows per statement stays far below both dialects' bound-value limits. */
const WRITE_CHUNK = 500;
const ID_CHUNK = 1000;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export interface EpssFact {
  epss: number;
  percentile: number;
  /** `YYYY-MM-DD` */
  scoreDate: string;
}

/** The stored EPSS score of each CVE that has one (CVE ids as stored: upper case). */
export async function getEpss(db: Executor, cves: string[]): Promise<Map<string, EpssFact>> {
  const found = new Map<string, EpssFact>();
  for (const part of chunks([...new Set(cves)], ID_CHUNK)) {
    const rows = await db.selectFrom('epss_scores').select(['cve', 'epss', 'percentile', 'score_date']).where('cve', 'in', part).execute();
    for (const row of rows) found.set(row.cve, { epss: Number(row.epss), percentile: Number(row.percentile), scoreDate: row.score_date });
  }
  return found;
}

export interface EpssWriteCounts {
  added: number;
  updated: number;
  /** Same day and values as stored, or older than what is stored (never overwrites a newer score). */
  unchanged: number;
}

/** Stores the scores that are new or newer than the stored ones. Call inside the caller's transaction. */
export async function writeEpssScores(trx: Executor, scores: EpssScoreInput[]): Promise<EpssWriteCounts> {
  const existing = await getEpss(trx, scores.map((s) => s.cve));
  const writes: EpssScoreInput[] = [];
  let added = 0;
  for (const score of scores) {
    const stored = existing.get(score.cve);
    if (stored === undefined) added++;
    else if (stored.scoreDate > score.scoreDate) continue;
    else if (stored.scoreDate === score.scoreDate && stored.epss === score.epss && stored.percentile === score.percentile) continue;
    writes.push(score);
  }
  for (const part of chunks(writes, WRITE_CHUNK)) {
    await trx
      .insertInto('epss_scores')
      .values(part.map((s) => ({ cve: s.cve, epss: s.epss, percentile: s.percentile, score_date: s.scoreDate, model_version: s.modelVersion })))
      .onConflict((oc) =>
        oc.column('cve').doUpdateSet((eb) => ({
          epss: eb.ref('excluded.epss'),
          percentile: eb.ref('excluded.percentile'),
          score_date: eb.ref('excluded.score_date'),
          model_version: eb.ref('excluded.model_version'),
        })),
      )
      .execute();
  }
  return { added, updated: writes.length - added, unchanged: scores.length - writes.length };
}
