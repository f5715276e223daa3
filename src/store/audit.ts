import { createHash } from 'node:crypto';
import type { Executor, Store } from './db.js';
import { fromJson, toJson } from './json.js';

export interface AuditEntry {
  at: Date;
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string | number;
  before?: unknown;
  after?: unknown;
}

export interface AuditRecord {
  seq: number;
  at: string;
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  before: unknown;
  after: unknown;
  hash: string;
}

function hashEvent(prevHash: string, fields: Record<string, unknown>): string {
  return createHash('sha256').update(prevHash).update('\n').update(JSON.stringify(fields)).digest('hex');
}

/**
 * Appends one event to the hash-chained audit log. Call inside the transaction that makes the change,
 * so the change and its audit record commit together. The head row is locked (PostgreSQL) or the
 * transaction is already exclusive (SQLite `BEGIN IMMEDIATE`), so the chain never forks.
 */
export async function appendAudit(trx: Executor, dialect: Store['dialect'], entry: AuditEntry): Promise<number> {
  let headQuery = trx.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1);
  if (dialect === 'postgres') headQuery = headQuery.forUpdate();
  const head = await headQuery.executeTakeFirstOrThrow();
  const seq = Number(head.seq) + 1;
  const fields = {
    seq,
    at: entry.at.toISOString(),
    actor: entry.actor,
    action: entry.action,
    subject_type: entry.subjectType,
    subject_id: String(entry.subjectId),
    before: entry.before === undefined ? null : toJson(entry.before),
    after: entry.after === undefined ? null : toJson(entry.after),
  };
  const hash = hashEvent(head.hash, fields);
  await trx.insertInto('audit_events').values({ ...fields, prev_hash: head.hash, hash }).execute();
  await trx.updateTable('audit_head').set({ seq, hash }).where('id', '=', 1).execute();
  return seq;
}

export async function listAudit(
  db: Executor,
  filter: { subjectType?: string; subjectId?: string | number; limit?: number } = {},
): Promise<AuditRecord[]> {
  let query = db.selectFrom('audit_events').selectAll().orderBy('seq', 'asc');
  if (filter.subjectType) query = query.where('subject_type', '=', filter.subjectType);
  if (filter.subjectId !== undefined) query = query.where('subject_id', '=', String(filter.subjectId));
  if (filter.limit) query = query.limit(filter.limit);
  const rows = await query.execute();
  return rows.map((r) => ({
    seq: Number(r.seq),
    at: r.at,
    actor: r.actor,
    action: r.action,
    subjectType: r.subject_type,
    subjectId: r.subject_id,
    before: fromJson(r.before, null),
    after: fromJson(r.after, null),
    hash: r.hash,
  }));
}

/** Recomputes the chain; returns the first broken sequence number, or null when intact. */
export async function verifyAuditChain(db: Executor): Promise<number | null> {
  const rows = await db.selectFrom('audit_events').selectAll().orderBy('seq', 'asc').execute();
  let prev = 'genesis';
  for (const r of rows) {
    const fields = {
      seq: Number(r.seq),
      at: r.at,
      actor: r.actor,
      action: r.action,
      subject_type: r.subject_type,
      subject_id: r.subject_id,
      before: r.before,
      after: r.after,
    };
    if (r.prev_hash !== prev || hashEvent(prev, fields) !== r.hash) return Number(r.seq);
    prev = r.hash;
  }
  return null;
}
