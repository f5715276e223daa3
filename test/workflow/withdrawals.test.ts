import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/app/logger.js';
import { createSlackFace, type SlackFace } from '../../src/chat/slack/face.js';
import { parseConfig } from '../../src/config/load.js';
import { fixedClock } from '../../src/core/clock.js';
import { listAudit } from '../../src/store/audit.js';
import { claimJob, completeJob } from '../../src/store/jobs.js';
import { fromJson } from '../../src/store/json.js';
import { assessAll } from '../../src/workflow/assess.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { ingestFeedFile } from '../../src/workflow/feeds.js';
import { JOB_KINDS, type JobHandlers } from '../../src/workflow/jobs.js';
import { createNotificationJobHandlers } from '../../src/workflow/notifications.js';
import { createWithdrawalJobHandlers, withdrawAdvisory } from '../../src/workflow/withdrawals.js';
import { fleet, insertFixtureCase, PEOPLE } from '../helpers/case-fixtures.js';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack.js';
import { describeEachStore } from '../helpers/stores.js';

const USN = new URL('../fixtures/feeds/osv/ubuntu/USN-6242-1.json', import.meta.url).pathname;
const NOW = '2026-11-23T10:00:00.000Z';
const OPENSSH = { ecosystem: 'Ubuntu:22.04:LTS', name: 'openssh-client', installed: '1:8.9p1-3ubuntu0.1', fixed: '1:8.9p1-3ubuntu0.3' };

describeEachStore('withdrawn advisories withdraw their exposures, cases and alerts', (s) => {
  let ctx: WorkflowContext;
  let fake: FakeSlack;
  let face: SlackFace;
  let handlers: JobHandlers;
  let scratch: string;
  beforeEach(async () => {
    ctx = {
      store: s.store,
      clock: fixedClock(NOW),
      logger: createSilentLogger(),
      config: parseConfig({ timezone: 'UTC', publicUrl: 'https://patchdeck.example.com', people: PEOPLE, routing: { defaultChannel: '#patching' } }),
    };
    fake = await startFakeSlack();
    face = createSlackFace({ ctx, signingSecret: 'test-signing-secret', botToken: 'xoxb-test-token', apiUrl: fake.url, channelSpacingMs: 0 });
    handlers = { ...createNotificationJobHandlers({ notifier: face.notifier, people: PEOPLE }), ...createWithdrawalJobHandlers() };
    scratch = mkdtempSync(path.join(tmpdir(), 'patchdeck-withdrawals-'));
  });
  afterEach(async () => {
    await fake.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** Runs queued jobs of these handlers' kinds (not the assess jobs feed runs queue) until none is due, as the worker would; returns the kinds run. */
  const runJobs = async () => {
    const ran: string[] = [];
    for (;;) {
      const job = await claimJob(s.store, { owner: 'test', now: new Date(NOW), leaseMs: 60_000, kinds: Object.keys(handlers) });
      if (job === null) return ran;
      await handlers[job.kind]!(ctx, job);
      await completeJob(s.store.db, job, new Date(NOW));
      ran.push(job.kind);
    }
  };

  /** USN-6242-1 as published, or withdrawn by its publisher. */
  const writeUsn = (withdrawn: string | null) => {
    const record = JSON.parse(readFileSync(USN, 'utf8')) as Record<string, unknown>;
    if (withdrawn !== null) record.withdrawn = withdrawn;
    const file = path.join(scratch, 'USN-6242-1.json');
    writeFileSync(file, JSON.stringify(record));
    return file;
  };

  const caseRow = (id: number) => s.store.db.selectFrom('cases').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const exposuresOf = (advisoryId: string) => s.store.db.selectFrom('exposures').selectAll().where('advisory_id', '=', advisoryId).orderBy('id').execute();

  it('resolves the exposures, closes the case, posts in the alert thread and updates the alert', async () => {
    const { caseId, hostIds } = await insertFixtureCase(s.store.db, { advisoryId: 'USN-6242-1', title: 'OpenSSH vulnerability', hosts: fleet(3, { packages: [OPENSSH] }) });
    for (const hostId of hostIds) {
      await s.store.db.insertInto('host_packages').values({ host_id: hostId, ecosystem: OPENSSH.ecosystem, name: OPENSSH.name, version: OPENSSH.installed }).execute();
    }
    await handlers[JOB_KINDS.chatPost]!(ctx, { id: 1, kind: JOB_KINDS.chatPost, payload: { caseId, purpose: 'alert' }, attempts: 1, maxAttempts: 5, fence: 1 });
    const alert = fake.callsTo('chat.postMessage')[0]!;
    const [alertRow] = await s.store.db.selectFrom('chat_messages').select(['ts', 'channel']).where('case_id', '=', caseId).execute();

    // The record as published first: nothing is withdrawn and no job is queued.
    await ingestFeedFile(ctx, { kind: 'osv', path: writeUsn(null), name: 'ubuntu', actor: 'scheduler' });
    expect(await runJobs()).toEqual([]);

    const result = await ingestFeedFile(ctx, { kind: 'osv', path: writeUsn('2026-11-23T09:30:00Z'), name: 'ubuntu', actor: 'scheduler' });
    expect(result).toMatchObject({ updated: 1 });
    // Committed with the run: its audit event and the job.
    const events = await listAudit(s.store.db, { subjectType: 'advisory', subjectId: 'USN-6242-1' });
    expect(events.map((e) => [e.action, e.after])).toEqual([['advisory.withdrawn', { source: 'osv', feed: 'ubuntu', withdrawnAt: '2026-11-23T09:30:00.000Z' }]]);
    expect(await s.store.db.selectFrom('jobs').select(['kind', 'payload']).where('kind', '=', JOB_KINDS.advisoryWithdrawn).execute()).toHaveLength(1);

    expect((await runJobs()).sort()).toEqual([JOB_KINDS.advisoryWithdrawn, JOB_KINDS.chatPost, JOB_KINDS.chatUpdate].sort());

    const exposures = await exposuresOf('USN-6242-1');
    expect(exposures.map((e) => [e.status, e.resolved_at])).toEqual(hostIds.map(() => ['resolved', NOW]));
    expect(fromJson<string[]>(exposures[0]!.reasons, [])).toEqual(['Resolved: advisory withdrawn by osv']);

    const closed = await caseRow(caseId);
    expect(closed.state).toBe('not_applicable');
    expect(fromJson<string[]>(closed.reasons, [])[0]).toBe('Advisory withdrawn by osv (2026-11-23 09:30 UTC): exposures resolved, case closed');
    const caseEvents = await listAudit(s.store.db, { subjectType: 'case', subjectId: caseId });
    expect(caseEvents.find((e) => e.action === 'case.state_changed')).toMatchObject({
      before: { state: 'awaiting_approval' },
      after: { state: 'not_applicable', reason: 'advisory withdrawn by osv' },
    });
    expect(caseEvents.find((e) => e.action === 'case.advisory_withdrawn')).toMatchObject({ after: { closed: true } });

    // In the alert's thread on Slack, then the alert itself: closed, no buttons left.
    const posts = fake.callsTo('chat.postMessage');
    expect(posts).toHaveLength(2);
    expect(posts[1]!.body).toMatchObject({ channel: '#patching', thread_ts: alertRow!.ts });
    expect(String(posts[1]!.body.text)).toContain('Advisory withdrawn: USN-6242-1');
    expect(JSON.stringify(posts[1]!.body.blocks)).toContain('nothing will be rolled out for it');
    const update = fake.callsTo('chat.update')[0]!;
    expect(update.body).toMatchObject({ channel: alertRow!.channel, ts: alertRow!.ts });
    const blocks = update.body.blocks as { type: string }[];
    expect(blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(JSON.stringify(blocks)).toContain('Closed as not applicable');
    expect(JSON.stringify(alert.body.blocks)).toContain('approve');

    // Assessing again matches only non-withdrawn advisories: nothing re-opens.
    const assessed = await assessAll(ctx, { actor: 'scheduler' });
    expect(assessed.casesOpened).toEqual([]);
    expect((await exposuresOf('USN-6242-1')).every((e) => e.status === 'resolved')).toBe(true);

    // Done once: an unchanged re-run of the feed queues nothing, and the job run again does nothing.
    await ingestFeedFile(ctx, { kind: 'osv', path: writeUsn('2026-11-23T09:30:00Z'), name: 'ubuntu', actor: 'scheduler' });
    expect(await runJobs()).toEqual([]);
    expect(await withdrawAdvisory(ctx, { advisoryId: 'USN-6242-1', actor: 'patchdeck' })).toMatchObject({ withdrawn: true, exposuresResolved: 0, casesClosed: [] });
    expect(await runJobs()).toEqual([]);
    expect(fake.callsTo('chat.postMessage')).toHaveLength(2);
  });

  it('leaves a case whose rollout started in its state, and says so in its thread', async () => {
    const { caseId } = await insertFixtureCase(s.store.db, { advisoryId: 'USN-6242-1', state: 'piloting', hosts: fleet(2, { packages: [OPENSSH] }) });
    await ingestFeedFile(ctx, { kind: 'osv', path: writeUsn('2026-11-23T09:30:00Z'), name: 'ubuntu', actor: 'scheduler' });
    await runJobs();
    expect((await caseRow(caseId)).state).toBe('piloting');
    expect((await exposuresOf('USN-6242-1')).every((e) => e.status === 'resolved')).toBe(true);
    const [post] = fake.callsTo('chat.postMessage');
    // No alert was posted for this case, so the notice goes to the channel itself.
    expect(post!.body.thread_ts).toBeUndefined();
    expect(JSON.stringify(post!.body.blocks)).toContain('halt the rollout if the patch is no longer wanted');
  });

  it('closes an approved case whose rollout has not started, so rollout.start finds nothing to do', async () => {
    const { caseId } = await insertFixtureCase(s.store.db, { advisoryId: 'USN-6242-1', state: 'approved', hosts: fleet(1, { packages: [OPENSSH] }) });
    await ingestFeedFile(ctx, { kind: 'osv', path: writeUsn('2026-11-23T09:30:00Z'), name: 'ubuntu', actor: 'scheduler' });
    await runJobs();
    expect((await caseRow(caseId)).state).toBe('not_applicable');
  });

  it('leaves a case that is already closed as it is, without a message, but resolves the exposures', async () => {
    const { caseId } = await insertFixtureCase(s.store.db, { advisoryId: 'USN-6242-1', state: 'completed', hosts: fleet(1, { packages: [OPENSSH] }) });
    await ingestFeedFile(ctx, { kind: 'osv', path: writeUsn('2026-11-23T09:30:00Z'), name: 'ubuntu', actor: 'scheduler' });
    expect(await runJobs()).toEqual([JOB_KINDS.advisoryWithdrawn]);
    const row = await caseRow(caseId);
    expect(row.state).toBe('completed');
    expect(fromJson<string[]>(row.reasons, [])).toEqual(['Critical CVSS 9.8']);
    expect((await exposuresOf('USN-6242-1')).every((e) => e.status === 'resolved')).toBe(true);
    expect(fake.calls).toHaveLength(0);
  });

  it('does nothing when the advisory was published again before the job ran', async () => {
    const { caseId } = await insertFixtureCase(s.store.db, { advisoryId: 'USN-6242-1', hosts: fleet(1, { packages: [OPENSSH] }) });
    await ingestFeedFile(ctx, { kind: 'osv', path: writeUsn('2026-11-23T09:30:00Z'), name: 'ubuntu', actor: 'scheduler' });
    await ingestFeedFile(ctx, { kind: 'osv', path: writeUsn(null), name: 'ubuntu', actor: 'scheduler' });
    await runJobs();
    expect((await caseRow(caseId)).state).toBe('awaiting_approval');
    expect((await exposuresOf('USN-6242-1')).every((e) => e.status === 'open')).toBe(true);
    expect(fake.callsTo('chat.postMessage')).toHaveLength(0);
  });
});
