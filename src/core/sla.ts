import type { Severity } from './types.js';

/** Time allowed to remediate, per severity, in milliseconds (config `policy.sla`, parsed). */
export type SlaDurations = Record<Severity, number>;

/** The default SLA and the groups that set their own (config `policy.slaByGroup`, parsed). */
export interface SlaPolicy {
  defaults: SlaDurations;
  byGroup: Record<string, Partial<SlaDurations>>;
}

/** When an exposure must be fixed: detected + the SLA of its severity. ISO 8601 UTC. */
export function computeDueAt(detectedAt: string | Date, severity: Severity, sla: SlaDurations): string {
  const detected = typeof detectedAt === 'string' ? new Date(detectedAt) : detectedAt;
  if (Number.isNaN(detected.getTime())) throw new RangeError(`detected time is not a date: ${String(detectedAt)}`);
  return new Date(detected.getTime() + sla[severity]).toISOString();
}

/** `86400000` → `1d`, `5400000` → `90m`: the shortest exact way an operator would write it. */
export function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  return `${Math.round(ms / 60_000)}m`;
}

export interface SlaChoice {
  ms: number;
  /** The group whose SLA applies, or null for the default. */
  group: string | null;
  reason: string;
}

/**
 * The SLA for a host in `groups`: when any of its groups sets one for this severity, the strictest of
 * those (a group may also be looser than the default, e.g. a lab); otherwise the default.
 */
export function chooseSla(severity: Severity, groups: readonly string[], policy: SlaPolicy): SlaChoice {
  const defaultMs = policy.defaults[severity];
  let choice: SlaChoice | null = null;
  for (const group of [...new Set(groups)].sort()) {
    const ms = policy.byGroup[group]?.[severity];
    if (ms !== undefined && (choice === null || ms < choice.ms)) {
      choice = { ms, group, reason: `SLA for ${severity}: ${formatDuration(ms)} (group "${group}"; default ${formatDuration(defaultMs)})` };
    }
  }
  return choice ?? { ms: defaultMs, group: null, reason: `SLA for ${severity}: ${formatDuration(defaultMs)} (default)` };
}

/** How exposures stand against their SLA. Exempt and mitigated ones are counted apart, never as met. */
export interface SlaTally {
  met: number;
  missed: number;
  /** Open and not yet due. */
  pending: number;
  exempt: number;
  mitigated: number;
}

/**
 * Met: resolved by the due time. Missed: resolved after it, or still open past it. An exemption or
 * mitigation is neither: it is reported on its own line.
 */
export function tallySla(exposures: readonly { status: string; dueAt: string; resolvedAt: string | null }[], now: Date): SlaTally {
  const tally: SlaTally = { met: 0, missed: 0, pending: 0, exempt: 0, mitigated: 0 };
  for (const e of exposures) {
    if (e.status === 'exempt') tally.exempt++;
    else if (e.status === 'mitigated') tally.mitigated++;
    else if (e.status === 'resolved') {
      if (e.resolvedAt !== null && Date.parse(e.resolvedAt) <= Date.parse(e.dueAt)) tally.met++;
      else tally.missed++;
    } else if (Date.parse(e.dueAt) < now.getTime()) tally.missed++;
    else tally.pending++;
  }
  return tally;
}
