import type { Severity } from '../../core/types.js';
import type { Executor } from '../db.js';

/** Read-only queries behind the web console's pages. */

export interface ExposureRow {
  id: number;
  hostId: number;
  hostName: string;
  ecosystem: string;
  package: string;
  installed: string;
  fixed: string | null;
  severity: Severity;
  reasons: string[];
  dueAt: string;
  status: string;
}

export interface RolloutCaseRef {
  rolloutId: number;
  caseId: number;
  caseTitle: string;
  severity: Severity;
}

export interface StoredMessageRow {
  id: number;
  caseId: number | null;
  purpose: string;
  channel: string;
  /** The ChatMessage JSON exactly as the notifier stored it; the face parses it defensively. */
  payload: string;
  createdAt: string;
  updatedAt: string;
}

/** A JSON list of strings, or an empty list when the column holds anything else. */
function parseStringList(text: string | null): string[] {
  if (text === null || text === '') return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

export async function listCaseExposures(db: Executor, caseId: number): Promise<ExposureRow[]> {
  const rows = await db
    .selectFrom('exposures')
    .innerJoin('hosts', 'hosts.id', 'exposures.host_id')
    .select([
      'exposures.id',
      'exposures.host_id',
      'hosts.name as host_name',
      'exposures.ecosystem',
      'exposures.package',
      'exposures.installed',
      'exposures.fixed',
      'exposures.severity',
      'exposures.reasons',
      'exposures.due_at',
      'exposures.status',
    ])
    .where('exposures.case_id', '=', caseId)
    .orderBy('exposures.due_at', 'asc')
    .orderBy('hosts.name', 'asc')
    .orderBy('exposures.package', 'asc')
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    hostId: Number(r.host_id),
    hostName: r.host_name,
    ecosystem: r.ecosystem,
    package: r.package,
    installed: r.installed,
    fixed: r.fixed,
    severity: r.severity as Severity,
    reasons: parseStringList(r.reasons),
    dueAt: r.due_at,
    status: r.status,
  }));
}

export async function getRolloutCaseRef(db: Executor, rolloutId: number): Promise<RolloutCaseRef | null> {
  const row = await db
    .selectFrom('rollouts')
    .innerJoin('cases', 'cases.id', 'rollouts.case_id')
    .select(['rollouts.id as rollout_id', 'cases.id as case_id', 'cases.title', 'cases.severity'])
    .where('rollouts.id', '=', rolloutId)
    .executeTakeFirst();
  if (!row) return null;
  return { rolloutId: Number(row.rollout_id), caseId: Number(row.case_id), caseTitle: row.title, severity: row.severity as Severity };
}

/** The newest messages the console notifier stored (the web console's inbox). */
export async function listConsoleMessages(db: Executor, limit: number): Promise<StoredMessageRow[]> {
  const rows = await db
    .selectFrom('chat_messages')
    .select(['id', 'case_id', 'purpose', 'channel', 'payload', 'created_at', 'updated_at'])
    .where('platform', '=', 'console')
    .orderBy('updated_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    caseId: r.case_id === null ? null : Number(r.case_id),
    purpose: r.purpose,
    channel: r.channel,
    payload: r.payload,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }));
}
