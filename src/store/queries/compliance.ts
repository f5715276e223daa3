import type { HostPackage } from '../../core/types.js';
import type { Executor } from '../db.js';
import { fromJson } from '../json.js';
import { chunk, compareText } from './hosts.js';

/** A host with the packages a baseline names, for `baselines check` and the compliance page. */
export interface BaselineHost {
  id: number;
  name: string;
  groups: string[];
  packages: HostPackage[];
}

/** Hosts in any of `groups`, with their installed versions of the named packages only. */
export async function listBaselineHosts(db: Executor, groups: string[], packageNames: string[]): Promise<BaselineHost[]> {
  const wanted = new Set(groups);
  const rows = await db.selectFrom('hosts').select(['id', 'name', 'groups']).execute();
  const hosts = rows
    .map((r) => ({ id: Number(r.id), name: r.name, groups: fromJson<string[]>(r.groups, []), packages: [] as HostPackage[] }))
    .filter((h) => h.groups.some((g) => wanted.has(g)))
    .sort((a, b) => compareText(a.name, b.name));
  const byId = new Map(hosts.map((h) => [h.id, h]));
  const names = [...new Set(packageNames)];
  if (names.length === 0) return hosts;
  for (const part of chunk([...byId.keys()], 500)) {
    const packages = await db
      .selectFrom('host_packages')
      .select(['host_id', 'ecosystem', 'name', 'version'])
      .where('host_id', 'in', part)
      .where('name', 'in', names)
      .execute();
    for (const p of packages) byId.get(Number(p.host_id))?.packages.push({ ecosystem: p.ecosystem, name: p.name, version: p.version });
  }
  return hosts;
}

/** One exposure as the SLA report counts it. */
export interface SlaExposureRow {
  hostGroups: string[];
  status: string;
  dueAt: string;
  resolvedAt: string | null;
}

export async function listSlaExposures(db: Executor): Promise<SlaExposureRow[]> {
  const rows = await db
    .selectFrom('exposures')
    .innerJoin('hosts', 'hosts.id', 'exposures.host_id')
    .select(['hosts.groups', 'exposures.status', 'exposures.due_at', 'exposures.resolved_at'])
    .execute();
  return rows.map((r) => ({ hostGroups: fromJson<string[]>(r.groups, []), status: r.status, dueAt: r.due_at, resolvedAt: r.resolved_at }));
}

/** Every group any host is in, sorted. */
export async function listHostGroups(db: Executor): Promise<string[]> {
  const rows = await db.selectFrom('hosts').select('groups').execute();
  return [...new Set(rows.flatMap((r) => fromJson<string[]>(r.groups, [])))].sort(compareText);
}
