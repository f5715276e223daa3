import { describeSeverity, REBOOT_ACTION_IDS, type CaseMessagePurpose, type ChatMessage, type MessageKind } from '../../core/messages.js';
import type { Severity } from '../../core/types.js';
import type { TeamsCardAttachment, TeamsOutgoingMessage } from './connector.js';

/** Verbs of our Action.Execute actions; an invoke with any other verb is refused. */
export const TEAMS_VERBS = { vote: 'patchdeck.vote', refresh: 'patchdeck.refresh', reboot: 'patchdeck.reboot', defer: 'patchdeck.defer' } as const;

/** Ids of the inputs in a Reject or Defer form; Action.Execute sends them beside `value` in its data. */
export const TEAMS_FORM_INPUTS = { reason: 'reason', until: 'until' } as const;

/** Longest reason a form takes (the workflow keeps at most this much of a comment). */
export const MAX_REASON_CHARS = 2000;

/** Reboot notice buttons are answered by their own handler (reboot-actions.ts), not as votes. */
const REBOOT_ACTIONS: ReadonlySet<string> = new Set(REBOOT_ACTION_IDS);

/** Teams lists at most 60 users whose clients refresh a card by themselves. */
export const MAX_REFRESH_USERS = 60;

/** Bounds that keep even a worst-case card under Teams' message size limit (about 28 KB). */
const LIMITS = { title: 300, text: 500, factValue: 300, facts: 20, sectionLines: 20, summary: 500, notice: 500 } as const;

const SEVERITY_COLOR: Record<Severity, string> = { critical: 'Attention', high: 'Attention', medium: 'Warning', low: 'Good' };
const ACTION_STYLE = { primary: 'positive', danger: 'destructive', default: 'default' } as const;

/** Which stored case message a card shows, so a refresh can rebuild it; other kinds are not refreshed. */
const PURPOSE_OF_KIND: Partial<Record<MessageKind, CaseMessagePurpose>> = { alert: 'alert', signoff_request: 'signoff', halt: 'halt', withdrawn: 'withdrawn' };

export function purposeOfMessage(message: ChatMessage): CaseMessagePurpose | null {
  return PURPOSE_OF_KIND[message.kind] ?? null;
}

function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const chars = [...text];
  let out = '';
  for (const char of chars) {
    if (out.length + char.length > max - 1) break;
    out += char;
  }
  return `${out}…`;
}

/**
 * TextBlock and FactSet text is Markdown in Teams. Advisory text comes from outside, so every
 * Markdown character is backslash-escaped (CommonMark allows it before any ASCII punctuation),
 * which keeps `[click](…)` from becoming a link. Free text otherwise goes into TextRuns, which
 * Adaptive Cards never read as Markdown.
 */
export function escapeTeamsMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()<>#+\-.!|~]/g, (c) => `\\${c}`);
}

function plainRun(text: string, style: Record<string, unknown> = {}) {
  return { type: 'TextRun', text, ...style };
}

function plainBlock(text: string, style: Record<string, unknown> = {}, block: Record<string, unknown> = {}) {
  return { type: 'RichTextBlock', inlines: [plainRun(text, style)], ...block };
}

export interface TeamsCardOptions {
  /** Teams user ids (MRIs) whose clients fetch the current card by themselves when they show it. */
  refreshUserIds?: readonly string[];
  /** Shown at the top for the one viewer who acted, e.g. why their vote was not recorded. */
  notice?: { text: string; tone: 'attention' | 'good' } | null;
}

/**
 * Renders the message model to an Adaptive Card 1.5: title, severity and link, facts as a FactSet,
 * sections, footer, and the actions as Action.Execute (Universal Actions) carrying only the
 * `case:<id>:<action>` value. Who clicked is read from the signed activity, never from the card.
 */
export function renderTeamsCard(message: ChatMessage, options: TeamsCardOptions = {}): Record<string, unknown> {
  const body: Record<string, unknown>[] = [];
  if (options.notice) {
    body.push(plainBlock(cut(options.notice.text, LIMITS.notice), { weight: 'Bolder', color: options.notice.tone === 'good' ? 'Good' : 'Attention' }));
  }
  body.push(plainBlock(cut(message.title || 'Patchdeck', LIMITS.title), { weight: 'Bolder', size: 'Medium' }));
  if (message.severity !== null) {
    body.push(plainBlock(`${describeSeverity(message.severity)} severity`, { weight: 'Bolder', color: SEVERITY_COLOR[message.severity] }, { spacing: 'Small' }));
  }
  if (message.facts.length > 0) {
    body.push({
      type: 'FactSet',
      facts: message.facts.slice(0, LIMITS.facts).map((fact) => ({ title: escapeTeamsMarkdown(fact.label), value: escapeTeamsMarkdown(cut(fact.value, LIMITS.factValue)) })),
    });
  }
  for (const section of message.sections) {
    const lines = section.lines.slice(0, LIMITS.sectionLines).map((line) => `• ${cut(line, LIMITS.text)}`);
    body.push({
      type: 'Container',
      spacing: 'Medium',
      items: [
        ...(section.heading === null ? [] : [plainBlock(section.heading, { weight: 'Bolder' })]),
        ...lines.map((line) => plainBlock(line, {}, { spacing: 'None' })),
      ],
    });
  }
  if (message.footer !== null) body.push(plainBlock(cut(message.footer, LIMITS.text), { isSubtle: true }, { spacing: 'Medium' }));

  const actions: Record<string, unknown>[] = message.actions.map((action) => {
    const execute = {
      type: 'Action.Execute',
      id: action.id,
      title: action.label,
      verb: REBOOT_ACTIONS.has(action.id) ? TEAMS_VERBS.reboot : action.form === 'defer' ? TEAMS_VERBS.defer : TEAMS_VERBS.vote,
      data: { value: action.value },
      style: ACTION_STYLE[action.style],
    };
    return action.form === undefined ? execute : formAction(action.label, action.form, execute);
  });
  if (message.link !== null && /^https?:\/\//i.test(message.link.url)) {
    actions.push({ type: 'Action.OpenUrl', title: message.link.label, url: message.link.url });
  }
  if (actions.length > 0) body.push({ type: 'ActionSet', actions });

  const purpose = purposeOfMessage(message);
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    fallbackText: cut(message.text || message.title, LIMITS.summary),
    body,
    ...(message.caseId !== null && purpose !== null
      ? {
          refresh: {
            action: { type: 'Action.Execute', title: 'Refresh', verb: TEAMS_VERBS.refresh, data: { caseId: message.caseId, purpose } },
            userIds: [...(options.refreshUserIds ?? [])].slice(0, MAX_REFRESH_USERS),
          },
        }
      : {}),
  };
}

/**
 * A Reject or Defer button: it opens an inline form (Action.ShowCard) whose submit is the Action.Execute
 * carrying the value (case, action, plan hash); Teams adds the inputs to its data. The server checks
 * the inputs again: isRequired only guides the client.
 */
function formAction(label: string, form: 'reason' | 'defer', execute: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown>[] = [
    {
      type: 'Input.Text',
      id: TEAMS_FORM_INPUTS.reason,
      label: form === 'defer' ? 'Why defer?' : 'Why reject?',
      isMultiline: true,
      maxLength: MAX_REASON_CHARS,
      isRequired: true,
      errorMessage: 'Say why (a reason is required).',
    },
  ];
  if (form === 'defer') {
    body.push({ type: 'Input.Date', id: TEAMS_FORM_INPUTS.until, label: 'Ask for approval again on (team time zone)', isRequired: true, errorMessage: 'Pick the day the case asks again.' });
  }
  return {
    type: 'Action.ShowCard',
    id: `${String(execute.id)}_form`,
    title: label,
    card: { type: 'AdaptiveCard', body, actions: [{ ...execute, title: label }] },
  };
}

export function cardAttachment(card: Record<string, unknown>): TeamsCardAttachment {
  return { contentType: 'application/vnd.microsoft.card.adaptive', content: card };
}

/** The card as a message activity's content, with the plain-text summary Teams shows in notifications. */
export function renderTeamsMessage(message: ChatMessage, options: TeamsCardOptions = {}): TeamsOutgoingMessage {
  return { summary: cut(message.text || message.title, LIMITS.summary), attachments: [cardAttachment(renderTeamsCard(message, options))] };
}

/** A card that only says something, for when there is no case message to show. */
export function renderNoticeCard(text: string): Record<string, unknown> {
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body: [plainBlock(cut(text, LIMITS.notice), { weight: 'Bolder', color: 'Attention' })],
  };
}
