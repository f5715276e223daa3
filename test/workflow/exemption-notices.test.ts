import { afterEach, beforeEach, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/app/logger.js';
import { createSlackDirectNotifier } from '../../src/chat/slack/direct.js';
import { createSlackFace, type SlackFace } from '../../src/chat/slack/face.js';
import { parseConfig } from '../../src/config/load.js';
import { fixedClock } from '../../src/core/clock.js';
import type { ChatMessage } from '../../src/core/messages.js';
import { listAudit, verifyAuditChain } from '../../src/store/audit.js';
import { claimJob, completeJob } from '../../src/store/jobs.js';
import { fromJson } from '../../src/store/json.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { createExemption, createExemptionJobHandlers, endExemption } from '../../src/workflow/exemptions.js';
import { JOB_KINDS, type JobHandlers } from '../../src/workflow/jobs.js';
import { fleet, insertFixtureCase } from '../helpers/case-fixtures.js';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack.js';
import { describeEachStore } from '../helpers/stores.js';

const NOW = '2026-11-23T10:00:00.000Z';
const DAY = 86_400_000;
const PEOPLE = [
  { id: 'alice', name: 'Alice Approver', groups: ['approvers'], slack: 'U0ALICE' },
  // No Slack id: there is no direct path to Bob on Slack.
  { id: 'bob', name: 'Bob Approver', groups: ['approvers'] },
];

describeEachStore('an ended exemption tells the case channel and its approver, once', (s) => {
  let ctx: WorkflowContext;
  let clock: ReturnType<typeof fixedClock>;
  let fake: FakeSlack;
  let face: SlackFace;
  let handlers: JobHandlers;
  beforeEach(async () => {
    clock = fixedClock(NOW);
    ctx = {
      store: s.store,
      clock,
      logger: createSilentLogger(),
      config: parseConfig({ timezone: 'UTC', publicUrl: 'https://patchdeck.example.com', people: PEOPLE, routing: { defaultChannel: '#patching' } }),
    };
    fake = await startFakeSlack();
    face = createSlackFace({ ctx, signingSecret: 'test-signing-secret', botToken: 'xoxb-test-token', apiUrl: fake.url, channelSpacingMs: 0 });
    handlers = createExemptionJobHandlers({ notifiers: [face.notifier], directNotifiers: [createSlackDirectNotifier(face.app.client)] });
  });
  afterEach(async () => {
    await fake.close();
  });

  /** Runs the queued jobs these handlers know, as the worker would; returns the kinds run. */
  const runJobs = async () => {
    const ran: string[] = [];
    for (;;) {
      const job = await claimJob(s.store, { owner: 'test', now: clock.now(), leaseMs: 60_000, kinds: Object.keys(handlers) });
      if (job === null) return ran.sort();
      await handlers[job.kind]!(ctx, job);
      await completeJob(s.store.db, job, clock.now());
      ran.push(job.kind);
    }
  };
  const noticeJobs = () => s.store.db.selectFrom('jobs').select(['kind', 'payload', 'unique_key']).where('kind', 'in', [JOB_KINDS.exemptionNotify, JOB_KINDS.exemptionNotifyApprover]).orderBy('id').execute();
  const stored = () => s.store.db.selectFrom('chat_messages').select(['case_id', 'purpose', 'platform', 'channel', 'ts', 'payload']).orderBy('id').execute();

  it('on expiry by the scheduled job: posts to the case channel and DMs the approver, each once', async () => {
    const { caseId } = await insertFixtureCase(s.store.db, { hosts: fleet(3) });
    await createExemption(ctx, { kind: 'exemption', host: 'host-002', advisoryId: 'USN-7001-1', control: 'isolated VLAN', approvedBy: 'alice', forMs: DAY, reason: 'appliance firmware', actor: 'cli:bob' });
    expect(await noticeJobs()).toEqual([]);

    clock.advance(2 * DAY);
    await handlers[JOB_KINDS.exemptionsExpire]!(ctx, { id: 1, kind: JOB_KINDS.exemptionsExpire, payload: {}, attempts: 1, maxAttempts: 3, fence: 1 });
    // Enqueued in the expiry's transaction, keyed per exemption.
    const jobs = await noticeJobs();
    expect(jobs.map((j) => [j.kind, j.unique_key])).toEqual([
      [JOB_KINDS.exemptionNotify, `exemption:1:ended:case:${caseId}`],
      [JOB_KINDS.exemptionNotifyApprover, 'exemption:1:ended:approver'],
    ]);
    expect(fromJson(jobs[0]!.payload, {})).toEqual({ exemptionId: 1, caseId, reopened: [{ host: 'host-002', advisoryId: 'USN-7001-1', package: 'libssl3' }], reopenedTotal: 1, endedBy: null });

    expect(await runJobs()).toEqual([JOB_KINDS.exemptionNotify, JOB_KINDS.exemptionNotifyApprover]);
    const posts = fake.callsTo('chat.postMessage');
    expect(posts).toHaveLength(2);
    const channelPost = posts.find((p) => p.body.channel === '#patching')!;
    expect(String(channelPost.body.text)).toBe('Exemption #1 expired: USN-7001-1: OpenSSL vulnerabilities. The exemption (isolated VLAN) expired; 1 exposure re-opened.');
    const blocks = JSON.stringify(channelPost.body.blocks);
    expect(blocks).toContain('host-002 · libssl3 (USN-7001-1)');
    expect(blocks).toContain('Alice Approver');
    expect(blocks).toContain('https://patchdeck.example.com/cases/');
    // The approver's DM: opened for her Slack id, posted into it, listing the case.
    expect(fake.callsTo('conversations.open').map((c) => c.body.users)).toEqual(['U0ALICE']);
    const dm = posts.find((p) => p.body.channel === 'D0U0ALICE')!;
    expect(JSON.stringify(dm.body.blocks)).toContain(`#${caseId} USN-7001-1`);
    expect(JSON.stringify(dm.body.blocks)).toContain('You approved it.');

    const rows = await stored();
    expect(rows.map((r) => [r.case_id === null ? null : Number(r.case_id), r.purpose, r.platform, r.channel])).toEqual([
      // Slack answers a channel name with its id.
      [caseId, 'exemption_expired:1', 'slack', 'C0FAKE0001'],
      [null, 'exemption_expired:1:approver', 'slack', 'D0U0ALICE'],
    ]);
    expect(fromJson<ChatMessage | null>(rows[0]!.payload, null)).toMatchObject({ kind: 'exemption_expired', caseId, severity: 'critical' });
    const audit = await listAudit(s.store.db, { subjectType: 'exemption', subjectId: 1 });
    expect(audit.filter((e) => e.action === 'chat.posted').map((e) => (e.after as { purpose: string; person?: string }).person ?? null)).toEqual([null, 'alice']);

    // The job runs again (a lease ran out), assess expires again: nothing more is posted or enqueued.
    await handlers[JOB_KINDS.exemptionNotify]!(ctx, { id: 9, kind: JOB_KINDS.exemptionNotify, payload: fromJson(jobs[0]!.payload, {}), attempts: 2, maxAttempts: 5, fence: 2 });
    await handlers[JOB_KINDS.exemptionNotifyApprover]!(ctx, { id: 10, kind: JOB_KINDS.exemptionNotifyApprover, payload: fromJson(jobs[1]!.payload, {}), attempts: 2, maxAttempts: 5, fence: 2 });
    await handlers[JOB_KINDS.exemptionsExpire]!(ctx, { id: 2, kind: JOB_KINDS.exemptionsExpire, payload: {}, attempts: 1, maxAttempts: 3, fence: 1 });
    expect(await runJobs()).toEqual([]);
    expect(fake.callsTo('chat.postMessage')).toHaveLength(2);
    expect(await noticeJobs()).toHaveLength(2);
    expect(await verifyAuditChain(s.store.db)).toBeNull();
  });

  it('ended by hand (exemptions expire ID): the case channel, the routing default for exposures without a case, and no DM without a Slack id', async () => {
    const { caseId, hostIds } = await insertFixtureCase(s.store.db, { hosts: fleet(4) });
    await s.store.db.updateTable('cases').set({ channel: '#dba' }).where('id', '=', caseId).execute();
    // host-004's exposure belongs to no case (as before assess attaches it).
    await s.store.db.updateTable('exposures').set({ case_id: null }).where('host_id', '=', hostIds[3]!).execute();
    await s.store.db.updateTable('hosts').set({ groups: '["legacy"]' }).where('id', 'in', hostIds.slice(1)).execute();
    await createExemption(ctx, { kind: 'mitigation', group: 'legacy', package: 'libssl3', control: 'service disabled', approvedBy: 'bob', forMs: 30 * DAY, reason: 'not in use', actor: 'cli:alice' });

    clock.advance(DAY);
    const { reopened } = await endExemption(ctx, { id: 1, actor: 'cli:alice' });
    expect(reopened).toBe(3);
    const jobs = await noticeJobs();
    expect(jobs.map((j) => j.unique_key)).toEqual([`exemption:1:ended:case:${caseId}`, 'exemption:1:ended:case:none', 'exemption:1:ended:approver']);
    expect(jobs.map((j) => fromJson<{ reopenedTotal: number; endedBy: string }>(j.payload, { reopenedTotal: -1, endedBy: '' })).map((p) => [p.reopenedTotal, p.endedBy])).toEqual([
      [2, 'cli:alice'],
      [1, 'cli:alice'],
      [3, 'cli:alice'],
    ]);

    expect(await runJobs()).toEqual([JOB_KINDS.exemptionNotify, JOB_KINDS.exemptionNotify, JOB_KINDS.exemptionNotifyApprover]);
    const posts = fake.callsTo('chat.postMessage');
    expect(posts.map((p) => p.body.channel).sort()).toEqual(['#dba', '#patching']);
    const caseless = posts.find((p) => p.body.channel === '#patching')!;
    expect(String(caseless.body.text)).toBe('Mitigation #1 ended: group legacy, package libssl3. The mitigation (service disabled) was ended early; 1 exposure re-opened.');
    expect(JSON.stringify(caseless.body.blocks)).toContain('These exposures had no case when the mitigation ended');
    expect(JSON.stringify(posts.find((p) => p.body.channel === '#dba')!.body.blocks)).toContain('by cli:alice');
    // Bob has no Slack id: no DM, nothing stored for him, and the job is done (not failed).
    expect(fake.callsTo('conversations.open')).toEqual([]);
    expect((await stored()).map((r) => r.purpose)).toEqual(['exemption_expired:1', 'exemption_expired:1']);
  });

  it('waits for the end of the channel\'s quiet hours unless the case is Critical', async () => {
    ctx.config = parseConfig({
      timezone: 'UTC',
      people: PEOPLE,
      routing: { defaultChannel: '#patching', channels: { '#patching': { quietHours: { start: '09:00', end: '11:30', timezone: 'UTC' } } } },
    });
    const { caseId } = await insertFixtureCase(s.store.db, { hosts: fleet(2) });
    await s.store.db.updateTable('cases').set({ severity: 'medium' }).where('id', '=', caseId).execute();
    await createExemption(ctx, { kind: 'exemption', host: 'host-001', advisoryId: 'USN-7001-1', control: 'firewall rule', approvedBy: 'alice', forMs: DAY, reason: 'r', actor: 'cli:bob' });
    clock.advance(2 * DAY);
    await handlers[JOB_KINDS.exemptionsExpire]!(ctx, { id: 1, kind: JOB_KINDS.exemptionsExpire, payload: {}, attempts: 1, maxAttempts: 3, fence: 1 });
    // 10:00 UTC: the approver's DM goes now (quiet hours are a channel's), the channel post waits until 11:30.
    expect(await runJobs()).toEqual([JOB_KINDS.exemptionNotify, JOB_KINDS.exemptionNotifyApprover]);
    expect(fake.callsTo('chat.postMessage').map((p) => p.body.channel)).toEqual(['D0U0ALICE']);
    const queued = await s.store.db.selectFrom('jobs').select(['kind', 'run_at', 'unique_key']).where('state', '=', 'queued').execute();
    expect(queued).toEqual([{ kind: JOB_KINDS.exemptionNotify, run_at: '2026-11-25T11:30:00.000Z', unique_key: `exemption:1:ended:case:${caseId}:after-quiet:2026-11-25T11:30:00.000Z` }]);
    clock.advance(90 * 60_000);
    expect(await runJobs()).toEqual([JOB_KINDS.exemptionNotify]);
    expect(fake.callsTo('chat.postMessage').map((p) => p.body.channel)).toEqual(['D0U0ALICE', '#patching']);

    // A Critical case is told at once, quiet hours or not.
    await s.store.db.updateTable('cases').set({ severity: 'critical' }).where('id', '=', caseId).execute();
    await s.store.db.deleteFrom('chat_messages').where('purpose', '=', 'exemption_expired:1').execute();
    clock.set('2026-11-25T10:00:00.000Z');
    const [notice] = await s.store.db.selectFrom('jobs').select('payload').where('kind', '=', JOB_KINDS.exemptionNotify).orderBy('id').execute();
    await handlers[JOB_KINDS.exemptionNotify]!(ctx, { id: 50, kind: JOB_KINDS.exemptionNotify, payload: fromJson(notice!.payload, {}), attempts: 1, maxAttempts: 5, fence: 1 });
    expect(fake.callsTo('chat.postMessage').map((p) => p.body.channel)).toEqual(['D0U0ALICE', '#patching', '#patching']);
  });

  it('retries only the platform copy that failed', async () => {
    await insertFixtureCase(s.store.db, { hosts: fleet(2) });
    await createExemption(ctx, { kind: 'exemption', host: 'host-001', advisoryId: 'USN-7001-1', control: 'firewall rule', approvedBy: 'alice', forMs: DAY, reason: 'r', actor: 'cli:bob' });
    clock.advance(2 * DAY);
    await handlers[JOB_KINDS.exemptionsExpire]!(ctx, { id: 1, kind: JOB_KINDS.exemptionsExpire, payload: {}, attempts: 1, maxAttempts: 3, fence: 1 });
    const [notice] = await noticeJobs();
    const failing = { platform: 'teams' as const, post: async () => Promise.reject(new Error('connector down')), update: async () => {} };
    const both = createExemptionJobHandlers({ notifiers: [face.notifier, failing], directNotifiers: [] });
    const job = { id: 1, kind: JOB_KINDS.exemptionNotify, payload: fromJson(notice!.payload, {}), attempts: 1, maxAttempts: 5, fence: 1 };
    await expect(both[JOB_KINDS.exemptionNotify]!(ctx, job)).rejects.toThrow('teams: connector down');
    await expect(both[JOB_KINDS.exemptionNotify]!(ctx, job)).rejects.toThrow('teams: connector down');
    // Slack got its copy once; only the Teams copy is retried.
    expect(fake.callsTo('chat.postMessage')).toHaveLength(1);
    expect((await stored()).map((r) => r.platform)).toEqual(['slack']);
  });
});
