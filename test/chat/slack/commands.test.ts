import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseSlashCommand } from '../../../src/chat/slack/commands.js';
import { listAudit } from '../../../src/store/audit.js';
import type { WorkflowContext } from '../../../src/workflow/context.js';
import { describeEachStore } from '../../helpers/stores.js';
import { insertCase, insertRollout, insertVote } from '../case-rows.js';
import { sendCommand, startHarness, stopHarness, workflowContext, type Harness } from './harness.js';

describe('parseSlashCommand', () => {
  it.each([
    ['', { kind: 'help', unknown: null }],
    ['  help ', { kind: 'help', unknown: null }],
    ['status', { kind: 'status' }],
    ['MINE', { kind: 'mine' }],
    ['case 12', { kind: 'case', caseId: 12 }],
    ['case #12', { kind: 'case', caseId: 12 }],
    ['rollout 7', { kind: 'rollout', rolloutId: 7 }],
    ['approve 12', { kind: 'vote', caseId: 12, decision: 'approve', reason: null }],
    ['reject 12   breaks the &lt;payments&gt; API', { kind: 'vote', caseId: 12, decision: 'reject', reason: 'breaks the <payments> API' }],
    ['defer 12 until 2026-12-01 waiting for the vendor fix', { kind: 'defer', caseId: 12, until: '2026-12-01', reason: 'waiting for the vendor fix' }],
    ['frobnicate 12', { kind: 'help', unknown: 'frobnicate' }],
  ])('reads %j', (text, expected) => {
    expect(parseSlashCommand(text)).toEqual(expected);
  });

  it.each([
    ['case', /case 12/],
    ['case twelve', /case 12/],
    ['approve 0', /approve 12/],
    ['rollout 1e3', /rollout 7/],
    ['defer 12', /defer 12 until/],
    ['defer 12 until tomorrow because', /"tomorrow" is not a date/],
    ['defer 12 until 2026-02-30 because', /"2026-02-30" is not a date/],
    ['defer 12 until 2026-12-01', /Say why/],
    ['reject 12', /Say why you reject\. Write it as `\/patchdeck reject 12 the reason`/],
    ['reject 12    ', /Say why you reject/],
  ])('answers %j with how to write it', (text, message) => {
    const parsed = parseSlashCommand(text);
    expect(parsed.kind).toBe('usage');
    expect(parsed.kind === 'usage' && parsed.message).toMatch(message);
  });
});

describeEachStore('/patchdeck', (sctx) => {
  let ctx: WorkflowContext;
  let h: Harness | undefined;
  beforeEach(async () => {
    ctx = workflowContext(sctx.store);
    h = await startHarness(ctx);
  });
  afterEach(async () => {
    await stopHarness(h);
    h = undefined;
  });

  /** The ephemeral answer sent to the command's response_url. */
  const answerTo = async (hook = 'cmd') => (await h!.fake.waitForCall(`/hooks/${hook}`)).body as { response_type: string; text: string; blocks: unknown[] };
  const blocksText = (answer: { blocks: unknown[] }) => JSON.stringify(answer.blocks);
  const votes = () => sctx.store.db.selectFrom('votes').selectAll().execute();

  it('answers help and unknown subcommands in the acknowledgement itself, ephemerally', async () => {
    const answer = await sendCommand(h!, 'UALICE', 'frobnicate');
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.text) as { response_type: string; blocks: unknown[] };
    expect(body.response_type).toBe('ephemeral');
    expect(JSON.stringify(body.blocks)).toContain('`frobnicate` is not a Patchdeck command');
    expect(JSON.stringify(body.blocks)).toContain('/patchdeck defer 12 until');
    expect(h!.fake.calls).toEqual([]);
  });

  it('status: open cases by severity and the overdue count', async () => {
    await insertCase(sctx.store.db, { advisoryId: 'A-1', severity: 'critical', dueAt: '2026-11-22T10:00:00.000Z' });
    await insertCase(sctx.store.db, { advisoryId: 'A-2', severity: 'critical', dueAt: '2026-11-30T10:00:00.000Z' });
    await insertCase(sctx.store.db, { advisoryId: 'A-3', severity: 'low', state: 'completed', dueAt: '2026-11-01T10:00:00.000Z' });
    const ack = await sendCommand(h!, 'UDAVE', 'status');
    expect(ack).toMatchObject({ status: 200, text: '' });
    const answer = await answerTo();
    expect(answer.response_type).toBe('ephemeral');
    expect(answer.text).toBe('Patchdeck: 2 open cases · 1 overdue · 2 awaiting approval');
    expect(blocksText(answer)).toContain(':red_circle: *Critical*\\n2 open, 1 overdue');
    expect(blocksText(answer)).toContain(':large_green_circle: *Low*\\n0 open');
  });

  it('case ID: the alert with its buttons; an unknown id says so', async () => {
    const caseId = await insertCase(sctx.store.db);
    await sendCommand(h!, 'UDAVE', `case ${caseId}`);
    const answer = await answerTo();
    expect(blocksText(answer)).toContain(`"value":"case:${caseId}:approve"`);
    expect(answer.text).toContain('USN-7001-1');
    await sendCommand(h!, 'UDAVE', 'case 999', 'missing');
    expect((await answerTo('missing')).text).toBe('There is no case 999.');
  });

  it('approve ID records a vote for the payload user_id and confirms it', async () => {
    const caseId = await insertCase(sctx.store.db);
    expect((await sendCommand(h!, 'UBOB', `approve ${caseId}`)).status).toBe(200);
    const answer = await answerTo();
    expect(answer.text).toMatch(/^:white_check_mark: Recorded: you approved case \d+\. The case is now approved\./);
    expect(await votes()).toMatchObject([{ case_id: caseId, stage: 'approval', person: 'bob', decision: 'approve', via: 'slack' }]);
  });

  it('reject ID reason keeps the reason as the vote comment', async () => {
    const caseId = await insertCase(sctx.store.db);
    await sendCommand(h!, 'UALICE', `reject ${caseId} breaks &lt;payments&gt;`);
    await answerTo();
    expect(await votes()).toMatchObject([{ person: 'alice', decision: 'reject', comment: 'breaks <payments>' }]);
  });

  it('shows the refusal reason to someone who may not approve, and records nothing', async () => {
    const caseId = await insertCase(sctx.store.db);
    await sendCommand(h!, 'UDAVE', `approve ${caseId}`);
    const answer = await answerTo();
    expect(answer.response_type).toBe('ephemeral');
    expect(answer.text).toMatch(/^:no_entry: Not recorded: Dave Example is not in the "approvers" group/);
    expect(await votes()).toEqual([]);
    expect((await listAudit(sctx.store.db)).map((a) => a.action)).toContain('vote.refused');
  });

  it('defer ID until DATE reason parks the case through the approval service', async () => {
    const caseId = await insertCase(sctx.store.db);
    await sendCommand(h!, 'UALICE', `defer ${caseId} until 2026-12-01 vendor fix expected`);
    const answer = await answerTo();
    expect(answer.text).toBe(`:zzz: Case ${caseId} is deferred: vendor fix expected. It comes back for approval on 2026-12-01 00:00 CET.`);
    const row = await sctx.store.db.selectFrom('cases').select('state').where('id', '=', caseId).executeTakeFirstOrThrow();
    expect(row.state).toBe('deferred');
  });

  it('defer shows the service\'s refusal of a date that is not in the future', async () => {
    const caseId = await insertCase(sctx.store.db);
    await sendCommand(h!, 'UALICE', `defer ${caseId} until 2026-11-23 later`);
    expect((await answerTo()).text).toMatch(/^:no_entry: Not deferred: 2026-11-22T23:00:00.000Z is not in the future/);
    const row = await sctx.store.db.selectFrom('cases').select('state').where('id', '=', caseId).executeTakeFirstOrThrow();
    expect(row.state).toBe('awaiting_approval');
  });

  it('rollout ID: state, wave, host counts and sign-off buttons while it awaits sign-off', async () => {
    const caseId = await insertCase(sctx.store.db, { state: 'piloting' });
    const rolloutId = await insertRollout(sctx.store.db, { caseId, state: 'awaiting_signoff', targets: [{ state: 'verified', wave: 0 }, { state: 'queued', wave: 1 }] });
    await sendCommand(h!, 'UBOB', `rollout ${rolloutId}`);
    const answer = await answerTo();
    expect(answer.text).toBe(`Rollout ${rolloutId}: Awaiting signoff`);
    const text = blocksText(answer);
    expect(text).toContain('wave 1 of 2 · started by Alice Example');
    expect(text).toContain('2 hosts: Queued: 1 · Verified: 1');
    expect(text).toContain(`"value":"case:${caseId}:signoff"`);
  });

  it('mine: cases awaiting my vote (not those I voted on or requested) and rollouts I started', async () => {
    await insertCase(sctx.store.db, { advisoryId: 'A-1', title: 'Waiting for Bob' });
    const voted = await insertCase(sctx.store.db, { advisoryId: 'A-2', title: 'Bob already voted' });
    await insertVote(sctx.store.db, { caseId: voted, stage: 'approval', person: 'bob', decision: 'approve', at: '2026-11-23T09:00:00.000Z' });
    const piloting = await insertCase(sctx.store.db, { advisoryId: 'A-3', title: 'Pilot by Alice', state: 'piloting' });
    await insertRollout(sctx.store.db, { caseId: piloting, state: 'awaiting_signoff', startedBy: 'alice', targets: [{ state: 'verified', wave: 0 }] });
    const bobs = await insertCase(sctx.store.db, { advisoryId: 'A-4', title: 'Bob deploying', state: 'deploying' });
    await insertRollout(sctx.store.db, { caseId: bobs, state: 'deploying', startedBy: 'bob', targets: [{ state: 'queued', wave: 1 }] });

    await sendCommand(h!, 'UBOB', 'mine', 'bob');
    const bob = blocksText(await answerTo('bob'));
    expect(bob).toContain('Waiting for your vote* (2)');
    expect(bob).toContain('Waiting for Bob');
    expect(bob).toContain('Pilot by Alice · pilot of rollout');
    expect(bob).not.toContain('Bob already voted');
    expect(bob).toContain('Rollouts you started* (1)');
    expect(bob).toContain('Bob deploying: Deploying');

    // Alice started the pilot: she cannot sign it off, so it is not hers to decide.
    await sendCommand(h!, 'UALICE', 'mine', 'alice');
    const alice = blocksText(await answerTo('alice'));
    expect(alice).toContain('Waiting for your vote* (2)');
    expect(alice).toContain('Bob already voted');
    expect(alice).not.toContain('awaits sign-off');
    expect(alice).toContain('Rollouts you started* (1)');
  });

  it('mine: an unknown Slack user is told how to get added', async () => {
    await sendCommand(h!, 'UMALLORY', 'mine');
    expect((await answerTo()).text).toMatch(/does not know Slack user `UMALLORY`/);
  });
});
