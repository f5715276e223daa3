import type { Severity } from './types.js';

/**
 * The message model: what an alert, approval request, pilot sign-off, halt notice, rollout progress
 * or review summary says, described once as data. Slack renders it to Block Kit, Teams to an
 * Adaptive Card, the web console to HTML. An action's `value` names the case and the action only;
 * who may do it is decided on the server.
 */
export type MessageKind = 'alert' | 'signoff_request' | 'halt' | 'progress' | 'review';

export type ActionId = 'approve' | 'reject' | 'signoff' | 'signoff_reject';

export interface MessageAction {
  id: ActionId;
  label: string;
  style: 'primary' | 'danger' | 'default';
  /** `case:<id>:<action>`; carries no identity. */
  value: string;
}

export interface MessageFact {
  label: string;
  value: string;
}

export interface MessageSection {
  heading: string | null;
  lines: string[];
}

export interface ChatMessage {
  kind: MessageKind;
  caseId: number | null;
  title: string;
  severity: Severity | null;
  /** Plain-text fallback for notifications and screen readers. */
  text: string;
  facts: MessageFact[];
  sections: MessageSection[];
  actions: MessageAction[];
  link: { label: string; url: string } | null;
  /** e.g. "Approved by Alice Example at 2026-11-23 10:00 CET": shown once the decision is sealed. */
  footer: string | null;
}
