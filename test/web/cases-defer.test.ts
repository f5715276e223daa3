import { afterEach, beforeEach, expect, it } from 'vitest';
import { listAudit } from '../../src/store/audit.js';
import { createWebApp } from '../../src/web/app.js';
import { castVote } from '../../src/workflow/approvals.js';
import { buildReview } from '../../src/workflow/reviews.js';
import { describeEachStore } from '../helpers/stores.js';
import { createTestContext, csrfFrom, listen, seedCase, signIn } from './seed.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** The case page's Reject reason and Defer form, over HTTP with the real approval service. */
describeEachStore('web console: reject with a reason, defer with reason and day', (db) => {
  let server: { url: string; close: () => Promise<void> };
  let caseId: number;
  let cookie: string;
  let csrf: string;

  beforeEach(async () => {
    caseId = await seedCase(db.store, { advisoryId: 'USN-9-1', title: 'curl flaw' });
    server = await listen(createWebApp({ ctx: createTestContext(db.store), slackEnabled: false, services: { castVote, buildReview } }));
    cookie = await signIn(server.url, 'alice');
    csrf = csrfFrom(await (await fetch(`${server.url}/cases/${caseId}`, { headers: { cookie } })).text());
  });
  afterEach(async () => {
    await server?.close();
  });

  const post = (path: string, fields: Record<string, string>) =>
    fetch(`${server.url}${path}`, { method: 'POST', redirect: 'manual', headers: { ...FORM, cookie, accept: 'text/html' }, body: new URLSearchParams({ csrf, ...fields }).toString() });
  const caseRow = () => db.store.db.selectFrom('cases').select(['state', 'deferred_until']).where('id', '=', caseId).executeTakeFirstOrThrow();
  const votes = () => db.store.db.selectFrom('votes').select(['person', 'decision', 'comment', 'via']).execute();

  it('shows a reason for Reject and a Defer form with a reason and a day from tomorrow', async () => {
    const html = await (await fetch(`${server.url}/cases/${caseId}`, { headers: { cookie } })).text();
    expect(html).toContain(`action="/cases/${caseId}/defer"`);
    expect(html).toMatch(/<textarea id="defer-reason" name="reason"[^>]* required>/);
    // The clock is 2026-11-23 11:00 in Europe/Berlin: the first day offered is the 24th.
    expect(html).toContain('<input type="date" id="defer-until" name="until" min="2026-11-24" required>');
    expect(html).toMatch(/<textarea id="comment-approval" name="comment"[^>]* required/);
    expect(html).toContain('value="approve" class="button primary" formnovalidate');
  });

  it('refuses a reject without a reason with a visible message, and records one with a reason', async () => {
    const refused = await post(`/cases/${caseId}/votes`, { stage: 'approval', decision: 'reject', comment: '  ' });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('Your vote was not recorded: say why you reject (a reason is required).');
    expect(await votes()).toEqual([]);

    const recorded = await post(`/cases/${caseId}/votes`, { stage: 'approval', decision: 'reject', comment: 'Breaks the billing batch' });
    expect(recorded.status).toBe(303);
    expect(await votes()).toEqual([{ person: 'alice', decision: 'reject', comment: 'Breaks the billing batch', via: 'web' }]);
    expect((await caseRow()).state).toBe('rejected');
  });

  it('defers until the start of the picked day in the team zone, audited with the reason', async () => {
    const answer = await post(`/cases/${caseId}/defer`, { reason: 'Change freeze', until: '2026-11-30' });
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe(`/cases/${caseId}?vote=deferred`);
    expect(await caseRow()).toEqual({ state: 'deferred', deferred_until: '2026-11-29T23:00:00.000Z' });
    const moved = (await listAudit(db.store.db, { subjectType: 'case', subjectId: caseId })).find((a) => a.action === 'case.state_changed');
    expect(moved).toMatchObject({ actor: 'alice', after: { state: 'deferred' } });
    expect(JSON.stringify(moved)).toContain('Change freeze');
    const page = await (await fetch(`${server.url}/cases/${caseId}?vote=deferred`, { headers: { cookie } })).text();
    expect(page).toContain('The case was deferred');
    expect(page).toContain('asks for approval again on <strong>2026-11-30 00:00 CET</strong>');
  });

  it('refuses a defer without a reason, without a day, or on a past day, saying why', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ reason: ' ', until: '2026-11-30' }, 'The case was not deferred: say why the case is deferred (a reason is required).'],
      [{ reason: 'Freeze', until: '' }, 'The case was not deferred: pick the day the case asks for approval again.'],
      [{ reason: 'Freeze', until: '2026-11-20' }, 'The case was not deferred: 2026-11-20 has already begun in Europe/Berlin; defer until a later day'],
      [{ reason: 'Freeze', until: '30.11.2026' }, 'The case was not deferred: &quot;30.11.2026&quot; is not a day; pick a date such as 2026-12-01'],
    ];
    for (const [fields, message] of cases) {
      const answer = await post(`/cases/${caseId}/defer`, fields);
      expect(answer.status).toBe(400);
      expect(await answer.text()).toContain(message);
    }
    expect((await caseRow()).state).toBe('awaiting_approval');
  });

  it('refuses a defer by someone the policy does not allow, and without a session', async () => {
    const bob = await signIn(server.url, 'bob');
    const bobCsrf = csrfFrom(await (await fetch(`${server.url}/cases/${caseId}`, { headers: { cookie: bob } })).text());
    const refused = await fetch(`${server.url}/cases/${caseId}/defer`, {
      method: 'POST', headers: { ...FORM, cookie: bob }, body: new URLSearchParams({ csrf: bobCsrf, reason: 'Freeze', until: '2026-11-30' }).toString(),
    });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toMatch(/The case was not deferred: Bob Builder is not in the &quot;approvers&quot; group/);
    const anonymous = await fetch(`${server.url}/cases/${caseId}/defer`, { method: 'POST', headers: { ...FORM, accept: 'application/json' }, body: 'reason=x&until=2026-11-30' });
    expect(anonymous.status).toBe(401);
    expect((await caseRow()).state).toBe('awaiting_approval');
  });
});
