import { afterEach, beforeEach, expect, it } from 'vitest';
import { createWebApp } from '../../src/web/app.js';
import { describeEachStore } from '../helpers/stores.js';
import { createTestContext, listen, NOW, seedCase } from './seed.js';

const at = (minutes: number) => new Date(new Date(NOW).getTime() + minutes * 60_000).toISOString();

/** The case page's votes section lists chat votes waiting for re-authentication, and only while they can still be confirmed. */
describeEachStore('web console: votes waiting for re-authentication on the case page', (db) => {
  let server: { url: string; close: () => Promise<void> };
  let caseId: number;

  const pendingVote = (person: string, via: string, status: string, expiresAt: string, token: string) =>
    db.store.db
      .insertInto('pending_votes')
      .values({ case_id: caseId, stage: 'approval', person, decision: 'approve', via, comment: null, plan_hash: null, token_hash: token, status, created_at: at(-10), expires_at: expiresAt, resolved_at: null, void_reason: null })
      .execute();
  const votesSection = async () => {
    const html = await (await fetch(`${server.url}/cases/${caseId}`)).text();
    return /<section class="panel" id="votes"[\s\S]*?<\/section>/.exec(html)![0];
  };

  beforeEach(async () => {
    caseId = await seedCase(db.store, { advisoryId: 'USN-9-2', title: 'kernel flaw' });
    server = await listen(createWebApp({ ctx: createTestContext(db.store), slackEnabled: false }));
  });
  afterEach(async () => {
    await server?.close();
  });

  it('shows a pending vote with who, decision, channel and the time it lapses in the team zone; not confirmed, void or expired ones', async () => {
    expect(await votesSection()).not.toContain('waiting for re-authentication');

    await pendingVote('alice', 'slack', 'pending_reauth', at(20), 'h1');
    await pendingVote('carol', 'teams', 'pending_reauth', at(-1), 'h2');
    await pendingVote('bob', 'slack', 'confirmed', at(20), 'h3');
    await pendingVote('bob', 'teams', 'void', at(20), 'h4');
    const section = await votesSection();
    // 10:20 UTC is 11:20 in Europe/Berlin (the config's time zone).
    expect(section).toContain('Alice Example — approve via Slack — waiting for re-authentication until <time datetime="2026-11-23T10:20:00.000Z">2026-11-23 11:20 CET</time>');
    expect(section).toContain('No votes counted yet.');
    expect(section.match(/waiting for re-authentication/g)).toHaveLength(1);
    expect(section).not.toContain('Carol Checker');
    expect(section).not.toContain('Bob Builder');

    await db.store.db.updateTable('pending_votes').set({ status: 'confirmed', resolved_at: at(0) }).where('token_hash', '=', 'h1').execute();
    expect(await votesSection()).not.toContain('waiting for re-authentication');
  });
});
