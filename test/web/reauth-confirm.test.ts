import { afterEach, beforeEach, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/app/logger.js';
import { createSlackFace, type SlackFace } from '../../src/chat/slack/face.js';
import { parseConfig } from '../../src/config/load.js';
import { fixedClock } from '../../src/core/clock.js';
import { listAudit } from '../../src/store/audit.js';
import { createWebApp } from '../../src/web/app.js';
import { refreshApprovalPlan } from '../../src/workflow/approvals.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { JOB_KINDS } from '../../src/workflow/jobs.js';
import { createNotificationJobHandlers } from '../../src/workflow/notifications.js';
import { hashConfirmToken } from '../../src/workflow/reauth.js';
import { fleet, insertFixtureCase } from '../helpers/case-fixtures.js';
import { startFakeOidc, type FakeOidc } from '../helpers/fake-oidc.js';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack.js';
import { followProvider, oidcSignIn, oidcWebConfig } from '../helpers/oidc-browser.js';
import { blockActionsPayload, formEncodePayload, signSlackBody, TEST_SIGNING_SECRET } from '../helpers/slack-signing.js';
import { describeEachStore } from '../helpers/stores.js';
import { csrfFrom, listen } from './seed.js';

const NOW = new Date('2026-11-23T10:00:00.000Z');
const PEOPLE = [
  { id: 'alice', name: 'Alice Example', groups: ['cab'], slack: 'UALICE', email: 'alice@example.com' },
  { id: 'bob', name: 'Bob Example', groups: ['cab'], slack: 'UBOB', email: 'bob@example.com' },
];
const FORM = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' };

describeEachStore('critical votes confirmed by a fresh sign-in', (s) => {
  let clock: ReturnType<typeof fixedClock>;
  let ctx: WorkflowContext;
  let oidc: FakeOidc;
  let slack: FakeSlack;
  let face: SlackFace;
  let server: { url: string; close: () => Promise<void> };
  let caseId: number;

  const votes = () => s.store.db.selectFrom('votes').select(['person', 'decision', 'via', 'status']).execute();
  const pending = () => s.store.db.selectFrom('pending_votes').selectAll().execute();
  const actions = async () => (await listAudit(s.store.db, { subjectType: 'case' })).map((a) => a.action).filter((a) => a.startsWith('vote.'));
  const handlers = () => createNotificationJobHandlers({ notifier: face.notifier, people: PEOPLE });
  const job = (kind: string) => ({ id: 1, kind, payload: { caseId, purpose: 'alert' }, attempts: 1, maxAttempts: 5, fence: 1 });

  /** Clicks the alert's Approve as `userId`, signed like Slack, and returns the link the ephemeral reply gives. */
  const clickApprove = async (userId: string): Promise<string> => {
    const post = slack.callsTo('chat.postMessage').at(-1)!;
    const blocks = post.body.blocks as { type: string; elements?: { action_id: string; value: string }[] }[];
    const value = blocks.find((b) => b.type === 'actions')!.elements!.find((e) => e.action_id === 'approve')!.value;
    const before = slack.callsTo('chat.postEphemeral').length;
    const body = formEncodePayload(blockActionsPayload({ userId, channelId: 'C0FAKE0001', actionId: 'approve', value, messageTs: '1795000000.000001' }));
    const answer = await fetch(`${server.url}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...signSlackBody(body, TEST_SIGNING_SECRET, Math.floor(clock.now().getTime() / 1000)) },
      body,
    });
    expect(answer.status).toBe(200);
    await expect.poll(() => slack.callsTo('chat.postEphemeral').length, { timeout: 5000 }).toBe(before + 1);
    const reply = slack.callsTo('chat.postEphemeral').at(-1)!;
    expect(reply.body).toMatchObject({ user: userId });
    const text = String(reply.body.text);
    expect(text).toMatch(/^:no_entry: Not recorded: rule 1 needs you to sign in again for this decision, so the vote is not counted yet. Confirm it within 30 minutes at http/);
    return /http:\/\/patchdeck\.test(\/approvals\/confirm\/[A-Za-z0-9_-]+)/.exec(text)![1]!;
  };

  beforeEach(async () => {
    clock = fixedClock(NOW);
    oidc = await startFakeOidc({ now: () => clock.now(), user: { sub: 'alice-sub', email: 'alice@example.com' } });
    slack = await startFakeSlack();
    ctx = {
      store: s.store,
      clock,
      logger: createSilentLogger(),
      config: parseConfig({
        timezone: 'Europe/Berlin',
        publicUrl: 'http://patchdeck.test',
        people: PEOPLE,
        approvals: { rules: [{ severity: ['critical'], approversGroup: 'cab', quorum: 1, requireReauth: true }] },
        web: oidcWebConfig(oidc),
      }),
    };
    face = createSlackFace({ ctx, signingSecret: TEST_SIGNING_SECRET, botToken: 'xoxb-test-token', apiUrl: slack.url, botUserId: 'U0PATCHDECK', botId: 'B0PATCHDECK' });
    server = await listen(createWebApp({ ctx, slackEnabled: true, beforeRoutes: (app) => app.use(face.router) }));
    ({ caseId } = await insertFixtureCase(s.store.db, { requestedBy: 'rita', hosts: fleet(2) }));
    await s.store.transaction((trx) => refreshApprovalPlan(trx, ctx, caseId));
    await handlers()[JOB_KINDS.chatPost]!(ctx, job(JOB_KINDS.chatPost));
  });
  afterEach(async () => {
    await server.close();
    await slack.close();
    await oidc.close();
  });

  it('keeps the chat vote pending, sends a stale session back to the provider, and counts the vote once confirmed', async () => {
    // Alice signed in to the console earlier in the day.
    const oldSession = await oidcSignIn(server.url);
    clock.advance(10 * 60_000);

    const link = await clickApprove('UALICE');
    expect(await votes()).toEqual([]);
    const [row] = await pending();
    expect(row).toMatchObject({ case_id: caseId, person: 'alice', decision: 'approve', via: 'slack', status: 'pending_reauth', expires_at: '2026-11-23T10:40:00.000Z' });
    // Only the token's hash is stored.
    const token = link.split('/').at(-1)!;
    expect(row!.token_hash).toBe(hashConfirmToken(token));
    expect(JSON.stringify(await pending())).not.toContain(token);
    expect(await actions()).toEqual(['vote.pending_reauth']);

    // A 10-minute-old sign-in is older than web.auth.reauthMaxAge (5m): back to the provider for a new login.
    const stale = await fetch(`${server.url}${link}`, { redirect: 'manual', headers: { cookie: oldSession, accept: 'text/html' } });
    expect(stale.status).toBe(303);
    const authorize = new URL(stale.headers.get('location')!);
    expect(authorize.searchParams.get('prompt')).toBe('login');
    expect(authorize.searchParams.get('max_age')).toBe('300');
    const trip = await followProvider(server.url, stale);
    expect(oidc.authorizeRequests.at(-1)!.relogin).toBe(true);
    expect(trip.callback.status).toBe(303);
    expect(trip.callback.headers.get('location')).toBe(link);
    const fresh = trip.session!;

    const page = await fetch(`${server.url}${link}`, { headers: { cookie: fresh, accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Confirm: approve');
    expect(await votes()).toEqual([]);

    const confirm = await fetch(`${server.url}${link}`, { method: 'POST', redirect: 'manual', headers: { ...FORM, cookie: fresh }, body: new URLSearchParams({ csrf: csrfFrom(html) }).toString() });
    expect(confirm.status).toBe(303);
    expect(confirm.headers.get('location')).toBe(`/cases/${caseId}`);
    expect(await votes()).toEqual([{ person: 'alice', decision: 'approve', via: 'slack', status: 'counted' }]);
    expect((await pending())[0]).toMatchObject({ status: 'confirmed' });
    expect((await s.store.db.selectFrom('cases').select('state').where('id', '=', caseId).executeTakeFirstOrThrow()).state).toBe('approved');
    expect(await actions()).toEqual(['vote.pending_reauth', 'vote.cast', 'vote.reauth_confirmed']);
    const confirmed = (await listAudit(s.store.db, { subjectType: 'case' })).find((a) => a.action === 'vote.reauth_confirmed')!;
    expect(confirmed).toMatchObject({ actor: 'alice', after: { via: 'slack', authTime: '2026-11-23T10:10:00.000Z', outcome: 'approved' } });
    expect((await listAudit(s.store.db, { subjectType: 'person' })).filter((a) => a.action === 'web.signin').map((a) => (a.after as { reauth?: boolean }).reauth ?? false)).toEqual([false, true]);

    // The alert is updated in place with the counted vote.
    await handlers()[JOB_KINDS.chatUpdate]!(ctx, job(JOB_KINDS.chatUpdate));
    const update = slack.callsTo('chat.update').at(-1)!;
    expect(update.body).toMatchObject({ channel: 'C0FAKE0001', ts: '1795000000.000001' });
    expect(JSON.stringify(update.body.blocks)).toContain('Approved by Alice Example');

    // The link is single-use.
    const again = await fetch(`${server.url}${link}`, { headers: { cookie: fresh, accept: 'text/html' } });
    expect(again.status).toBe(410);
  });

  it('voids the pending vote when the plan changes before it is confirmed', async () => {
    const link = await clickApprove('UALICE');
    await s.store.db.updateTable('exposures').set({ fixed: '3.0.2-0ubuntu1.19' }).where('case_id', '=', caseId).execute();
    await s.store.transaction((trx) => refreshApprovalPlan(trx, ctx, caseId));
    expect((await pending())[0]).toMatchObject({ status: 'void', void_reason: 'the plan changed (hosts, packages or fixed versions) after the vote' });
    const changed = (await listAudit(s.store.db, { subjectType: 'case' })).find((a) => a.action === 'approval.plan_changed')!;
    expect(changed.after).toMatchObject({ voidedPendingVotes: [{ person: 'alice', decision: 'approve' }] });
    const session = await oidcSignIn(server.url);
    const page = await fetch(`${server.url}${link}`, { headers: { cookie: session, accept: 'text/html' } });
    expect(page.status).toBe(410);
    expect(await page.text()).toContain('the plan changed');
    expect(await votes()).toEqual([]);
  });

  it('refuses and voids a confirmation whose plan is no longer the case\'s, even if nothing voided it before', async () => {
    const link = await clickApprove('UALICE');
    const session = await oidcSignIn(server.url, link);
    const page = await fetch(`${server.url}${link}`, { headers: { cookie: session, accept: 'text/html' } });
    expect(page.status).toBe(200);
    // The plan moves on between opening the page and pressing Confirm.
    await s.store.db.updateTable('cases').set({ plan_hash: 'f'.repeat(64) }).where('id', '=', caseId).execute();
    const confirm = await fetch(`${server.url}${link}`, { method: 'POST', redirect: 'manual', headers: { ...FORM, cookie: session }, body: new URLSearchParams({ csrf: csrfFrom(await page.text()) }).toString() });
    expect(confirm.status).toBe(409);
    expect(await confirm.text()).toContain('Not counted');
    expect(await votes()).toEqual([]);
    expect((await pending())[0]).toMatchObject({ status: 'void' });
    const audit = (await listAudit(s.store.db, { subjectType: 'case' })).filter((a) => a.action.startsWith('vote.'));
    expect(audit.map((a) => [a.action, (a.after as { code?: string }).code ?? null])).toEqual([
      ['vote.pending_reauth', null],
      ['vote.refused', 'PD_VOTE_STALE_PLAN'],
      ['vote.reauth_refused', 'PD_VOTE_STALE_PLAN'],
    ]);
  });

  it('refuses a link opened by another person, an expired link and a link never given out', async () => {
    const link = await clickApprove('UALICE');
    oidc.user = { sub: 'bob-sub', email: 'bob@example.com' };
    const bob = await oidcSignIn(server.url);
    const asBob = await fetch(`${server.url}${link}`, { headers: { cookie: bob, accept: 'text/html' } });
    expect(asBob.status).toBe(403);
    expect(await asBob.text()).toContain('confirms a vote of alice');
    expect((await fetch(`${server.url}/approvals/confirm/${'x'.repeat(43)}`, { headers: { cookie: bob } })).status).toBe(404);
    clock.advance(31 * 60_000);
    expect((await fetch(`${server.url}${link}`, { headers: { cookie: bob } })).status).toBe(410);
    expect(await votes()).toEqual([]);
  });

  it('sends a web console vote from a stale session to the provider, and counts it from a fresh one', async () => {
    const oldSession = await oidcSignIn(server.url);
    clock.advance(10 * 60_000);
    const casePage = await fetch(`${server.url}/cases/${caseId}`, { headers: { cookie: oldSession, accept: 'text/html' } });
    const vote = (cookie: string, csrf: string) =>
      fetch(`${server.url}/cases/${caseId}/votes`, {
        method: 'POST',
        redirect: 'manual',
        headers: { ...FORM, cookie },
        body: new URLSearchParams({ csrf, stage: 'approval', decision: 'approve' }).toString(),
      });
    const stale = await vote(oldSession, csrfFrom(await casePage.text()));
    expect(stale.status).toBe(303);
    const authorize = new URL(stale.headers.get('location')!);
    expect(authorize.searchParams.get('prompt')).toBe('login');
    expect(authorize.searchParams.get('max_age')).toBe('300');
    expect(await votes()).toEqual([]);

    const trip = await followProvider(server.url, stale);
    expect(trip.callback.headers.get('location')).toBe(`/cases/${caseId}#votes`);
    const fresh = trip.session!;
    const page = await fetch(`${server.url}/cases/${caseId}`, { headers: { cookie: fresh, accept: 'text/html' } });
    const counted = await vote(fresh, csrfFrom(await page.text()));
    expect(counted.status).toBe(303);
    expect(counted.headers.get('location')).toMatch(new RegExp(`^/cases/${caseId}\\?vote=approved`));
    expect(await votes()).toEqual([{ person: 'alice', decision: 'approve', via: 'web', status: 'counted' }]);
  });
});
