import { describe, expect, it } from 'vitest';
import { describeConsoleMessage } from '../../src/web/console-messages.js';
import { createViewRenderer, safeHref } from '../../src/web/render.js';
import { describeReviewValue, labelFor } from '../../src/web/review-view.js';

const row = (payload: string, caseId: number | null = 7) => ({
  id: 1,
  caseId,
  purpose: 'alert',
  channel: '#patching',
  payload,
  createdAt: '2026-11-23T09:00:00.000Z',
  updatedAt: '2026-11-23T09:00:00.000Z',
});

describe('web view helpers', () => {
  it('links only http(s) URLs and local paths', () => {
    expect(safeHref('https://ubuntu.com/security/notices/USN-6450-1')).toBe('https://ubuntu.com/security/notices/USN-6450-1');
    expect(safeHref('/cases/3')).toBe('/cases/3');
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref(' JavaScript:alert(1)')).toBeNull();
    expect(safeHref('data:text/html,<script>')).toBeNull();
    expect(safeHref('//evil.example/x')).toBeNull();
    expect(safeHref('/\\evil.example')).toBeNull();
    expect(safeHref(null)).toBeNull();
  });

  it('reads a stored ChatMessage defensively', () => {
    const view = describeConsoleMessage(
      row(
        JSON.stringify({
          kind: 'alert',
          title: 'USN-6450-1: OpenSSL',
          severity: 'high',
          facts: [{ label: 'Hosts', value: 3 }, { nope: true }, 'x'],
          sections: [{ heading: null, lines: ['a', 5, 'b'] }],
          actions: [
            { id: 'approve', label: 'Approve', style: 'primary', value: 'case:7:approve' },
            { id: 'delete_everything', label: 'Boom' },
            { id: 'signoff_reject', label: 'Reject pilot', style: 'danger' },
          ],
          link: { label: 'Open', url: 'javascript:alert(1)' },
          footer: null,
        }),
      ),
    );
    expect(view).toMatchObject({
      caseId: 7,
      facts: [{ label: 'Hosts', value: '3' }],
      sections: [{ heading: null, lines: ['a', 'b'] }],
      actions: [
        { label: 'Approve', style: 'primary', stage: 'approval', decision: 'approve' },
        { label: 'Reject pilot', style: 'danger', stage: 'pilot_signoff', decision: 'reject' },
      ],
      link: null,
    });
    expect(describeConsoleMessage(row('{broken'))).toBeNull();
    expect(describeConsoleMessage(row('[1,2]'))).toBeNull();
    // Without a case to vote on, buttons would post nowhere: they are left out.
    expect(describeConsoleMessage(row(JSON.stringify({ title: 't', actions: [{ id: 'approve' }] }), null))?.actions).toEqual([]);
  });

  it('turns unknown review fields into labelled fields, tables and times', () => {
    expect(labelFor('timeToFix')).toBe('Time to fix');
    expect(labelFor('p95_hours')).toBe('P95 hours');
    expect(describeReviewValue({ checkedAt: '2026-11-24T09:30:00.000Z', hosts: [{ host: 'a', ok: true }], notes: ['x'], score: 0.456 })).toEqual({
      kind: 'fields',
      fields: [
        { label: 'Checked at', node: { kind: 'time', value: '2026-11-24T09:30:00.000Z' } },
        { label: 'Hosts', node: { kind: 'table', columns: ['Host', 'Ok'], rows: [[{ kind: 'text', value: 'a' }, { kind: 'text', value: 'yes' }]] } },
        { label: 'Notes', node: { kind: 'list', items: [{ kind: 'text', value: 'x' }] } },
        { label: 'Score', node: { kind: 'text', value: '0.46' } },
      ],
    });
    // Deep nesting stops instead of recursing without end.
    let deep: Record<string, unknown> = { leaf: 'x' };
    for (let i = 0; i < 20; i++) deep = { next: deep };
    expect(JSON.stringify(describeReviewValue(deep))).toContain('…');
  });

  it('formats times in the team zone and escapes values in every page', () => {
    const views = createViewRenderer({ timezone: 'America/New_York', now: () => new Date('2026-11-23T10:00:00.000Z') });
    const html = views.render('error', { status: 418, heading: '<h1>x</h1>', message: 'a "quoted" <b>message</b>', reference: null, pageTitle: '<t>', person: null, flash: null });
    expect(html).toContain('&lt;h1&gt;x&lt;/h1&gt;');
    expect(html).toContain('a &quot;quoted&quot; &lt;b&gt;message&lt;/b&gt;');
    expect(html).toContain('<title>&lt;t&gt; · Patchdeck</title>');
    expect(html).toContain('America/New_York');
    const table = views.render('review', {
      case: { id: 1, title: 't', severity: 'low', state: 'completed' },
      review: { generatedAt: '2026-11-23T10:00:00.000Z', outcomes: { installed: 1, targets: 1, failed: 0, rebootFailed: 0, notFinished: 0 }, openExposures: 0 },
      timeline: [{ label: 'Case opened', at: '2026-07-01T12:00:00.000Z' }],
    });
    expect(table).toContain('2026-11-23 05:00 GMT-5');
    expect(table).toContain('2026-07-01 08:00 GMT-4');
  });
});
