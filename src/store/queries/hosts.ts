import { sql, type Selectable } from 'kysely';
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

/**
 * What the inventory knows of a host: `managed` (an inventory source lists it), `unmanaged` (only a
 * scan saw it), `foreign` (a contractor or guest device, tracked by owner and attestation, no packages).
 */
export const HOST_STATUSES = ['managed', 'unmanaged', 'foreign'] as const;
export type HostStatus = (typeof HOST_STATUSES)[number];
/** A stored status, or `stale`: a managed or unmanaged host not seen for `inventory.staleAfterDays`. */
export const HOST_STATES = [...HOST_STATUSES, 'stale'] as const;
export type HostState = (typeof HOST_STATES)[number];
export const ATTESTATION_STATES = ['pending', 'attested', 'expired'] as const;
export type AttestationState = (typeof ATTESTATION_STATES)[number];

/** Host attributes an import may leave as stored when its source does not know them. */
export type HostAttribute = 'os' | 'role' | 'criticality' | 'usage' | 'owner' | 'groups';

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
  status: HostStatus;
  attestation: AttestationState | null;
}

export interface HostListItem extends HostRecord {
  packages: number;
  openExposures: number;
  /** The status with staleness applied at the time the list was made. */
  state: HostState;
}

/** How old `last_seen_at` may be before a host counts as stale. */
export interface StalenessRule {
  now: Date;
  staleAfterDays: number;
}

/** Foreign devices are tracked by attestation, not by being seen, so they never go stale. */
export function hostStateAt(host: Pick<HostRecord, 'status' | 'lastSeenAt'>, rule: StalenessRule): HostState {
  if (host.status === 'foreign') return 'foreign';
  const cutoff = rule.now.getTime() - rule.staleAfterDays * 86_400_000;
  return Date.parse(host.lastSeenAt) < cutoff ? 'stale' : host.status;
}

export interface HostDetail extends HostRecord {
  packages: HostPackage[];
}

type HostRow = Selectable<HostsTable>;

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
    status: row.status as HostStatus,
    attestation: row.attestation as AttestationState | null,
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

function hostColumns(host: HostInput, source: string, nowIso: string, keep: readonly HostAttribute[] = []) {
  const attributes = {
    os: host.os,
    role: host.role,
    criticality: host.criticality,
    usage: host.usage,
    owner: host.owner,
    groups: toJson(host.groups),
  };
  for (const attribute of keep) delete attributes[attribute];
  return { name: host.name, ...attributes, source, updated_at: nowIso, last_seen_at: nowIso };
}

/** Inserts hosts and returns their ids by name. */
export async function insertHosts(
  db: Executor,
  hosts: HostInput[],
  source: string,
  nowIso: string,
  status: HostStatus = 'managed',
): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const part of chunk(hosts, HOST_CHUNK)) {
    const rows = await db
      .insertInto('hosts')
      .values(part.map((h) => ({ ...hostColumns(h, source, nowIso), created_at: nowIso, status })))
      .returning(['id', 'name'])
      .execute();
    for (const row of rows) ids.set(row.name, Number(row.id));
  }
  return ids;
}

export interface HostUpdateOptions {
  /** Attributes the source does not know: the stored values stay. */
  keep?: readonly HostAttribute[];
  /** New status; absent leaves the stored one. A managed host loses any attestation. */
  status?: HostStatus;
}

export async function updateHost(db: Executor, id: number, host: HostInput, source: string, nowIso: string, options: HostUpdateOptions = {}): Promise<void> {
  const status = options.status === undefined ? {} : { status: options.status, ...(options.status === 'foreign' ? {} : { attestation: null }) };
  await db
    .updateTable('hosts')
    .set({ ...hostColumns(host, source, nowIso, options.keep), ...status })
    .where('id', '=', id)
    .execute();
}

/**
 * Replaces the package lists of the given hosts: what the inventory says now is all they have. With
 * `ecosystemsByHost`, a listed host loses only its packages of those ecosystems (a hotfix list
 * replaces the host's KBs, not its programs).
 */
export async function replaceHostPackages(
  db: Executor,
  packagesByHost: Map<number, HostPackage[]>,
  ecosystemsByHost?: Map<number, string[]>,
): Promise<number> {
  const whole = [...packagesByHost.keys()].filter((id) => ecosystemsByHost?.get(id) === undefined);
  for (const part of chunk(whole, PACKAGE_CHUNK)) {
    await db.deleteFrom('host_packages').where('host_id', 'in', part).execute();
  }
  for (const [hostId, ecosystems] of ecosystemsByHost ?? []) {
    if (ecosystems.length === 0 || !packagesByHost.has(hostId)) continue;
    await db.deleteFrom('host_packages').where('host_id', '=', hostId).where('ecosystem', 'in', ecosystems).execute();
  }
  const rows = [...packagesByHost].flatMap(([hostId, packages]) =>
    packages.map((p) => ({ host_id: hostId, ecosystem: p.ecosystem, name: p.name, version: p.version })),
  );
  for (const part of chunk(rows, PACKAGE_CHUNK)) {
    await db.insertInto('host_packages').values(part).execute();
  }
  return rows.length;
}

export interface HostListFilter {
  /** With a rule, `state` says which hosts are stale; without one, `state` is the stored status. */
  staleness?: StalenessRule;
  state?: HostState;
}

export async function listHosts(db: Executor, filter: HostListFilter = {}): Promise<HostListItem[]> {
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
      const state = filter.staleness === undefined ? host.status : hostStateAt(host, filter.staleness);
      return { ...host, packages: packages.get(host.id) ?? 0, openExposures: exposures.get(host.id) ?? 0, state };
    })
    .filter((h) => filter.state === undefined || h.state === filter.state)
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

/** A contractor or guest device: tracked by owner and attestation, never by packages. */
export interface ForeignHostInput {
  name: string;
  owner: string;
  role: string;
  criticality: Criticality;
  attestation: AttestationState;
  groups: string[];
}

export async function insertForeignHost(db: Executor, host: ForeignHostInput, source: string, nowIso: string): Promise<number> {
  const row = await db
    .insertInto('hosts')
    .values({
      name: host.name,
      os: '',
      role: host.role,
      criticality: host.criticality,
      usage: 0,
      owner: host.owner,
      groups: toJson(host.groups),
      source,
      created_at: nowIso,
      updated_at: nowIso,
      last_seen_at: nowIso,
      status: 'foreign',
      attestation: host.attestation,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

export async function setHostAttestation(db: Executor, id: number, attestation: AttestationState, nowIso: string): Promise<void> {
  await db.updateTable('hosts').set({ attestation, updated_at: nowIso }).where('id', '=', id).execute();
}

export interface TripleFilter {
  /** Only packages these advisories name (a new or changed advisory re-matches just these). */
  advisoryIds?: string[];
  /** Only these hosts' packages (a changed host re-matches just itself). */
  hostIds?: number[];
}

/**
 * Distinct installed (ecosystem, name, version) triples that some authoritative, non-withdrawn
 * advisory names, optionally narrowed to some advisories or some hosts: the input of
 * `matchPackageTriples` in core/matching.ts. Never one row per (host, advisory) pair.
 */
export async function listPackageTriples(db: Executor, filter: TripleFilter = {}): Promise<HostPackage[]> {
  const seen = new Set<string>();
  const out: HostPackage[] = [];
  const keep = (row: HostPackage) => {
    const key = `${row.ecosystem}\u0000${row.name}\u0000${row.version}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ ecosystem: row.ecosystem, name: row.name, version: row.version });
  };
  if (filter.advisoryIds !== undefined) {
    // Few advisories: start from their package names and look the installed versions up by index.
    for (const part of chunk(filter.advisoryIds, PACKAGE_CHUNK)) {
      let query = db
        .selectFrom('advisory_packages as ap')
        .innerJoin('advisories as a', 'a.id', 'ap.advisory_id')
        .innerJoin('host_packages as hp', (join) => join.onRef('hp.ecosystem', '=', 'ap.ecosystem').onRef('hp.name', '=', 'ap.name'))
        .select(['hp.ecosystem', 'hp.name', 'hp.version'])
        .distinct()
        .where('ap.advisory_id', 'in', part)
        .where('a.trust', '=', 'authoritative')
        .where('a.withdrawn_at', 'is', null);
      if (filter.hostIds !== undefined) {
        if (filter.hostIds.length === 0) return [];
        query = query.where('hp.host_id', 'in', filter.hostIds);
      }
      for (const row of await query.execute()) keep(row);
    }
    return out;
  }
  // The whole fleet (or some hosts): distinct triples straight from the covering index, then keep those
  // an advisory names; a join per host package would touch every (host, advisory) pair.
  const named = new Set(
    (
      await db
        .selectFrom('advisory_packages as ap')
        .innerJoin('advisories as a', 'a.id', 'ap.advisory_id')
        .select(['ap.ecosystem', 'ap.name'])
        .distinct()
        .where('a.trust', '=', 'authoritative')
        .where('a.withdrawn_at', 'is', null)
        .execute()
    ).map((r) => `${r.ecosystem}\u0000${r.name}`),
  );
  for (const part of filter.hostIds === undefined ? [undefined] : chunk(filter.hostIds, PACKAGE_CHUNK)) {
    let query = db.selectFrom('host_packages').select(['ecosystem', 'name', 'version']).distinct();
    if (part !== undefined) query = query.where('host_id', 'in', part);
    for (const row of await query.execute()) if (named.has(`${row.ecosystem}\u0000${row.name}`)) keep(row);
  }
  return out;
}

/** Triples per statement: three bound values each, and an OR of them per query. */
const TRIPLE_CHUNK = 200;

/** An installed triple on one host. */
export interface HostTriple {
  hostId: number;
  ecosystem: string;
  name: string;
  version: string;
}

/** The hosts that have each of the given triples installed (restricted to `hostIds` when given). */
export async function listHostsWithTriples(db: Executor, triples: HostPackage[], hostIds?: number[]): Promise<HostTriple[]> {
  const out: HostTriple[] = [];
  await forEachHostWithTriples(db, triples, hostIds, (row) => out.push(row));
  return out;
}

/** As `listHostsWithTriples`, one row at a time, so a fleet's rows are never all held at once. */
export async function forEachHostWithTriples(db: Executor, triples: HostPackage[], hostIds: number[] | undefined, visit: (row: HostTriple) => void): Promise<void> {
  // A long host list would not fit beside the triples in one statement's parameters: filter it here.
  const inSql = hostIds !== undefined && hostIds.length <= TRIPLE_CHUNK;
  const wanted = hostIds === undefined || inSql ? null : new Set(hostIds);
  for (const part of chunk(triples, TRIPLE_CHUNK)) {
    let query = db
      .selectFrom('host_packages')
      .select(['host_id', 'ecosystem', 'name', 'version'])
      .where((eb) => eb.or(part.map((t) => eb.and([eb('ecosystem', '=', t.ecosystem), eb('name', '=', t.name), eb('version', '=', t.version)]))));
    if (inSql) query = query.where('host_id', 'in', hostIds);
    for (const row of await query.execute()) {
      const hostId = Number(row.host_id);
      if (wanted === null || wanted.has(hostId)) visit({ hostId, ecosystem: row.ecosystem, name: row.name, version: row.version });
    }
  }
}

/**
 * Each host's installed Windows KB ids (ecosystem `Windows`): what `matchWindowsKb` in core/matching.ts
 * needs, since KB exposure is about a KB being absent and so cannot come from the name join.
 */
export async function loadWindowsKbsByHost(db: Executor, hostIds?: number[]): Promise<Map<number, Set<string>>> {
  const byHost = new Map<number, Set<string>>();
  for (const part of hostIds === undefined ? [undefined] : chunk(hostIds, PACKAGE_CHUNK)) {
    let query = db.selectFrom('host_packages').select(['host_id', 'name']).where('ecosystem', '=', 'Windows');
    if (part !== undefined) query = query.where('host_id', 'in', part);
    for (const row of await query.execute()) {
      const id = Number(row.host_id);
      (byHost.get(id) ?? byHost.set(id, new Set()).get(id)!).add(row.name);
    }
  }
  return byHost;
}
