import type { Store } from './db.js';

export interface HeldLease {
  name: string;
  owner: string;
  fence: number;
  until: Date;
}

/**
 * Takes or renews a named lease (e.g. the scheduler lease). Returns the lease when this owner holds
 * it, or null when another live owner does. The fence grows each time ownership changes hands.
 */
export async function acquireLease(
  store: Store,
  options: { name: string; owner: string; now: Date; ttlMs: number },
): Promise<HeldLease | null> {
  const nowIso = options.now.toISOString();
  const until = new Date(options.now.getTime() + options.ttlMs);
  return store.transaction(async (trx) => {
    let query = trx.selectFrom('leases').selectAll().where('name', '=', options.name);
    if (store.dialect === 'postgres') query = query.forUpdate();
    const current = await query.executeTakeFirst();
    if (!current) {
      await trx
        .insertInto('leases')
        .values({ name: options.name, owner: options.owner, until: until.toISOString(), fence: 1 })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      const row = await trx.selectFrom('leases').selectAll().where('name', '=', options.name).executeTakeFirstOrThrow();
      return row.owner === options.owner ? { name: row.name, owner: row.owner, fence: Number(row.fence), until } : null;
    }
    if (current.owner !== options.owner && current.until > nowIso) return null;
    const fence = current.owner === options.owner ? Number(current.fence) : Number(current.fence) + 1;
    await trx
      .updateTable('leases')
      .set({ owner: options.owner, until: until.toISOString(), fence })
      .where('name', '=', options.name)
      .execute();
    return { name: options.name, owner: options.owner, fence, until };
  });
}

export async function releaseLease(store: Store, name: string, owner: string): Promise<void> {
  await store.db.deleteFrom('leases').where('name', '=', name).where('owner', '=', owner).execute();
}
