import { ACTION_VOTES, parseRebootActionValue, rebootActionIdOf, type ActionId } from '../core/messages.js';
import type { VoteDecision, VoteStage } from '../core/types.js';
import type { StoredMessageRow } from '../store/queries/web.js';
import { safeHref } from './render.js';

export interface ConsoleMessageView {
  id: number;
  caseId: number | null;
  kind: string;
  title: string;
  severity: string | null;
  text: string;
  facts: { label: string; value: string }[];
  sections: { heading: string | null; lines: string[] }[];
  /** Votes post to the case's vote form; reboot notice answers post their button value to `/reboots/<id>`. */
  actions: ({ label: string; style: string; stage: VoteStage; decision: VoteDecision } | { label: string; style: string; rebootPath: string; value: string })[];
  link: { label: string; href: string } | null;
  footer: string | null;
  updatedAt: string;
  channel: string;
}

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const record = (value: unknown): Record<string, unknown> | null =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/**
 * Turns a stored ChatMessage into what the dashboard shows. The payload was written by another part of
 * the program (or an older version of it), so every field is checked and a bad one is left out rather
 * than breaking the page.
 */
export function describeConsoleMessage(row: StoredMessageRow): ConsoleMessageView | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.payload);
  } catch {
    return null;
  }
  const message = record(parsed);
  if (!message) return null;
  const payloadCase = typeof message.caseId === 'number' && Number.isInteger(message.caseId) && message.caseId > 0 ? message.caseId : null;
  const caseId = payloadCase ?? row.caseId;
  const facts = list(message.facts)
    .map(record)
    .flatMap((f) => (f && str(f.label) !== null && f.value !== undefined ? [{ label: str(f.label)!, value: String(f.value) }] : []));
  const sections = list(message.sections)
    .map(record)
    .flatMap((s) => (s ? [{ heading: str(s.heading), lines: list(s.lines).filter((l): l is string => typeof l === 'string') }] : []));
  const actions: ConsoleMessageView['actions'] =
    caseId === null
      ? []
      : list(message.actions)
          .map(record)
          .flatMap((a): ConsoleMessageView['actions'] => {
            const id = str(a?.id);
            const value = str(a?.value);
            const reboot = value === null ? null : parseRebootActionValue(value);
            if (a && reboot !== null && rebootActionIdOf(reboot) === id) {
              return [{ label: str(a.label) ?? id, style: str(a.style) ?? 'default', rebootPath: `/reboots/${reboot.noticeId}`, value: value ?? '' }];
            }
            if (!a || id === null || !Object.hasOwn(ACTION_VOTES, id)) return [];
            const vote = ACTION_VOTES[id as ActionId];
            return [{ label: str(a.label) ?? id, style: str(a.style) ?? 'default', ...vote }];
          });
  const link = record(message.link);
  const href = safeHref(link?.url);
  return {
    id: row.id,
    caseId,
    kind: str(message.kind) ?? 'alert',
    title: str(message.title) ?? '(untitled message)',
    severity: str(message.severity),
    text: str(message.text) ?? '',
    facts,
    sections,
    actions,
    link: link && href ? { label: str(link.label) ?? 'Open', href } : null,
    footer: str(message.footer),
    updatedAt: row.updatedAt,
    channel: row.channel,
  };
}
