import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../../src/core/messages.js';
import { BLOCK_KIT_LIMITS, escapeMrkdwn, renderSlackMessage, truncateText } from '../../../src/chat/slack/render.js';

const base: ChatMessage = {
  kind: 'alert',
  caseId: 42,
  title: 'USN-7001-1: OpenSSL vulnerabilities',
  severity: 'critical',
  text: 'Critical: USN-7001-1: OpenSSL vulnerabilities. Approval needed.',
  facts: [
    { label: 'Severity', value: 'Critical (CVSS 9.8)' },
    { label: 'Affected hosts', value: '12' },
  ],
  sections: [{ heading: 'Why this matters', lines: ['Listed in CISA KEV'] }],
  actions: [
    { id: 'approve', label: 'Approve', style: 'primary', value: 'case:42:approve' },
    { id: 'reject', label: 'Reject', style: 'danger', value: 'case:42:reject' },
  ],
  link: { label: 'Open case', url: 'https://patchdeck.example.com/cases/42' },
  footer: null,
};

describe('renderSlackMessage', () => {
  it('renders header, severity and facts, reasons as context, and buttons named by action id', () => {
    expect(renderSlackMessage(base)).toEqual({
      text: 'Critical: USN-7001-1: OpenSSL vulnerabilities. Approval needed.',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'USN-7001-1: OpenSSL vulnerabilities', emoji: true } },
        {
          type: 'section',
          text: { type: 'mrkdwn', text: ':red_circle: *Critical severity*  ·  <https://patchdeck.example.com/cases/42|Open case>' },
          fields: [
            { type: 'mrkdwn', text: '*Severity*\nCritical (CVSS 9.8)' },
            { type: 'mrkdwn', text: '*Affected hosts*\n12' },
          ],
        },
        { type: 'context', elements: [{ type: 'mrkdwn', text: '*Why this matters*\n• Listed in CISA KEV' }] },
        {
          type: 'actions',
          block_id: 'patchdeck_actions',
          elements: [
            { type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve', emoji: true }, value: 'case:42:approve', style: 'primary' },
            { type: 'button', action_id: 'reject', text: { type: 'plain_text', text: 'Reject', emoji: true }, value: 'case:42:reject', style: 'danger' },
          ],
        },
      ],
    });
  });

  it('puts the footer last as context and leaves out the actions block when there are no actions', () => {
    const { blocks } = renderSlackMessage({ ...base, actions: [], footer: 'Approved by Alice Example · 2026-11-23 12:00 CET' });
    expect(blocks.map((b) => b.type)).toEqual(['header', 'section', 'context', 'context']);
    expect(blocks.at(-1)).toEqual({ type: 'context', elements: [{ type: 'mrkdwn', text: 'Approved by Alice Example · 2026-11-23 12:00 CET' }] });
  });

  it('escapes text from advisories so it cannot mention @channel or forge links', () => {
    const { text, blocks } = renderSlackMessage({
      ...base,
      text: 'x <!channel> & <https://evil.example|click>',
      facts: [{ label: 'Summary', value: '<!here> a < b' }],
      sections: [{ heading: null, lines: ['<@U123> & co'] }],
    });
    expect(text).toBe('x &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;');
    const json = JSON.stringify(blocks);
    expect(json).not.toContain('<!here>');
    expect(json).not.toContain('<@U123>');
    expect(json).toContain('&lt;!here&gt; a &lt; b');
  });

  it('keeps within Block Kit limits: 10 fields per section, 150-char header, 75-char buttons, 3000-char texts', () => {
    const long = 'A'.repeat(5000);
    const { blocks, text } = renderSlackMessage({
      ...base,
      title: long,
      text: long,
      facts: Array.from({ length: 23 }, (_, i) => ({ label: `Fact ${i}`, value: long })),
      sections: [{ heading: 'Reasons', lines: [long, long] }],
      actions: [{ id: 'approve', label: long, style: 'default', value: 'case:42:approve' }],
      footer: long,
    });
    expect(text.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.fallbackText);
    const header = blocks[0] as { text: { text: string } };
    expect(header.text.text.length).toBe(150);
    const sections = blocks.filter((b) => b.type === 'section') as { fields?: { text: string }[] }[];
    expect(sections.map((s) => s.fields?.length)).toEqual([10, 10, 3]);
    for (const s of sections) for (const f of s.fields ?? []) expect(f.text.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.fieldText);
    for (const b of blocks.filter((b) => b.type === 'context') as { elements: { text: string }[] }[]) {
      expect(b.elements[0]!.text.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.contextText);
    }
    const actions = blocks.find((b) => b.type === 'actions') as { elements: { text: { text: string }; style?: string }[] };
    expect(actions.elements[0]!.text.text.length).toBe(75);
    expect(actions.elements[0]).not.toHaveProperty('style');
  });
});

describe('truncateText and escapeMrkdwn', () => {
  it('never cuts through an emoji or an entity', () => {
    expect(truncateText('ab🔥🔥🔥', 5)).toBe('ab🔥…');
    expect(truncateText('ab🔥🔥🔥', 4)).toBe('ab…');
    expect(truncateText(escapeMrkdwn('aaaa&b'), 7)).toBe('aaaa…');
    expect(truncateText('short', 10)).toBe('short');
  });
});
