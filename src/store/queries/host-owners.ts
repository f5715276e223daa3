import type { Executor } from '../db.js';

/** Keeps `IN (…)` lists well under SQLite's and PostgreSQL's bound-parameter limits. */
const CHUNK = 500;

/** The distinct non-empty `owner` values of these hosts (routing rules with `owners` match on them). */
export async function listHostOwners(db: Executor, hostIds: readonly number[]): Promise<string[]> {
  const owners = new Set<string>();
  for (let i = 0; i < hostIds.length; i += CHUNK) {
    const rows = await db.selectFrom('hosts').select('owner').distinct().where('id', 'in', hostIds.slice(i, i + CHUNK)).where('owner', '!=', '').execute();
    for (const row of rows) owners.add(row.owner);
  }
  return [...owners].sort();
}
