import type { ChatMessage, MessageFact } from './messages.js';
import { describeRelative, formatInZone } from './time.js';
import type { Severity } from './types.js';

/**
 * The notice that an exemption or mitigation ended and re-opened exposures: posted to the channel of
 * each case it touched (or the routing default for exposures without a case), and sent to the person
 * who approved it by direct message. Built from what the expiry recorded, so the notice says what was
 * re-opened at that moment even if the exposures change before it is sent.
 */

/** At most this many re-opened exposures are listed one by one; the count is always given. */
export const MAX_LISTED_REOPENED = 20;

export interface ReopenedExposure {
  host: string;
  advisoryId: string;
  package: string;
}

export interface ExemptionNoticeView {
  exemption: {
    id: number;
    kind: 'exemption' | 'mitigation';
    /** "host legacy-01, advisory USN-4705-1" (core/exemptions.ts `describeExemptionScope`). */
    scope: string;
    control: string;
    reason: string;
    /** The approver's name when they are a configured person, else as recorded. */
    approvedBy: string;
    expiresAt: string;
    /** `expired`: its expiry came; `revoked`: someone ended it early (`exemptions expire ID`). */
    ended: 'expired' | 'revoked';
    endedAt: string;
    /** Who ended a revoked one (an actor such as `cli:bob`); null for an expiry. */
    endedBy: string | null;
  };
  /** The case whose exposures re-opened; null for the approver's summary and for exposures without a case. */
  case: { id: number; advisoryId: string; title: string; severity: Severity } | null;
  /** The re-opened exposures this notice is about (at most MAX_LISTED_REOPENED kept) and how many there were. */
  reopened: ReopenedExposure[];
  reopenedTotal: number;
  /** Cases touched, for the approver's summary: ids and advisories. */
  cases: { id: number; advisoryId: string }[];
  /** Who the notice is for: the case's channel, or the approver. */
  audience: 'channel' | 'approver';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function label(kind: 'exemption' | 'mitigation'): string {
  return kind === 'mitigation' ? 'Mitigation' : 'Exemption';
}

export function buildExemptionExpiredMessage(view: ExemptionNoticeView, opts: { publicUrl: string; timezone: string; now: Date }): ChatMessage {
  const e = view.exemption;
  const verb = e.ended === 'expired' ? 'expired' : 'was ended early';
  const subject = view.case === null ? e.scope : `${view.case.advisoryId}: ${view.case.title}`;
  const title = `${label(e.kind)} #${e.id} ${e.ended === 'expired' ? 'expired' : 'ended'}: ${subject}`;
  const endedAt = `${formatInZone(e.endedAt, opts.timezone)} (${describeRelative(e.endedAt, opts.now)})`;
  const reopened = plural(view.reopenedTotal, 'exposure');
  const listed = view.reopened.slice(0, MAX_LISTED_REOPENED).map((r) => `${r.host} · ${r.package} (${r.advisoryId})`);
  const more = view.reopenedTotal - listed.length;
  const facts: MessageFact[] = [
    { label: 'Scope', value: e.scope },
    { label: 'Compensating control', value: e.control },
    { label: 'Approved by', value: e.approvedBy },
    { label: e.ended === 'expired' ? 'Expired' : 'Ended', value: e.endedBy === null ? endedAt : `${endedAt} by ${e.endedBy}` },
    { label: 'Re-opened', value: reopened },
    ...(view.audience === 'approver' && view.cases.length > 0 ? [{ label: 'Cases', value: view.cases.map((c) => `#${c.id} ${c.advisoryId}`).join(', ') }] : []),
  ];
  const todo =
    view.audience === 'approver'
      ? `You approved it. If the control still holds, record a new ${e.kind} with \`patchdeck exemptions add\`; otherwise the hosts need the patch.`
      : view.case === null
        ? `These exposures had no case when the ${e.kind} ended; assessment opens one for them once they reach the alert threshold. Or record a new ${e.kind} with \`patchdeck exemptions add\` if the control still holds.`
        : `These hosts are exposed again and count against the case's SLA: patch them through the case, or record a new ${e.kind} with \`patchdeck exemptions add\` if the control still holds.`;
  return {
    kind: 'exemption_expired',
    caseId: view.case?.id ?? null,
    title,
    severity: view.case?.severity ?? null,
    text: `${title}. The ${e.kind} (${e.control}) ${verb}; ${reopened} re-opened.`,
    facts,
    sections: [
      { heading: 'Re-opened exposures', lines: listed.length === 0 ? ['None: nothing it held is open again.'] : [...listed, ...(more > 0 ? [`and ${more} more`] : [])] },
      { heading: 'Why it was granted', lines: [e.reason] },
      { heading: 'What to do', lines: [todo] },
    ],
    actions: [],
    link: view.case === null ? { label: 'Open compliance', url: `${opts.publicUrl}/compliance` } : { label: 'Open case', url: `${opts.publicUrl}/cases/${view.case.id}` },
    footer: `Sent once, when the ${e.kind} ended. Expiry was set for ${formatInZone(e.expiresAt, opts.timezone)}.`,
  };
}
