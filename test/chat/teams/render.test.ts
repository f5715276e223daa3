import { describe, expect, it } from 'vitest';
import { answerWithin } from '../../../src/chat/teams/actions.js';
import { escapeTeamsMarkdown, MAX_REFRESH_USERS, renderTeamsCard, renderTeamsMessage } from '../../../src/chat/teams/render.js';
import { createSilentLogger } from '../../../src/app/logger.js';
import { parseConfig } from '../../../src/config/load.js';
import { fixedClock } from '../../../src/core/clock.js';
import type { ChatMessage } from '../../../src/core/messages.js';
import type { WorkflowContext } from '../../../src/workflow/context.js';

const message: ChatMessage = {
  kind: 'alert',
  caseId: 7,
  title: 'USN-7001-1: OpenSSL [click](https://evil.example) *now*',
  severity: 'critical',
  text: 'Critical: USN-7001-1. Approval needed.',
  facts: [
    { label: 'Severity', value: 'Critical (CVSS 9.8)' },
    { label: 'CVEs', value: 'CVE-2026-1001 [x](javascript:alert(1))' },
  ],
  sections: [{ heading: 'Why this matters', lines: ['Known exploited', '<at>everyone</at>'] }],
  actions: [
    { id: 'approve', label: 'Approve', style: 'primary', value: 'case:7:approve' },
    { id: 'reject', label: 'Reject', style: 'danger', value: 'case:7:reject' },
  ],
  link: { label: 'Open case', url: 'https://patchdeck.example.com/cases/7' },
  footer: null,
};

type Block = { type: string; [key: string]: unknown };

describe('renderTeamsCard', () => {
  it('renders an Adaptive Card 1.5 with FactSet, Action.Execute votes carrying only the value, and a refresh', () => {
    const card = renderTeamsCard(message, { refreshUserIds: ['29:a', '29:b'] });
    expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.5', $schema: 'http://adaptivecards.io/schemas/adaptive-card.json' });
    const body = card.body as Block[];
    expect(body.map((b) => b.type)).toEqual(['RichTextBlock', 'RichTextBlock', 'FactSet', 'Container', 'ActionSet']);
    expect(body.find((b) => b.type === 'ActionSet')!.actions).toEqual([
      { type: 'Action.Execute', id: 'approve', title: 'Approve', verb: 'patchdeck.vote', data: { value: 'case:7:approve' }, style: 'positive' },
      { type: 'Action.Execute', id: 'reject', title: 'Reject', verb: 'patchdeck.vote', data: { value: 'case:7:reject' }, style: 'destructive' },
      { type: 'Action.OpenUrl', title: 'Open case', url: 'https://patchdeck.example.com/cases/7' },
    ]);
    expect(card.refresh).toEqual({
      action: { type: 'Action.Execute', title: 'Refresh', verb: 'patchdeck.refresh', data: { caseId: 7, purpose: 'alert' } },
      userIds: ['29:a', '29:b'],
    });
  });

  it('keeps outside text from becoming Markdown: TextRuns for free text, escaped FactSet values', () => {
    const body = renderTeamsCard(message).body as Block[];
    // Title and section lines are TextRuns, which Adaptive Cards never read as Markdown.
    expect(body[0]).toEqual({ type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: message.title, weight: 'Bolder', size: 'Medium' }] });
    expect(JSON.stringify(body)).not.toMatch(/"type":"TextBlock"/);
    const facts = (body.find((b) => b.type === 'FactSet')!.facts as { title: string; value: string }[]);
    expect(facts[1]!.value).toBe('CVE\\-2026\\-1001 \\[x\\]\\(javascript:alert\\(1\\)\\)');
    expect(escapeTeamsMarkdown('a_b*c`d')).toBe('a\\_b\\*c\\`d');
  });

  it('leaves out the refresh for messages that are not stored case messages, and caps the user list', () => {
    expect(renderTeamsCard({ ...message, kind: 'review_summary' }).refresh).toBeUndefined();
    expect(renderTeamsCard({ ...message, caseId: null }).refresh).toBeUndefined();
    const many = Array.from({ length: 70 }, (_, i) => `29:user-${i}`);
    expect((renderTeamsCard(message, { refreshUserIds: many }).refresh as { userIds: string[] }).userIds).toHaveLength(MAX_REFRESH_USERS);
  });

  it('shows a notice first, drops non-web links, and wraps the card for a message activity', () => {
    const card = renderTeamsCard({ ...message, actions: [], link: { label: 'x', url: 'javascript:alert(1)' } }, { notice: { text: 'Not recorded: no', tone: 'attention' } });
    const body = card.body as Block[];
    expect(body[0]).toMatchObject({ inlines: [{ text: 'Not recorded: no', color: 'Attention' }] });
    expect(body.some((b) => b.type === 'ActionSet')).toBe(false);
    const outgoing = renderTeamsMessage(message);
    expect(outgoing.summary).toBe(message.text);
    expect(outgoing.attachments[0]!.contentType).toBe('application/vnd.microsoft.card.adaptive');
  });

  it("keeps a huge card under Teams' message size limit", () => {
    const facts = Array.from({ length: 50 }, (_, i) => ({ label: `Fact ${i}`, value: 'z'.repeat(5000) }));
    const huge = { ...message, title: 'x'.repeat(10_000), facts, sections: [{ heading: null, lines: Array.from({ length: 500 }, () => 'y'.repeat(5000)) }] };
    expect(JSON.stringify(renderTeamsMessage(huge)).length).toBeLessThan(28_000);
  });
});

describe('answerWithin', () => {
  const ctx = { logger: createSilentLogger(), clock: fixedClock('2026-11-23T10:00:00.000Z'), config: parseConfig({}) } as unknown as WorkflowContext;
  it('answers the work when it is in time and the fallback when it is not, without losing the work', async () => {
    expect(await answerWithin(ctx, 1000, Promise.resolve('done'), () => 'late')).toBe('done');
    let finish: (v: string) => void = () => undefined;
    const slow = new Promise<string>((resolve) => {
      finish = resolve;
    });
    expect(await answerWithin(ctx, 20, slow, () => 'late')).toBe('late');
    finish('done');
    expect(await slow).toBe('done');
    await expect(answerWithin(ctx, 1000, Promise.reject(new Error('boom')), () => 'late')).rejects.toThrow('boom');
  });
});
