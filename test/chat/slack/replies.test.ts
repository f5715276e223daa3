import { describe, expect, it } from 'vitest';
import { buildHelpReply, buildHomeView, buildStatusReply, type MyWork, type ReplyOptions } from '../../../src/chat/slack/replies.js';
import type { OpenDecision } from '../../../src/store/queries/my-work.js';

const OPTS: ReplyOptions = { publicUrl: 'https://patchdeck.example.com', timezone: 'Europe/Berlin', now: new Date('2026-11-23T10:00:00.000Z'), people: [] };
const BOB = { id: 'bob', name: 'Bob <Example>', groups: ['approvers'], slack: 'UBOB' };

function decision(caseId: number, title = `Case ${caseId}`): OpenDecision {
  return { caseId, title, severity: 'high', caseState: 'awaiting_approval', dueAt: '2026-11-24T10:00:00.000Z', requestedBy: 'patchdeck', stage: 'approval', rollout: null, votes: [], planHash: null };
}

const work = (over: Partial<MyWork> = {}): MyWork => ({ person: BOB, approvals: [], signoffs: [], rollouts: [], reboots: [], ...over });

describe('buildStatusReply', () => {
  it('counts only open cases, by severity, with overdue ones per severity', () => {
    const reply = buildStatusReply(
      [
        { id: 1, severity: 'high', state: 'awaiting_approval', dueAt: '2026-11-22T00:00:00.000Z' },
        { id: 2, severity: 'high', state: 'deploying', dueAt: '2026-11-25T00:00:00.000Z' },
        { id: 3, severity: 'critical', state: 'reviewed', dueAt: '2026-11-01T00:00:00.000Z' },
      ],
      OPTS,
    );
    expect(reply.text).toBe('Patchdeck: 2 open cases · 1 overdue · 1 awaiting approval');
    const fields = (reply.blocks[1] as { fields: { text: string }[] }).fields.map((f) => f.text);
    expect(fields).toEqual([':red_circle: *Critical*\n0 open', ':large_orange_circle: *High*\n2 open, 1 overdue', ':large_yellow_circle: *Medium*\n0 open', ':large_green_circle: *Low*\n0 open']);
  });
});

describe('buildHelpReply', () => {
  it('escapes what the user typed', () => {
    expect(JSON.stringify(buildHelpReply('<!channel>').blocks)).toContain('`&lt;!channel&gt;` is not a Patchdeck command');
  });
});

describe('buildHomeView', () => {
  it('puts the plan hash of each waiting approval into its buttons', () => {
    const hash = 'd'.repeat(64);
    const view = buildHomeView(work({ approvals: [{ ...decision(4), planHash: hash }, decision(5)] }), 'UBOB', OPTS, null);
    const values = view.blocks.flatMap((b) => (b.type === 'actions' ? (b as { elements: { value?: string }[] }).elements.map((e) => e.value) : []));
    expect(values).toEqual([`case:4:approve:${hash}`, `case:4:reject:${hash}`, 'case:5:approve', 'case:5:reject']);
  });

  it('escapes names and titles and marks overdue decisions', () => {
    const view = buildHomeView(work({ approvals: [{ ...decision(1, 'a <@U1> b'), dueAt: '2026-11-22T10:00:00.000Z' }] }), 'UBOB', OPTS, null);
    const text = JSON.stringify(view.blocks);
    expect(text).toContain('Hello Bob &lt;Example&gt;');
    expect(text).toContain('a &lt;@U1&gt; b');
    expect(text).toContain(':warning: overdue, was due 2026-11-22 11:00 CET (1 day ago)');
  });

  it('stays within the Home tab\'s 100 blocks with a long backlog and says how many more there are', () => {
    const many = Array.from({ length: 60 }, (_, i) => decision(i + 1));
    const view = buildHomeView(work({ approvals: many, signoffs: many.map((d) => ({ ...d, stage: 'pilot_signoff' as const })) }), 'UBOB', OPTS, 'notice');
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    const text = JSON.stringify(view.blocks);
    expect(text).toContain('Approvals waiting for you (60)');
    expect(text).toContain('and 50 more in the web console');
    expect(text).toContain('None of your hosts waits for a reboot.');
    const blockIds = view.blocks.map((b) => (b as { block_id?: string }).block_id).filter((id) => id !== undefined);
    expect(new Set(blockIds).size).toBe(blockIds.length);
  });
});
