import { afterEach, beforeEach, expect, it } from 'vitest';
import { createWebApp } from '../../src/web/app.js';
import type { WebServices } from '../../src/web/web-context.js';
import type { CastVoteInput } from '../../src/workflow/approvals.js';
import { buildReview } from '../../src/workflow/reviews.js';
import { describeEachStore } from '../helpers/stores.js';
import {
  approvalMessage,
  createTestContext,
  csrfFrom,
  listen,
  seedCase,
  seedConsoleMessage,
  seedExposure,
  seedHost,
  seedRollout,
  seedVote,
  sessionCookieFrom,
  signIn,
} from './seed.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describeEachStore('web console over HTTP', (db) => {
  let server: { url: string; close: () => Promise<void> };
  let votes: CastVoteInput[];
  let voteAnswer: Awaited<ReturnType<WebServices['castVote']>>;
  let ctx: ReturnType<typeof createTestContext>;

  // castVote is replaced here so these tests pin what the face does; test/web/browser.test.ts uses the real one.
  const start = async (options: { slackEnabled?: boolean; services?: Partial<WebServices> } = {}) => {
    ctx = createTestContext(db.store);
    const app = createWebApp({
      ctx,
      slackEnabled: options.slackEnabled ?? false,
      services: {
        castVote: async (_ctx, input) => {
          votes.push(input);
          return voteAnswer;
        },
        ...options.services,
      },
    });
    server = await listen(app);
  };

  beforeEach(() => {
    votes = [];
    voteAnswer = { status: 'recorded', outcome: 'approved', caseState: 'approved' };
  });
  afterEach(async () => {
    await server?.close();
  });

  it('shows the dashboard with counts, due times in the team zone and escaped titles', async () => {
    await seedCase(db.store, { advisoryId: 'USN-1-1', title: 'OpenSSL <script>alert(1)</script> flaw', severity: 'critical', dueInHours: -2 });
    await seedCase(db.store, { advisoryId: 'USN-2-1', title: 'curl flaw', severity: 'high', dueInHours: 30 });
    await seedCase(db.store, { advisoryId: 'USN-3-1', title: 'sudo flaw', severity: 'low', state: 'completed' });
    await start();
    const response = await fetch(`${server.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await response.text();
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('OpenSSL &lt;script&gt;alert(1)&lt;/script&gt; flaw');
    // Overdue: due 2 hours before the fixed clock's now (10:00 UTC = 11:00 CET, so 09:00 CET).
    expect(html).toMatch(/SLA overdue<\/div>\s*<div class="card-value">1</);
    expect(html).toMatch(/Due soon<\/div>\s*<div class="card-value">1</);
    expect(html).toContain('2026-11-23 09:00 CET');
    expect(html).toContain('2 hours ago');
    expect(html).toContain('Closed cases (1)');
    expect(html).toContain('Europe/Berlin');
  });

  it('renders a case page with advisory facts, exposures, votes and a rollout link', async () => {
    const caseId = await seedCase(db.store, {
      advisoryId: 'USN-6450-1',
      title: 'OpenSSL vulnerabilities',
      cves: ['CVE-2023-5363', 'CVE-2023-5678'],
      kev: { dateAdded: '2026-11-01', dueDate: '2026-11-22', knownRansomwareCampaignUse: true, requiredAction: 'Apply updates.', vendor: 'OpenSSL', product: 'OpenSSL' },
      url: 'javascript:alert(1)',
    });
    const web1 = await seedHost(db.store, 'web-01');
    await seedExposure(db.store, caseId, 'USN-6450-1', web1, 'libssl3');
    await seedVote(db.store, caseId, 'carol', 'approve', 'ok <b>go</b>');
    const rolloutId = await seedRollout(db.store, caseId, 'deploying', [{ hostId: web1, hostName: 'web-01', wave: 0, ring: 'pilot', state: 'verified' }]);
    await start();
    const html = await (await fetch(`${server.url}/cases/${caseId}`)).text();
    expect(html).toContain('<a href="/cves/CVE-2023-5363" title="Every source about CVE-2023-5363">CVE-2023-5363</a>, <a href="/cves/CVE-2023-5678" title="Every source about CVE-2023-5678">CVE-2023-5678</a>');
    expect(html).toContain('used in ransomware campaigns');
    expect(html).toContain('web-01');
    expect(html).toContain('3.0.2-0ubuntu1.12');
    expect(html).toContain('Carol Checker');
    expect(html).toContain('ok &lt;b&gt;go&lt;/b&gt;');
    expect(html).toContain(`href="/rollouts/${rolloutId}"`);
    // A feed-supplied javascript: URL is never made a link.
    expect(html).not.toContain('javascript:');
    // Not signed in: a sign-in link instead of the vote form (Handlebars escapes "=" in attributes).
    expect(html).toContain(`href="/login?next&#x3D;%2Fcases%2F${caseId}"`);
    expect(html).not.toContain('name="decision"');
  });

  it('answers 404 for unknown ids, 400 for malformed ids and 404 for unknown pages', async () => {
    await start();
    const missing = await fetch(`${server.url}/cases/999`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('There is no case #999');
    expect((await fetch(`${server.url}/cases/abc`)).status).toBe(400);
    expect((await fetch(`${server.url}/cases/0`)).status).toBe(400);
    expect((await fetch(`${server.url}/cases/99999999999`)).status).toBe(400);
    expect((await fetch(`${server.url}/rollouts/12`)).status).toBe(404);
    expect((await fetch(`${server.url}/rollouts/x1`)).status).toBe(400);
    expect((await fetch(`${server.url}/cases/5/review`)).status).toBe(404);
    expect((await fetch(`${server.url}/no/such/page`)).status).toBe(404);
    expect((await fetch(`${server.url}/cases/%E0%A4%A`)).status).toBe(400);
    expect((await fetch(`${server.url}/static/patchdeck.css`)).headers.get('content-type')).toContain('text/css');
  });

  it('shows a 500 page that leaks no stack or message', async () => {
    const caseId = await seedCase(db.store, { advisoryId: 'USN-9-1', title: 'x' });
    await start({
      services: {
        buildReview: async () => {
          throw new Error('secret internal detail at /srv/patchdeck/src/x.ts:12');
        },
      },
    });
    const response = await fetch(`${server.url}/cases/${caseId}/review`);
    expect(response.status).toBe(500);
    const html = await response.text();
    expect(html).toContain('Something went wrong');
    expect(html).toMatch(/Reference: <code>[0-9a-f]{8}<\/code>/);
    expect(html).not.toContain('secret internal detail');
    expect(html).not.toContain('.ts:');
  });

  it('renders the post-implementation review, escaped, with times in the team zone', async () => {
    const caseId = await seedCase(db.store, { advisoryId: 'USN-8-1', title: 'sudo <b>flaw</b>', state: 'completed', cves: ['CVE-2023-22809'] });
    const hosts = [await seedHost(db.store, 'pilot-01'), await seedHost(db.store, 'web-01')];
    for (const hostId of hosts) await seedExposure(db.store, caseId, 'USN-8-1', hostId, 'sudo');
    await seedVote(db.store, caseId, 'alice', 'approve', 'go');
    await seedRollout(db.store, caseId, 'completed', [
      { hostId: hosts[0]!, hostName: 'pilot-01', wave: 0, ring: 'pilot', state: 'verified' },
      { hostId: hosts[1]!, hostName: 'web-01', wave: 1, ring: 'broad', state: 'failed', detail: 'E: <dpkg> was interrupted' },
    ]);
    await start({
      services: {
        // The real review plus a field this page has no layout for yet: it must still be shown.
        buildReview: async (c, id) => ({ ...(await buildReview(c, id)), canary: { checkedAt: '2026-11-24T09:30:00.000Z', note: '<i>ok</i>' } }),
      },
    });
    const response = await fetch(`${server.url}/cases/${caseId}/review`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('Review: sudo &lt;b&gt;flaw&lt;/b&gt;');
    expect(html).toContain('E: &lt;dpkg&gt; was interrupted');
    expect(html).toContain('Alice Example');
    expect(html).toMatch(/<div class="card-label">SLA<\/div>\s*<div class="card-value">Met</);
    expect(html).toContain('1 of 2 installs failed');
    expect(html).toContain('CVE-2023-22809');
    expect(html).toContain('More details');
    expect(html).toContain('2026-11-24 10:30 CET');
    expect(html).toContain('&lt;i&gt;ok&lt;/i&gt;');
  });

  it('reports health 200 while the database answers and 503 once it is closed', async () => {
    await start();
    const ok = await fetch(`${server.url}/healthz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ok', database: 'ok' });
    await db.store.close();
    const down = await fetch(`${server.url}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ database: 'unavailable' });
  });

  it('signs in through the login page and names the person in every page', async () => {
    await start();
    const login = await fetch(`${server.url}/login`);
    const html = await login.text();
    expect(html).toContain('no real authentication yet');
    expect(html).toContain('Alice Example');
    const cookie = await signIn(server.url, 'alice');
    expect(cookie).toMatch(/^pd_session=v2\./);
    const page = await (await fetch(`${server.url}/`, { headers: { cookie } })).text();
    expect(page).toContain('Signed in as <strong>Alice Example</strong>');
  });

  it('refuses sign-in for people not in the config and login forms without the session token', async () => {
    await start();
    const page = await fetch(`${server.url}/login`);
    const anonymous = sessionCookieFrom(page);
    const csrf = csrfFrom(await page.text());
    const stranger = await fetch(`${server.url}/login`, {
      method: 'POST', redirect: 'manual', headers: { ...FORM, cookie: anonymous },
      body: new URLSearchParams({ csrf, person: 'mallory' }).toString(),
    });
    expect(stranger.status).toBe(400);
    const noToken = await fetch(`${server.url}/login`, {
      method: 'POST', redirect: 'manual', headers: { ...FORM, cookie: anonymous },
      body: new URLSearchParams({ person: 'alice' }).toString(),
    });
    expect(noToken.status).toBe(403);
    // After sign-in only local paths are followed.
    const offsite = await fetch(`${server.url}/login`, {
      method: 'POST', redirect: 'manual', headers: { ...FORM, cookie: anonymous },
      body: new URLSearchParams({ csrf, person: 'alice', next: '//evil.example/x' }).toString(),
    });
    expect(offsite.status).toBe(303);
    expect(offsite.headers.get('location')).toBe('/');
  });

  it('casts a vote as the signed-in person, whatever the form says about identity', async () => {
    const caseId = await seedCase(db.store, { advisoryId: 'USN-6450-1', title: 'OpenSSL vulnerabilities' });
    await start();
    const cookie = await signIn(server.url, 'alice');
    const page = await (await fetch(`${server.url}/cases/${caseId}`, { headers: { cookie } })).text();
    expect(page).toContain('name="decision" value="approve"');
    const csrf = csrfFrom(page);
    const response = await fetch(`${server.url}/cases/${caseId}/votes`, {
      method: 'POST', redirect: 'manual', headers: { ...FORM, cookie, origin: server.url },
      body: new URLSearchParams({ csrf, stage: 'approval', decision: 'approve', comment: ' looks fine ', personId: 'carol', person: 'carol' }).toString(),
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`/cases/${caseId}?vote=approved#votes`);
    expect(votes).toEqual([{ caseId, stage: 'approval', personId: 'alice', decision: 'approve', via: 'web', comment: 'looks fine' }]);
    const after = await (await fetch(`${server.url}${response.headers.get('location')}`, { headers: { cookie } })).text();
    expect(after).toContain('Your vote was recorded: the case is approved.');
  });

  it('shows a refused vote with its reason and a 4xx status', async () => {
    const caseId = await seedCase(db.store, { advisoryId: 'USN-7-1', title: 'curl' });
    await start();
    voteAnswer = { status: 'refused', code: 'PD_VOTE_NOT_APPROVER', reason: 'Bob Builder is not in the "approvers" group <sic>' };
    const cookie = await signIn(server.url, 'bob');
    const csrf = csrfFrom(await (await fetch(`${server.url}/cases/${caseId}`, { headers: { cookie } })).text());
    const refused = await fetch(`${server.url}/cases/${caseId}/votes`, {
      method: 'POST', headers: { ...FORM, cookie }, body: new URLSearchParams({ csrf, stage: 'approval', decision: 'approve' }).toString(),
    });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('Your vote was not recorded: Bob Builder is not in the &quot;approvers&quot; group &lt;sic&gt;');
    voteAnswer = { status: 'refused', code: 'PD_VOTE_SEALED', reason: 'already decided' };
    const sealed = await fetch(`${server.url}/cases/${caseId}/votes`, {
      method: 'POST', headers: { ...FORM, cookie }, body: new URLSearchParams({ csrf, stage: 'approval', decision: 'reject', comment: 'too risky' }).toString(),
    });
    expect(sealed.status).toBe(409);
  });

  it('refuses votes without a session, with a wrong token, from another origin or with a tampered cookie', async () => {
    const caseId = await seedCase(db.store, { advisoryId: 'USN-7-1', title: 'curl' });
    await start();
    const body = (csrf: string) => new URLSearchParams({ csrf, stage: 'approval', decision: 'approve' }).toString();
    const url = `${server.url}/cases/${caseId}/votes`;

    const anonymousScript = await fetch(url, { method: 'POST', redirect: 'manual', headers: { ...FORM, accept: 'application/json' }, body: body('x') });
    expect(anonymousScript.status).toBe(401);
    const anonymousBrowser = await fetch(url, { method: 'POST', redirect: 'manual', headers: { ...FORM, accept: 'text/html' }, body: body('x') });
    expect(anonymousBrowser.status).toBe(303);
    expect(anonymousBrowser.headers.get('location')).toBe(`/login?next=%2Fcases%2F${caseId}`);

    const cookie = await signIn(server.url, 'alice');
    const csrf = csrfFrom(await (await fetch(`${server.url}/cases/${caseId}`, { headers: { cookie } })).text());
    const wrongToken = await fetch(url, { method: 'POST', headers: { ...FORM, cookie }, body: body(`${csrf}x`) });
    expect(wrongToken.status).toBe(403);
    expect(await wrongToken.text()).toContain('This form has expired');
    const noToken = await fetch(url, { method: 'POST', headers: { ...FORM, cookie }, body: 'stage=approval&decision=approve' });
    expect(noToken.status).toBe(403);
    const crossOrigin = await fetch(url, { method: 'POST', headers: { ...FORM, cookie, origin: 'http://evil.example' }, body: body(csrf) });
    expect(crossOrigin.status).toBe(403);
    const crossSite = await fetch(url, { method: 'POST', headers: { ...FORM, cookie, 'sec-fetch-site': 'cross-site' }, body: body(csrf) });
    expect(crossSite.status).toBe(403);

    // Edit the signed payload to claim another person: the signature no longer matches.
    const [name, value] = cookie.split('=') as [string, string];
    const [version, payload, signature] = value.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = `${name}=${version}.${Buffer.from(JSON.stringify({ ...claims, personId: 'carol' })).toString('base64url')}.${signature}`;
    const tampered = await fetch(url, { method: 'POST', redirect: 'manual', headers: { ...FORM, cookie: forged }, body: body(csrf) });
    expect(tampered.status).toBe(401);
    const tamperedPage = await (await fetch(`${server.url}/`, { headers: { cookie: forged } })).text();
    expect(tamperedPage).not.toContain('Signed in as');
    expect(votes).toEqual([]);

    const bad = await fetch(url, { method: 'POST', headers: { ...FORM, cookie }, body: new URLSearchParams({ csrf, stage: 'launch', decision: 'approve' }).toString() });
    expect(bad.status).toBe(400);
    expect(votes).toEqual([]);
  });

  it('expires sessions after 12 hours by the workflow clock', async () => {
    await start();
    const cookie = await signIn(server.url, 'alice');
    ctx.clock.advance(13 * 3_600_000);
    const page = await (await fetch(`${server.url}/`, { headers: { cookie } })).text();
    expect(page).not.toContain('Signed in as');
  });

  it('signs out only with the session token', async () => {
    await start();
    const cookie = await signIn(server.url, 'alice');
    const csrf = csrfFrom(await (await fetch(`${server.url}/`, { headers: { cookie } })).text());
    expect((await fetch(`${server.url}/logout`, { method: 'POST', headers: { ...FORM, cookie }, body: 'csrf=nope' })).status).toBe(403);
    const out = await fetch(`${server.url}/logout`, { method: 'POST', redirect: 'manual', headers: { ...FORM, cookie }, body: new URLSearchParams({ csrf }).toString() });
    expect(out.status).toBe(303);
    const anonymous = sessionCookieFrom(out);
    expect(await (await fetch(`${server.url}/`, { headers: { cookie: anonymous } })).text()).not.toContain('Signed in as');
  });

  it('shows console alerts with vote buttons when Slack is off, and hides them when it is on', async () => {
    const caseId = await seedCase(db.store, { advisoryId: 'USN-6450-1', title: 'OpenSSL vulnerabilities' });
    await seedConsoleMessage(db.store, caseId, { ...approvalMessage(caseId, 'Approve <OpenSSL> patch'), link: { label: 'bad', url: 'javascript:alert(1)' } });
    await seedConsoleMessage(db.store, null, '{not json');
    await start();
    const cookie = await signIn(server.url, 'alice');
    const html = await (await fetch(`${server.url}/`, { headers: { cookie } })).text();
    expect(html).toContain('Console alerts');
    expect(html).toContain('Approve &lt;OpenSSL&gt; patch');
    expect(html).toContain('internet-facing servers affected');
    expect(html).toContain(`action="/cases/${caseId}/votes"`);
    expect(html).toContain('name="decision" value="reject"');
    expect(html).not.toContain('javascript:');
    await server.close();
    await start({ slackEnabled: true });
    expect(await (await fetch(`${server.url}/`, { headers: { cookie } })).text()).not.toContain('Console alerts');
  });

  it('shows a rollout by wave and ring, refreshing while it runs', async () => {
    const caseId = await seedCase(db.store, { advisoryId: 'USN-6450-1', title: 'OpenSSL vulnerabilities', state: 'deploying' });
    const hosts = [];
    for (const name of ['pilot-01', 'web-01', 'web-02', 'db-01']) hosts.push(await seedHost(db.store, name));
    const rolloutId = await seedRollout(db.store, caseId, 'deploying', [
      { hostId: hosts[0]!, hostName: 'pilot-01', wave: 0, ring: 'pilot', state: 'verified' },
      { hostId: hosts[1]!, hostName: 'web-01', wave: 1, ring: 'servers', state: 'failed', detail: 'apt: <dpkg lock>' },
      { hostId: hosts[2]!, hostName: 'web-02', wave: 1, ring: 'servers', state: 'installed' },
      { hostId: hosts[3]!, hostName: 'db-01', wave: 2, ring: 'databases', state: 'queued' },
    ]);
    await start();
    const html = await (await fetch(`${server.url}/rollouts/${rolloutId}`)).text();
    expect(html).toContain('<meta http-equiv="refresh" content="5">');
    expect(html).toContain('Wave 1 · servers');
    expect(html).toContain('Wave 2 · databases');
    expect(html).toContain('apt: &lt;dpkg lock&gt;');
    expect(html).toMatch(/2 of 4 hosts patched, <span class="text-bad">1 failed<\/span>/);

    await db.store.db.updateTable('rollouts').set({ state: 'halted', halted_reason: 'failure rate 50% over 20%' }).where('id', '=', rolloutId).execute();
    const halted = await (await fetch(`${server.url}/rollouts/${rolloutId}`)).text();
    expect(halted).not.toContain('http-equiv="refresh"');
    expect(halted).toContain('Halted: failure rate 50% over 20%');
  });

  it('leaves request bodies unread for routes mounted before its own', async () => {
    let seen: string | undefined;
    ctx = createTestContext(db.store);
    const app = createWebApp({
      ctx,
      slackEnabled: true,
      beforeRoutes: (a) => {
        a.post('/slack/events', (req, res) => {
          const chunks: Buffer[] = [];
          req.on('data', (c: Buffer) => chunks.push(c));
          req.on('end', () => {
            seen = Buffer.concat(chunks).toString('utf8');
            res.status(200).send('ok');
          });
        });
      },
    });
    server = await listen(app);
    const raw = 'payload=%7B%22type%22%3A%22block_actions%22%7D';
    const response = await fetch(`${server.url}/slack/events`, { method: 'POST', headers: FORM, body: raw });
    expect(response.status).toBe(200);
    expect(seen).toBe(raw);
  });
});
