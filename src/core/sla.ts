import type { Severity } from './types.js';

/** Time allowed to remediate, per severity, in milliseconds (config `policy.sla`, parsed). */
export type SlaDurations = Record<Severity, number>;

/** When an exposure must be fixed: detected + the SLA of its severity. ISO 8601 UTC. */
export function computeDueAt(detectedAt: string | Date, severity: Severity, sla: SlaDurations): string {
  const detected = typeof detectedAt === 'string' ? new Date(detectedAt) : detectedAt;
  if (Number.isNaN(detected.getTime())) throw new RangeError(`detected time is not a date: ${String(detectedAt)}`);
  return new Date(detected.getTime() + sla[severity]).toISOString();
}
