import { sql } from 'kysely';
import type { Criticality, HostInput, HostPackage } from '../../core/types.js';
import type { Executor } from '../db.js';
import type { HostsTable } from '../schema.js';
import { fromJson, toJson } from '../json.js';

/**
 * Rows per multi-row statement, keeping bound parameters well under SQLite's 32,766 and PostgreSQL's
 * 65,535: package rows have 4 columns, host rows 11.
 */
const PACKAGE_CHUNK = 1000;
const HOST_CHUNK = 200;

export interface HostRecord {
  id: number;
  name: string;
  os: string;
  role: string;
  criticality: Criticality;
  usage: number;
  owner: string;
  groups: string[];
  source: string;
  createdAt: string;
  updatedAt: string;
  lastSeenAt: string;
}

export interface HostListItem extends HostRecord {
  packages: number;
  openExposures: number;
}

export interface HostDetail extends HostRecord {
  packages: HostPackage[];
}

type HostRow = Omit<HostsTable, 'id'> & { id: number | string };

function toHostRecord(row: HostRow): HostRecord {
  return {
    id: Number(row.id),
    name: row.name,
    os: row.os,
    role: row.role,
    criticality: row.criticality as Criticality,
    usage: Number(row.usage),
    owner: row.owner,
    groups: fromJson<string[]>(row.groups, []),
    source: row.source,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastSeenAt: row.last_seen_at,
  };
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Every host, by name. One query: the inventory import looks hosts up in memory. */
export async function loadHostsByName(db: Executor): Promise<Map<string, HostRecord>> {
  const rows = await db.selectFrom('hosts').selectAll().execute();
  return new Map(rows.map((r) => [r.name, toHostRecord(r)]));
}

function hostColumns(host: HostInput, source: string, nowIso: string) {
  return {
    name: host.name,
    os: host.os,
    role: host.role,
    criticality: host.criticality,
    usage: host.usage,
    owner: host.owner,
    groups: toJson(host.groups),
    source,
    updated_at: nowIso,
    last_seen_at: nowIso,
  };
}

/** Inserts hosts and returns their ids by name. */
export async function insertHosts(db: Executor, hosts: HostInput[], source: string, nowIso: string): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const part of chunk(hosts, HOST_CHUNK)) {
    const rows = await db
      .insertInto('hosts')
      .values(part.map((h) => ({ ...hostColumns(h, source, nowIso), created_at: nowIso })))
      .returning(['id', 'name'])
      .execute();
    for (const row of rows) ids.set(row.name, Number(row.id));
  }
  return ids;
}

export async function updateHost(db: Executor, id: number, host: HostInput, source: string, nowIso: string): Promise<void> {
  await db.updateTable('hosts').set(hostColumns(host, source, nowIso)).where('id', '=', id).execute();
}

/** Replaces the package lists of the given hosts: what the inventory says now is all they have. */
export async function replaceHostPackages(db: Executor, packagesByHost: Map<number, HostPackage[]>): Promise<number> {
  const hostIds = [...packagesByHost.keys()];
  for (const part of chunk(hostIds, PACKAGE_CHUNK)) {
    await db.deleteFrom('host_packages').where('host_id', 'in', part).execute();
  }
  const rows = [...packagesByHost].flatMap(([hostId, packages]) =>
    packages.map((p) => ({ host_id: hostId, ecosystem: p.ecosystem, name: p.name, version: p.version })),
  );
  for (const part of chunk(rows, PACKAGE_CHUNK)) {
    await db.insertInto('host_packages').values(part).execute();
  }
  return rows.length;
}

export async function listHosts(db: Executor): Promise<HostListItem[]> {
  const hosts = await db.selectFrom('hosts').selectAll().execute();
  const packageCounts = await db
    .selectFrom('host_packages')
    .select(['host_id', sql<number>`count(*)`.as('n')])
    .groupBy('host_id')
    .execute();
  const exposureCounts = await db
    .selectFrom('exposures')
    .select(['host_id', sql<number>`count(*)`.as('n')])
    .where('status', '=', 'open')
    .groupBy('host_id')
    .execute();
  const packages = new Map(packageCounts.map((r) => [Number(r.host_id), Number(r.n)]));
  const exposures = new Map(exposureCounts.map((r) => [Number(r.host_id), Number(r.n)]));
  return hosts
    .map((row) => {
      const host = toHostRecord(row);
      return { ...host, packages: packages.get(host.id) ?? 0, openExposures: exposures.get(host.id) ?? 0 };
    })
    .sort((a, b) => compareText(a.name, b.name));
}

export async function getHostDetail(db: Executor, name: string): Promise<HostDetail | null> {
  const row = await db.selectFrom('hosts').selectAll().where('name', '=', name).executeTakeFirst();
  if (!row) return null;
  const packages = await db
    .selectFrom('host_packages')
    .select(['ecosystem', 'name', 'version'])
    .where('host_id', '=', Number(row.id))
    .execute();
  packages.sort((a, b) => compareText(a.ecosystem, b.ecosystem) || compareText(a.name, b.name) || compareText(a.version, b.version));
  return { ...toHostRecord(row), packages };
}

/** Code-point order, the same on both databases (PostgreSQL collations would differ from SQLite). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
