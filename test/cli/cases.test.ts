import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { listAudit } from '../../src/store/audit.js';
import { refreshApprovalPlan } from '../../src/workflow/approvals.js';
import { createTestContext } from '../helpers/context.js';
import { CLI_NOW, fleet, insertFixtureCase, PEOPLE, runCliFor, writeCliConfig } from '../helpers/case-fixtures.js';
import { describeEachStore } from '../helpers/stores.js';

const NOW = CLI_NOW;

describeEachStore('patchdeck cases commands', (s) => {
  let configFile: string;

  beforeEach(() => {
    const dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-cli-cases-'));
    configFile = writeCliConfig(dir);
    return () => rmSync(dir, { recursive: true, force: true });
  });

  const run = (...argv: string[]) => runCliFor(s, configFile, ...argv);

  it('approves as a person through castVote, and refuses the requester or a stranger with exit 1', async () => {
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(3) });
    const own = await run('cases', 'approve', String(caseId), '--as', 'rita');
    expect(own.code).toBe(1);
    expect(own.err).toMatch(/^patchdeck: \[PD_VOTE_OWN_REQUEST\] vote not recorded: Rita Requester requested this change .*\n$/);
    const stranger = await run('cases', 'approve', String(caseId), '--as', 'slack:U999');
    expect([stranger.code, stranger.err]).toEqual([1, expect.stringContaining('[PD_VOTE_UNKNOWN_PERSON]')]);

    const ok = await run('cases', 'approve', String(caseId), '--as', 'alice', '--comment', 'ship it');
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toBe(`Recorded approval by alice on case #${caseId}: the case is approved and its rollout will start (case is approved).\n`);
    const votes = await s.store.db.selectFrom('votes').selectAll().execute();
    expect(votes.map((v) => [v.person, v.decision, v.via, v.comment])).toEqual([['alice', 'approve', 'cli', 'ship it']]);
    expect((await listAudit(s.store.db)).map((a) => a.action)).toEqual(['vote.refused', 'vote.refused', 'vote.cast', 'case.state_changed']);
    const late = await run('cases', 'reject', String(caseId), '--as', 'bob');
    expect([late.code, late.err]).toEqual([1, expect.stringContaining('[PD_VOTE_SEALED]')]);
  });

  it('signs off or rejects a pilot, and defers a case', async () => {
    const { caseId } = await insertFixtureCase(s.store.db, { state: 'piloting', requestedBy: 'rita', hosts: fleet(2) });
    await s.store.db
      .insertInto('rollouts')
      .values({ case_id: caseId, state: 'awaiting_signoff', connector: 'simulator', started_by: 'alice', plan: '{}', current_wave: 0, halted_reason: null, created_at: NOW, updated_at: NOW, completed_at: null })
      .execute();
    const starter = await run('cases', 'signoff', String(caseId), '--as', 'alice');
    expect([starter.code, starter.err.includes('[PD_VOTE_OWN_ROLLOUT]')]).toEqual([1, true]);
    const rejected = await run('cases', 'signoff', String(caseId), '--as', 'bob', '--reject', '--comment', 'pilot broke printing');
    expect(rejected.code, rejected.err).toBe(0);
    expect(rejected.out).toContain('Recorded pilot sign-off rejection by bob');
    expect(rejected.out).toContain('(case is halted)');

    const { caseId: other } = await insertFixtureCase(s.store.db, { advisoryId: 'USN-2', requestedBy: 'rita', hosts: fleet(1, { prefix: 'o' }) });
    expect((await run('cases', 'defer', String(other), '--as', 'carol', '--until', '3d')).code).toBe(2);
    expect((await run('cases', 'defer', String(other), '--as', 'carol', '--reason', 'change freeze')).code).toBe(2);
    const badUntil = await run('cases', 'defer', String(other), '--as', 'carol', '--reason', 'change freeze', '--until', '2026-02-30');
    expect([badUntil.code, badUntil.err]).toEqual([2, expect.stringContaining('--until "2026-02-30" is not a time')]);
    const past = await run('cases', 'defer', String(other), '--as', 'carol', '--reason', 'change freeze', '--until', '2026-11-23');
    expect([past.code, past.err]).toEqual([1, expect.stringContaining('[PD_DEFER_BAD_UNTIL]')]);
    // A day is midnight in the configured zone (Europe/Berlin): 23:00 UTC the evening before.
    const deferred = await run('cases', 'defer', String(other), '--as', 'carol', '--reason', 'change freeze', '--until', '2026-12-01');
    expect([deferred.code, deferred.out]).toEqual([0, `Case #${other} deferred by carol until 2026-12-01 00:00 CET.\n`]);
    const row = await s.store.db.selectFrom('cases').select(['state', 'deferred_until']).where('id', '=', other).executeTakeFirstOrThrow();
    expect(row).toEqual({ state: 'deferred', deferred_until: '2026-11-30T23:00:00.000Z' });
    const shown = await run('cases', 'show', String(other));
    expect(shown.out).toContain('Deferred until: 2026-12-01 00:00 CET\n');
    const { caseId: third } = await insertFixtureCase(s.store.db, { advisoryId: 'USN-3', requestedBy: 'rita', hosts: fleet(1, { prefix: 't' }) });
    const relative = await run('cases', 'defer', String(third), '--as', 'carol', '--reason', 'vendor call on Friday', '--until', '36h');
    expect(relative.out).toBe(`Case #${third} deferred by carol until 2026-11-24 22:00 CET.\n`);
  });

  it('shows a case for people and as JSON', async () => {
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(3) });
    await run('cases', 'approve', String(caseId), '--as', 'bob', '--comment', 'ok');
    const text = await run('cases', 'show', String(caseId));
    expect(text.code, text.err).toBe(0);
    expect(text.out).toContain(`Case #${caseId}: OpenSSL vulnerabilities`);
    expect(text.out).toContain('State: approved; severity critical; due 2026-11-24 09:00 CET');
    expect(text.out).toContain('CVEs: CVE-2026-1001, CVE-2026-1002; CVSS 9.8');
    expect(text.out).toMatch(/approval\s+bob\s+approve\s+cli\s+2026-11-23 10:00 CET\s+ok/);
    const json = JSON.parse((await run('cases', 'show', String(caseId), '--json')).out) as Record<string, unknown>;
    expect(json).toMatchObject({ id: caseId, state: 'approved', affectedHosts: 3, votes: [{ person: 'bob', decision: 'approve', via: 'cli' }] });
    const missing = await run('cases', 'show', '4242');
    expect([missing.code, missing.err.includes('[PD_CASE_NOT_FOUND]')]).toEqual([1, true]);
  });

  it('shows chat votes waiting for re-authentication until they lapse, in text and JSON', async () => {
    const { caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(1) });
    const minutes = (n: number) => new Date(new Date(NOW).getTime() + n * 60_000).toISOString();
    const pending = (person: string, status: string, expiresAt: string, token: string) =>
      s.store.db
        .insertInto('pending_votes')
        .values({ case_id: caseId, stage: 'approval', person, decision: 'approve', via: 'slack', comment: null, plan_hash: null, token_hash: token, status, created_at: minutes(-5), expires_at: expiresAt, resolved_at: null, void_reason: null })
        .execute();
    await pending('alice', 'pending_reauth', minutes(25), 'h1');
    await pending('bob', 'pending_reauth', minutes(-1), 'h2');
    await pending('carol', 'void', minutes(25), 'h3');
    const text = await run('cases', 'show', String(caseId));
    expect(text.code, text.err).toBe(0);
    expect(text.out).toContain('Waiting for re-authentication (not counted yet):');
    // 09:25 UTC is 10:25 in Europe/Berlin.
    expect(text.out).toMatch(/approval\s+alice\s+approve\s+slack\s+2026-11-23 10:25 CET\n/);
    expect(text.out).not.toMatch(/\s(bob|carol)\s/);
    const json = JSON.parse((await run('cases', 'show', String(caseId), '--json')).out) as { waitingVotes: unknown[] };
    expect(json.waitingVotes).toEqual([{ stage: 'approval', person: 'alice', decision: 'approve', via: 'slack', comment: null, createdAt: minutes(-5), expiresAt: minutes(25) }]);

    await s.store.db.updateTable('pending_votes').set({ status: 'confirmed' }).where('token_hash', '=', 'h1').execute();
    expect((await run('cases', 'show', String(caseId))).out).not.toContain('Waiting for re-authentication');
    expect(JSON.parse((await run('cases', 'show', String(caseId), '--json')).out)).toMatchObject({ waitingVotes: [] });
  });

  it('shows the rule that applies, the plan and TTL, and marks void votes; --plan refuses a stale plan', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-cli-rules-'));
    const file = path.join(dir, 'patchdeck.yaml');
    writeFileSync(
      file,
      `timezone: Europe/Berlin\npeople: ${JSON.stringify(PEOPLE)}\napprovals: { rules: [ { name: cab, severity: [critical], quorum: 2, approversGroup: approvers, vetoGroup: cab, ttl: 48h, escalateTo: '#cab' } ] }\n`,
    );
    const runRules = (...argv: string[]) => runCliFor(s, file, ...argv);
    try {
      const { caseId, hostIds } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(2) });
      const ctx = createTestContext(s.store, { people: PEOPLE, approvals: { rules: [{ severity: ['critical'], quorum: 2, approversGroup: 'approvers', ttl: '48h' }] } }, NOW).ctx;
      const { planHash: first } = await s.store.transaction((trx) => refreshApprovalPlan(trx, ctx, caseId));
      const before = await runRules('cases', 'show', String(caseId));
      expect(before.out).toContain('Approval: rule 1 (cab): 2 approvals from "approvers"; one reject rejects; "cab" can veto; expires after 48h and escalates to #cab\n');
      expect(before.out).toContain(`Request: plan ${first!.slice(0, 12)}; requested 2026-11-23 09:00 CET; expires 2026-11-25 09:00 CET\n`);
      const ok = await runRules('cases', 'approve', String(caseId), '--as', 'alice', '--plan', first!.slice(0, 12));
      expect(ok.out).toContain('more approvals are needed');

      await s.store.db.updateTable('exposures').set({ status: 'resolved' }).where('host_id', '=', hostIds[0]!).execute();
      await s.store.transaction((trx) => refreshApprovalPlan(trx, ctx, caseId));
      const stale = await runRules('cases', 'approve', String(caseId), '--as', 'bob', '--plan', first!.slice(0, 12));
      expect([stale.code, stale.err]).toEqual([1, expect.stringMatching(/^patchdeck: \[PD_VOTE_STALE_PLAN\] .*older plan for this case \(hosts or fixed versions changed since it was posted\); vote on the current request instead\n$/)]);
      expect((await runRules('cases', 'approve', String(caseId), '--as', 'bob', '--plan', 'xyz')).code).toBe(2);
      const after = await runRules('cases', 'show', String(caseId));
      expect(after.out).toMatch(/approval\s+alice\s+approve\s+cli\s+2026-11-23 10:00 CET\s+-\s+void: the plan changed/);
      // The request was posted again, so its TTL restarted.
      expect(after.out).toContain('requested 2026-11-23 10:00 CET; expires 2026-11-25 10:00 CET\n');
      const json = JSON.parse((await runRules('cases', 'show', String(caseId), '--json')).out) as { approval: Record<string, unknown> };
      expect(json.approval).toMatchObject({ rule: { index: 0, quorum: 2, vetoGroup: 'cab', ttl: '48h' }, expiresAt: '2026-11-25T09:00:00.000Z', votes: [{ person: 'alice', status: 'void' }] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers bad usage with exit 2 and documents every command', async () => {
    expect((await run('cases', 'show', 'abc')).code).toBe(2);
    expect((await run('cases', 'approve', '0', '--as', 'alice')).code).toBe(2);
    expect((await run('cases', 'approve', '3')).code).toBe(2);
    const help = await run('cases', '--help');
    expect(help.code).toBe(0);
    for (const command of ['show', 'approve', 'reject', 'signoff', 'defer']) expect(help.out).toMatch(new RegExp(`\\n\\s+${command} .*\\S{8,}`));
    const signoffHelp = await run('cases', 'signoff', '--help');
    expect(signoffHelp.out).toContain('--reject');
    expect(signoffHelp.out).toContain('your person id from the config');
  });
});
