import { expect, it } from 'vitest';
import { createSilentLogger } from '../../src/app/logger.js';
import { parseConfig } from '../../src/config/load.js';
import { fixedClock } from '../../src/core/clock.js';
import type { ChatMessage } from '../../src/core/messages.js';
import type { ClaimedJob } from '../../src/store/jobs.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { createNotificationJobHandlers, type Notifier } from '../../src/workflow/notifications.js';
import { insertCase, insertRollout } from '../chat/case-rows.js';
import { describeEachStore } from '../helpers/stores.js';

/** Rollout progress: one reply in the alert's thread, rewritten in place as the waves go by. */

const job = (kind: string, payload: Record<string, unknown>): ClaimedJob => ({ id: 1, kind, payload, attempts: 1, maxAttempts: 5, fence: 1 });

describeEachStore('rollout progress thread', (s) => {
  it('posts progress once as a reply under the alert and updates that one message', async () => {
    const calls: { op: string; channel: string; ts?: string; threadTs?: string; message: ChatMessage }[] = [];
    let n = 0;
    const slack: Notifier = {
      platform: 'slack',
      async post(channel, message, options) {
        calls.push({ op: 'post', channel, message, ...(options?.threadTs ? { threadTs: options.threadTs } : {}) });
        return { channel: 'C0PATCH', ts: `1795000000.00010${++n}` };
      },
      async update(channel, ts, message) {
        calls.push({ op: 'update', channel, ts, message });
      },
    };
    const ctx: WorkflowContext = {
      store: s.store,
      clock: fixedClock('2026-11-23T10:00:00.000Z'),
      logger: createSilentLogger(),
      config: parseConfig({ timezone: 'Europe/Berlin', publicUrl: 'https://patchdeck.example.com', routing: { defaultChannel: '#patching' } }),
    };
    const handlers = createNotificationJobHandlers({ notifier: slack, people: [] });
    const caseId = await insertCase(s.store.db, { channel: '#patching', state: 'approved' });
    await handlers['chat.post']!(ctx, job('chat.post', { caseId, purpose: 'alert' }));
    await insertRollout(s.store.db, { caseId, state: 'deploying', currentWave: 1, targets: [{ state: 'rebooted', wave: 0 }, { state: 'queued', wave: 1 }] });
    await handlers['chat.post']!(ctx, job('chat.post', { caseId, purpose: 'progress' }));
    await handlers['chat.post']!(ctx, job('chat.post', { caseId, purpose: 'progress' }));
    await handlers['chat.update']!(ctx, job('chat.update', { caseId, purpose: 'progress' }));

    expect(calls.map((c) => [c.op, c.message.kind, c.threadTs ?? c.ts ?? null])).toEqual([
      ['post', 'alert', null],
      ['post', 'progress', '1795000000.000101'],
      ['update', 'progress', '1795000000.000102'],
    ]);
    expect(calls[1]!.message.title).toBe('Rollout progress: USN-7001-1: OpenSSL vulnerabilities');
  });
});
