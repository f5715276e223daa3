import { expect, it } from 'vitest';
import { createSilentLogger } from '../../src/app/logger.js';
import { parseConfig } from '../../src/config/load.js';
import { fixedClock } from '../../src/core/clock.js';
import type { ChatMessage } from '../../src/core/messages.js';
import type { PersonRecord } from '../../src/core/people.js';
import { listAudit } from '../../src/store/audit.js';
import type { Store } from '../../src/store/db.js';
import { claimJob, completeJob } from '../../src/store/jobs.js';
import { fromJson } from '../../src/store/json.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { createDigestJobHandlers } from '../../src/workflow/digest.js';
import type { JobHandlers } from '../../src/workflow/jobs.js';
import { createNotificationJobHandlers, type Notifier } from '../../src/workflow/notifications.js';
import type { DirectNotifier } from '../../src/workflow/reboots.js';
import { createSlaJobHandlers, sweepSla } from '../../src/workflow/sla-sweep.js';
import { insertCase } from '../chat/case-rows.js';
import { describeEachStore } from '../helpers/stores.js';

/** Quiet hours, digest mode and SLA reminders/escalations, through the real job handlers. */

const PEOPLE = [
  { id: 'alice', name: 'Alice Example', groups: ['approvers'], slack: 'UALICE' },
  { id: 'erin', name: 'Erin Escalation', groups: ['managers'], slack: 'UERIN' },
];

function recording(): Notifier & DirectNotifier & { posts: { channel: string; message: ChatMessage }[] } {
  const posts: { channel: string; message: ChatMessage }[] = [];
  return {
    platform: 'slack',
    posts,
    async post(channel: string, message: ChatMessage) {
      posts.push({ channel, message });
      return { channel, ts: `ts-${posts.length}` };
    },
    async postDirect(person: PersonRecord, message: ChatMessage) {
      posts.push({ channel: `@${person.id}`, message });
      return { channel: `D-${person.id}`, ts: `ts-${posts.length}` };
    },
    async update() {},
  };
}

function setup(store: Store, now: string) {
  const clock = fixedClock(now);
  const ctx: WorkflowContext = {
    store,
    clock,
    logger: createSilentLogger(),
    config: parseConfig({
      timezone: 'UTC',
      publicUrl: 'https://patchdeck.example.com',
      people: PEOPLE,
      routing: {
        defaultChannel: '#patching',
        rules: [
          { channel: '#night-owls', severity: ['high'], escalateTo: '#incident' },
          { channel: '#desk', severity: ['low'], escalateTo: 'erin' },
        ],
        channels: {
          '#night-owls': { quietHours: { start: '22:00', end: '07:00', timezone: 'Europe/Berlin' } },
          '#patching': { timezone: 'Europe/Berlin', digest: { at: '09:00' } },
        },
      },
    }),
  };
  const chat = recording();
  const handlers: JobHandlers = {
    ...createNotificationJobHandlers({ notifiers: [chat], people: PEOPLE }),
    ...createDigestJobHandlers({ notifiers: [chat] }),
    ...createSlaJobHandlers({ directNotifiers: [chat] }),
  };
  return { ctx, clock, chat, handlers };
}

async function drain(ctx: WorkflowContext, handlers: JobHandlers): Promise<string[]> {
  const ran: string[] = [];
  for (;;) {
    const job = await claimJob(ctx.store, { owner: 'test', now: ctx.clock.now(), leaseMs: 60_000, kinds: Object.keys(handlers) });
    if (!job) return ran;
    await handlers[job.kind]!(ctx, job);
    await completeJob(ctx.store.db, job, ctx.clock.now());
    ran.push(`${job.kind}:${String(job.payload.purpose ?? job.payload.channel ?? '')}`);
  }
}

async function enqueue(ctx: WorkflowContext, kind: string, payload: Record<string, unknown>) {
  await ctx.store.db
    .insertInto('jobs')
    .values({ kind, payload: JSON.stringify(payload), state: 'queued', run_at: ctx.clock.now().toISOString(), attempts: 0, max_attempts: 5, fence: 0, unique_key: null, created_at: ctx.clock.now().toISOString(), updated_at: ctx.clock.now().toISOString() })
    .execute();
}

describeEachStore('channel quiet hours, digests and SLA notices', (s) => {
  it('holds a non-critical post until quiet hours end in the channel\'s zone, and lets a critical one through', async () => {
    // 23:30 in Berlin.
    const { ctx, clock, chat, handlers } = setup(s.store, '2026-11-23T22:30:00.000Z');
    const high = await insertCase(s.store.db, { advisoryId: 'USN-1', severity: 'high', channel: '#night-owls' });
    const critical = await insertCase(s.store.db, { advisoryId: 'USN-2', severity: 'critical', channel: '#night-owls' });
    await enqueue(ctx, 'chat.post', { caseId: high, purpose: 'alert' });
    await enqueue(ctx, 'chat.post', { caseId: critical, purpose: 'alert' });
    await drain(ctx, handlers);
    expect(chat.posts.map((p) => p.message.title)).toEqual(['USN-2: OpenSSL vulnerabilities']);
    const delayed = await s.store.db.selectFrom('jobs').select(['run_at', 'unique_key', 'state']).where('state', '=', 'queued').execute();
    expect(delayed).toEqual([{ run_at: '2026-11-24T06:00:00.000Z', unique_key: `case:${high}:alert:after-quiet:2026-11-24T06:00:00.000Z`, state: 'queued' }]);
    expect((await listAudit(s.store.db, { subjectType: 'case', subjectId: high })).map((e) => [e.action, (e.after as { until?: string }).until])).toEqual([['chat.delayed', '2026-11-24T06:00:00.000Z']]);

    clock.set(new Date('2026-11-24T06:00:00.000Z'));
    await drain(ctx, handlers);
    expect(chat.posts.map((p) => p.message.title)).toEqual(['USN-2: OpenSSL vulnerabilities', 'USN-1: OpenSSL vulnerabilities']);
  });

  it('lists Medium and Low alerts of a digest channel in one daily message, once, and posts High at once', async () => {
    const { ctx, chat, handlers } = setup(s.store, '2026-11-23T08:00:00.000Z');
    const medium = await insertCase(s.store.db, { advisoryId: 'USN-10', severity: 'medium', channel: '#patching' });
    const low = await insertCase(s.store.db, { advisoryId: 'USN-11', severity: 'low', channel: '#patching', affectedHosts: 2 });
    const high = await insertCase(s.store.db, { advisoryId: 'USN-12', severity: 'high', channel: '#patching' });
    for (const caseId of [medium, low, high]) await enqueue(ctx, 'chat.post', { caseId, purpose: 'alert' });
    await drain(ctx, handlers);
    expect(chat.posts.map((p) => p.message.title)).toEqual(['USN-12: OpenSSL vulnerabilities']);

    await enqueue(ctx, 'digest.send', { channel: '#patching' });
    await enqueue(ctx, 'digest.send', { channel: '#patching' });
    await drain(ctx, handlers);
    const digests = chat.posts.filter((p) => p.message.kind === 'digest');
    expect(digests).toHaveLength(1);
    expect(digests[0]!.channel).toBe('#patching');
    expect(digests[0]!.message.title).toBe('Daily patch digest for #patching: 2 cases');
    expect(digests[0]!.message.sections[0]!.lines).toEqual([
      `Medium · USN-10: OpenSSL vulnerabilities · 3 hosts · due 2026-11-24 12:00 CET · https://patchdeck.example.com/cases/${medium}`,
      `Low · USN-11: OpenSSL vulnerabilities · 2 hosts · due 2026-11-24 12:00 CET · https://patchdeck.example.com/cases/${low}`,
    ]);
    const claimed = await s.store.db.selectFrom('cases').select(['id', 'digested_at']).orderBy('id').execute();
    expect(claimed.map((c) => c.digested_at)).toEqual(['2026-11-23T08:00:00.000Z', '2026-11-23T08:00:00.000Z', null]);
    const stored = await s.store.db.selectFrom('chat_messages').select(['purpose', 'ts', 'case_id']).where('purpose', '=', 'digest:#patching').execute();
    expect(stored).toEqual([{ purpose: 'digest:#patching', ts: 'ts-2', case_id: null }]);
  });

  it('reminds once at 75% of the SLA window and escalates once after the breach to the rule\'s channel or person', async () => {
    // Cases opened 2026-11-20 09:00, due 2026-11-24 11:00: 75% is 2026-11-23 10:30.
    const { ctx, clock, chat, handlers } = setup(s.store, '2026-11-23T10:29:00.000Z');
    const high = await insertCase(s.store.db, { advisoryId: 'USN-20', severity: 'high', channel: '#night-owls' });
    const low = await insertCase(s.store.db, { advisoryId: 'USN-21', severity: 'low', channel: '#desk' });
    await insertCase(s.store.db, { advisoryId: 'USN-22', severity: 'low', channel: '#desk', state: 'completed' });
    expect(await sweepSla(ctx)).toEqual({ reminders: 0, breaches: 0 });
    clock.set(new Date('2026-11-23T10:30:00.000Z'));
    expect(await sweepSla(ctx)).toEqual({ reminders: 2, breaches: 0 });
    expect(await sweepSla(ctx)).toEqual({ reminders: 0, breaches: 0 });
    await drain(ctx, handlers);
    expect(chat.posts.map((p) => [p.channel, p.message.kind, p.message.caseId])).toEqual([
      ['#night-owls', 'sla_reminder', high],
      ['#desk', 'sla_reminder', low],
    ]);

    clock.set(new Date('2026-11-24T11:00:00.000Z'));
    await enqueue(ctx, 'sla.sweep', {});
    await enqueue(ctx, 'sla.sweep', {});
    await drain(ctx, handlers);
    expect(chat.posts.slice(2).map((p) => [p.channel, p.message.kind, p.message.caseId])).toEqual([
      ['#incident', 'sla_breach', high],
      ['@erin', 'sla_breach', low],
    ]);
    const breachJobs = await s.store.db.selectFrom('jobs').select(['kind', 'payload']).where('unique_key', 'like', '%sla_breach').orderBy('id').execute();
    expect(breachJobs.map((j) => [j.kind, fromJson(j.payload, {})])).toEqual([
      ['chat.post', { caseId: high, purpose: 'sla_breach', escalateTo: '#incident' }],
      ['sla.escalate_person', { caseId: low, person: 'erin' }],
    ]);
    const audit = (await listAudit(s.store.db)).filter((e) => e.action.startsWith('sla.')).map((e) => `${e.subjectId}:${e.action}`);
    expect(audit).toEqual([`${high}:sla.reminder_due`, `${low}:sla.reminder_due`, `${high}:sla.breached`, `${low}:sla.breached`]);
  });
});
