import type { types } from '@slack/bolt';
import { describeSeverity, type ChatMessage } from '../../core/messages.js';
import type { Severity } from '../../core/types.js';

type KnownBlock = types.KnownBlock;

/** Block Kit limits, in characters; we count UTF-16 units, which is never fewer than Slack counts. */
export const BLOCK_KIT_LIMITS = {
  headerText: 150,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  contextText: 3000,
  buttonText: 75,
  buttonValue: 2000,
  fallbackText: 3000,
  blocks: 50,
} as const;

const SEVERITY_EMOJI: Record<Severity, string> = {
  critical: ':red_circle:',
  high: ':large_orange_circle:',
  medium: ':large_yellow_circle:',
  low: ':large_green_circle:',
};

/** Cuts to at most `max` UTF-16 units with an ellipsis, never splitting a surrogate pair or an `&amp;` entity. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = '';
  for (const char of text) {
    if (cut.length + char.length > max - 1) break;
    cut += char;
  }
  return `${cut.replace(/&[a-z]{0,4}$/, '')}…`;
}

/**
 * Slack reads `<…>` as links and mentions (`<!channel>`) and `&` as entities. Advisory text comes from
 * outside, so it is escaped before it goes into any mrkdwn field.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function mrkdwn(text: string, max: number) {
  return { type: 'mrkdwn' as const, text: truncateText(text, max) };
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Renders the message model to Block Kit: header, facts as fields, sections and footer as context, buttons. */
export function renderSlackMessage(message: ChatMessage): { text: string; blocks: KnownBlock[] } {
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncateText(message.title || 'Patchdeck', BLOCK_KIT_LIMITS.headerText), emoji: true } },
  ];

  const lead: string[] = [];
  if (message.severity !== null) lead.push(`${SEVERITY_EMOJI[message.severity]} *${describeSeverity(message.severity)} severity*`);
  if (message.link !== null) lead.push(`<${message.link.url}|${escapeMrkdwn(message.link.label)}>`);
  const fields = message.facts.map((fact) => mrkdwn(`*${escapeMrkdwn(fact.label)}*\n${escapeMrkdwn(fact.value)}`, BLOCK_KIT_LIMITS.fieldText));
  const fieldGroups = chunk(fields, BLOCK_KIT_LIMITS.sectionFields);
  if (lead.length > 0 || fieldGroups.length > 0) {
    blocks.push({
      type: 'section',
      ...(lead.length > 0 ? { text: mrkdwn(lead.join('  ·  '), BLOCK_KIT_LIMITS.sectionText) } : {}),
      ...(fieldGroups[0] ? { fields: fieldGroups[0] } : {}),
    });
  }
  for (const group of fieldGroups.slice(1)) blocks.push({ type: 'section', fields: group });

  for (const section of message.sections) {
    const heading = section.heading === null ? [] : [`*${escapeMrkdwn(section.heading)}*`];
    const lines = section.lines.map((line) => `• ${escapeMrkdwn(line)}`);
    blocks.push({ type: 'context', elements: [mrkdwn([...heading, ...lines].join('\n') || ' ', BLOCK_KIT_LIMITS.contextText)] });
  }

  // Footer and buttons are what people act on: keep room for them under the block limit.
  const tail: KnownBlock[] = [];
  if (message.actions.length > 0) {
    tail.push({
      type: 'actions',
      block_id: 'patchdeck_actions',
      elements: message.actions.map((action) => ({
        type: 'button' as const,
        action_id: action.id,
        text: { type: 'plain_text' as const, text: truncateText(action.label, BLOCK_KIT_LIMITS.buttonText), emoji: true },
        value: action.value.slice(0, BLOCK_KIT_LIMITS.buttonValue),
        ...(action.style === 'default' ? {} : { style: action.style }),
      })),
    });
  }
  if (message.footer !== null) {
    tail.push({ type: 'context', elements: [mrkdwn(escapeMrkdwn(message.footer), BLOCK_KIT_LIMITS.contextText)] });
  }
  return {
    text: truncateText(escapeMrkdwn(message.text || message.title), BLOCK_KIT_LIMITS.fallbackText),
    blocks: [...blocks.slice(0, BLOCK_KIT_LIMITS.blocks - tail.length), ...tail],
  };
}
