import { createHash } from 'node:crypto';
import { CRITICALITIES, type Criticality } from './types.js';

/**
 * Rollout planning: who gets the patch first. A pilot ring (the pilot group, or else the least
 * critical few) goes first and must be signed off; the rest follows in waves. Within a ring busy
 * servers go first — they are watched most closely and matter most when a fix is late.
 */
export interface PlanTarget {
  hostId: number;
  name: string;
  role: string;
  criticality: Criticality;
  /** Share of the working day in use, 0..1. */
  usage: number;
  groups: readonly string[];
}

export interface PlanSettings {
  pilotGroup: string;
  /** When nobody is in the pilot group: this share of the targets, least critical first (at least one host). */
  pilotPercent: number;
  waveSize: number;
  order: 'servers-first' | 'workstations-first';
}

export type Ring = 'pilot' | 'broad';

export interface PlannedHost {
  hostId: number;
  name: string;
}

export interface PlannedWave {
  index: number;
  ring: Ring;
  hosts: PlannedHost[];
}

export interface RolloutPlan {
  /** How the pilot ring was chosen, for people reading the plan. */
  pilotBasis: 'group' | 'percent' | 'none';
  waves: PlannedWave[];
}

const SERVER_ROLES: ReadonlySet<string> = new Set(['server', 'database']);

export function isServerRole(role: string): boolean {
  return SERVER_ROLES.has(role.toLowerCase());
}

function criticalityRank(criticality: Criticality): number {
  const rank = CRITICALITIES.indexOf(criticality);
  // An unknown word sorts as the lowest criticality rather than breaking the plan.
  return rank < 0 ? 0 : rank;
}

function byName(a: PlanTarget, b: PlanTarget): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.hostId - b.hostId;
}

/** Order inside a ring: servers first (or last), busier first, more critical first, then by name. */
export function compareWithinRing(order: PlanSettings['order']): (a: PlanTarget, b: PlanTarget) => number {
  return (a, b) => {
    const serverA = isServerRole(a.role) ? 0 : 1;
    const serverB = isServerRole(b.role) ? 0 : 1;
    if (serverA !== serverB) return order === 'servers-first' ? serverA - serverB : serverB - serverA;
    if (a.usage !== b.usage) return b.usage - a.usage;
    const critical = criticalityRank(b.criticality) - criticalityRank(a.criticality);
    if (critical !== 0) return critical;
    return byName(a, b);
  };
}

/** The pilot candidates when no host is in the pilot group: least critical, then least used, then by name. */
function compareForPercentPilot(a: PlanTarget, b: PlanTarget): number {
  const critical = criticalityRank(a.criticality) - criticalityRank(b.criticality);
  if (critical !== 0) return critical;
  if (a.usage !== b.usage) return a.usage - b.usage;
  return byName(a, b);
}

export function pilotCount(total: number, percent: number): number {
  if (total === 0) return 0;
  // The epsilon keeps 10% of 30 at 3 when the product is 3.0000000000000004.
  return Math.min(total, Math.max(1, Math.ceil((total * percent) / 100 - 1e-9)));
}

export function planRollout(targets: readonly PlanTarget[], settings: PlanSettings): RolloutPlan {
  const seen = new Set<number>();
  const unique: PlanTarget[] = [];
  for (const target of targets) {
    if (seen.has(target.hostId)) continue;
    seen.add(target.hostId);
    unique.push(target);
  }
  if (unique.length === 0) return { pilotBasis: 'none', waves: [] };

  let pilot = unique.filter((t) => t.groups.includes(settings.pilotGroup));
  let pilotBasis: RolloutPlan['pilotBasis'] = 'group';
  if (pilot.length === 0) {
    pilotBasis = 'percent';
    pilot = [...unique].sort(compareForPercentPilot).slice(0, pilotCount(unique.length, settings.pilotPercent));
  }
  const pilotIds = new Set(pilot.map((t) => t.hostId));
  const compare = compareWithinRing(settings.order);
  const toHost = (t: PlanTarget): PlannedHost => ({ hostId: t.hostId, name: t.name });

  const waves: PlannedWave[] = [{ index: 0, ring: 'pilot', hosts: [...pilot].sort(compare).map(toHost) }];
  const rest = unique.filter((t) => !pilotIds.has(t.hostId)).sort(compare);
  const size = Math.max(1, Math.floor(settings.waveSize));
  for (let start = 0; start < rest.length; start += size) {
    waves.push({ index: waves.length, ring: 'broad', hosts: rest.slice(start, start + size).map(toHost) });
  }
  return { pilotBasis, waves };
}

/**
 * A fingerprint of what will be patched where and in which order, and from which cached files; stored
 * on the case (plan_hash). Without artifacts the material is what it always was, so older hashes hold.
 */
export function planHash(caseId: number, connector: string, plan: RolloutPlan, artifacts: readonly { sha256: string }[] = []): string {
  const waves = plan.waves.map((w) => w.hosts.map((h) => h.hostId));
  const material = JSON.stringify(artifacts.length === 0 ? { caseId, connector, waves } : { caseId, connector, waves, artifacts: artifacts.map((a) => a.sha256).sort() });
  return createHash('sha256').update(material).digest('hex');
}
