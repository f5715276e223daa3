import { PatchdeckError } from './errors.js';
import { endOfDayInZone, localTimeInZone, zonedIsoTime } from './time.js';

/**
 * Exemptions (an accepted risk behind a compensating control) and mitigations (a workaround applied
 * instead of the patch) have the same shape: a scope, a control, an approver and an expiry that is
 * never optional, because exceptions that never expire are what operators of other tools regret most.
 */
export const EXEMPTION_KINDS = ['exemption', 'mitigation'] as const;
export type ExemptionKind = (typeof EXEMPTION_KINDS)[number];

export interface Exemption {
  id: number;
  kind: ExemptionKind;
  host: string | null;
  group: string | null;
  advisoryId: string | null;
  package: string | null;
  control: string;
  reason: string;
  approvedBy: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  expiredAt: string | null;
  revokedAt: string | null;
}

export type ExemptionState = 'active' | 'expired' | 'revoked';

export function exemptionState(exemption: Exemption, now: Date): ExemptionState {
  if (exemption.revokedAt !== null) return 'revoked';
  if (exemption.expiredAt !== null || Date.parse(exemption.expiresAt) <= now.getTime()) return 'expired';
  return 'active';
}

/** What an exemption can cover: one host's exposure to one advisory through one package. */
export interface ExemptionTarget {
  host: string;
  groups: readonly string[];
  advisoryId: string | null;
  package: string;
}

export function exemptionCovers(exemption: Exemption, target: ExemptionTarget): boolean {
  const hostMatches = exemption.host !== null ? exemption.host === target.host : exemption.group !== null && target.groups.includes(exemption.group);
  if (!hostMatches) return false;
  if (exemption.advisoryId !== null) return exemption.advisoryId === target.advisoryId;
  return exemption.package !== null && exemption.package === target.package;
}

export type ExposureHoldStatus = 'open' | 'exempt' | 'mitigated';

/** Lines this module writes into an exposure's reasons; replaced, never stacked, on each refresh. */
const REASON_PREFIXES = ['Exempt: ', 'Mitigated: ', 'Re-opened: '];

export function withoutExemptionReasons(reasons: readonly string[]): string[] {
  return reasons.filter((r) => !REASON_PREFIXES.some((p) => r.startsWith(p)));
}

const day = (iso: string) => iso.slice(0, 10);

/** `host web-01, advisory USN-1-1`: what an exemption covers, for lists and audit records. */
export function describeExemptionScope(e: Exemption): string {
  return `${e.host !== null ? `host ${e.host}` : `group ${e.group ?? '?'}`}, ${e.advisoryId !== null ? `advisory ${e.advisoryId}` : `package ${e.package ?? '?'}`}`;
}

export interface ExposureHold {
  status: ExposureHoldStatus;
  /** The exemption holding the exposure, or the one whose end re-opened it; null when none ever applied. */
  exemptionId: number | null;
  reason: string | null;
}

/**
 * Whether an exposure is held by an active exemption or mitigation (the oldest one covering it, so the
 * answer is stable), or was re-opened by the end of the one that held it before.
 */
export function holdExposure(target: ExemptionTarget, exemptions: readonly Exemption[], previousExemptionId: number | null, now: Date): ExposureHold {
  const covering = exemptions
    .filter((e) => exemptionState(e, now) === 'active' && exemptionCovers(e, target))
    .sort((a, b) => a.id - b.id)[0];
  if (covering !== undefined) {
    const label = covering.kind === 'mitigation' ? 'Mitigated' : 'Exempt';
    return {
      status: covering.kind === 'mitigation' ? 'mitigated' : 'exempt',
      exemptionId: covering.id,
      reason: `${label}: ${covering.kind} #${covering.id} (${covering.control}), approved by ${covering.approvedBy}, until ${day(covering.expiresAt)}`,
    };
  }
  const previous = previousExemptionId === null ? undefined : exemptions.find((e) => e.id === previousExemptionId);
  if (previous !== undefined) {
    const state = exemptionState(previous, now);
    const ended = state === 'revoked' ? `was ended on ${day(previous.revokedAt!)}` : `expired on ${day(previous.expiresAt)}`;
    return { status: 'open', exemptionId: previous.id, reason: `Re-opened: ${previous.kind} #${previous.id} ${ended}` };
  }
  return { status: 'open', exemptionId: null, reason: null };
}

export interface ExemptionRequest {
  kind: ExemptionKind;
  host?: string;
  group?: string;
  advisoryId?: string;
  package?: string;
  control: string;
  approvedBy: string;
  /**
   * A day (`2026-12-31`: the end of that day in the team's zone), a time without zone (a wall-clock
   * time there) or an ISO time with zone; always on a real calendar day.
   */
  expires?: string;
  /** Or a duration from now, in ms. */
  forMs?: number;
}

/**
 * Checks the request's shape and works out `expires_at`, reading days and zone-less times in `timeZone`
 * (the team's, `config.timezone`); every refusal says which option to fix.
 */
export function resolveExemptionExpiry(request: ExemptionRequest, now: Date, maxMs: number, maxLabel: string, timeZone: string): string {
  const bad = (message: string) => new PatchdeckError('PD_EXEMPTION_INVALID', message);
  if ((request.host === undefined) === (request.group === undefined)) throw bad('Name exactly one of --host or --group.');
  if ((request.advisoryId === undefined) === (request.package === undefined)) throw bad('Name exactly one of --advisory or --package.');
  if (request.control.trim() === '') throw bad('--control must describe the compensating control, e.g. "isolated VLAN".');
  if (request.approvedBy.trim() === '') throw bad('--approved-by must name who approved it.');
  if ((request.expires === undefined) === (request.forMs === undefined)) throw bad('Give exactly one of --expires DATE or --for DURATION (e.g. 30d): exemptions always expire.');
  let expiresAt: number;
  if (request.expires !== undefined) {
    const text = request.expires.trim();
    const iso = endOfDayInZone(text, timeZone) ?? localTimeInZone(text, timeZone) ?? zonedIsoTime(text);
    if (iso === null) throw bad(`--expires "${text}" is not a date; use YYYY-MM-DD or an ISO date-time.`);
    expiresAt = Date.parse(iso);
  } else {
    expiresAt = now.getTime() + request.forMs!;
  }
  if (expiresAt <= now.getTime()) throw bad('The expiry must be in the future.');
  if (expiresAt - now.getTime() > maxMs) throw bad(`The expiry may be at most ${maxLabel} away (policy.maxExemption); renew it when it runs out.`);
  return new Date(expiresAt).toISOString();
}
