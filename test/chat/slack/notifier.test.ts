import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChannelPacer } from '../../../src/chat/slack/notifier.js';
import { buildCaseMessage } from '../../../src/core/messages.js';
import { createTestStore } from '../../helpers/stores.js';
import { NOW, startHarness, stopHarness, workflowContext, type Harness } from './harness.js';

const SPACING_MS = 150;
/** Timer slack: setTimeout may fire a millisecond or two early relative to Date.now(). */
const SLACK_MS = 3;

const message = buildCaseMessage(
  {
    id: 5, advisoryId: 'GHSA-xxxx-yyyy-zzzz', title: 'Prototype pollution in lodash', severity: 'high', state: 'awaiting_approval', reasons: [],
    dueAt: '2026-11-30T10:00:00.000Z', decidedAt: null, advisory: { cves: [], cvssScore: 7.5, kev: null }, affectedHosts: 2, votes: [], rollout: null,
  },
  'alert',
  { publicUrl: 'https://patchdeck.example.com', timezone: 'UTC', now: NOW },
);

describe('Slack notifier pacing', () => {
  let h: Harness | undefined;
  let dispose: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    const created = await createTestStore('sqlite');
    dispose = created.dispose;
    h = await startHarness(workflowContext(created.store), { channelSpacingMs: SPACING_MS });
  });
  afterEach(async () => {
    await stopHarness(h);
    await dispose?.();
  });

  const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

  it('spaces calls into one channel, posts and updates alike, and leaves other channels alone', async () => {
    const notifier = h!.face.notifier;
    // The first post teaches the notifier that #alpha is C0FAKE0001, so updates by id share its queue.
    const first = await notifier.post('#alpha', message);
    await Promise.all([
      notifier.post('#alpha', message),
      notifier.update(first.channel, first.ts!, message),
      notifier.post('#alpha', message),
      notifier.post('#beta', message),
      notifier.post('#beta', message),
    ]);
    const alpha = h!.fake.calls.filter((c) => c.body.channel === '#alpha' || c.body.channel === 'C0FAKE0001');
    const beta = h!.fake.calls.filter((c) => c.body.channel === '#beta');
    expect(alpha.map((c) => c.method)).toEqual(['chat.postMessage', 'chat.postMessage', 'chat.update', 'chat.postMessage']);
    for (const gap of gaps(alpha.map((c) => c.receivedAt))) expect(gap).toBeGreaterThanOrEqual(SPACING_MS - SLACK_MS);
    expect(gaps(beta.map((c) => c.receivedAt))[0]).toBeGreaterThanOrEqual(SPACING_MS - SLACK_MS);
    // #beta started while #alpha was still waiting its turns.
    expect(beta[0]!.receivedAt).toBeLessThan(alpha[2]!.receivedAt);
  });

  it('holds a channel\'s next call while a 429 is waited out, then keeps the spacing', async () => {
    h!.fake.rateLimitOnce('chat.postMessage', 1);
    await Promise.all([h!.face.notifier.post('#alpha', message), h!.face.notifier.post('#alpha', message)]);
    const calls = h!.fake.callsTo('chat.postMessage');
    expect(calls.map((c) => c.status)).toEqual([429, 200, 200]);
    expect(calls[1]!.receivedAt - calls[0]!.receivedAt).toBeGreaterThanOrEqual(1000 - SLACK_MS);
    expect(calls[2]!.receivedAt - calls[1]!.receivedAt).toBeGreaterThanOrEqual(SPACING_MS - SLACK_MS);
  });
});

describe('createChannelPacer', () => {
  it('runs a channel\'s calls one at a time, in order, even when one fails', async () => {
    const pacer = createChannelPacer(0);
    const log: string[] = [];
    const step = (name: string, ms: number, fail = false) => () =>
      new Promise<string>((resolve, reject) => {
        log.push(`start ${name}`);
        setTimeout(() => {
          log.push(`end ${name}`);
          if (fail) reject(new Error(name));
          else resolve(name);
        }, ms);
      });
    const results = await Promise.allSettled([pacer.run('C1', step('a', 30, true)), pacer.run('C1', step('b', 5)), pacer.run('C2', step('c', 5))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(log.indexOf('end a')).toBeLessThan(log.indexOf('start b'));
    expect(log.indexOf('start c')).toBeLessThan(log.indexOf('end a'));
  });
});
