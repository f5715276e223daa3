import { afterEach, beforeEach, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/app/logger.js';
import { createRuntime, type Runtime } from '../../src/app/runtime.js';
import type { TeamsActivity, TeamsConversationReference } from '../../src/chat/teams/connector.js';
import { rememberConversation } from '../../src/chat/teams/conversations.js';
import { parseConfig } from '../../src/config/load.js';
import { fixedClock } from '../../src/core/clock.js';
import { listAudit } from '../../src/store/audit.js';
import { JOB_KINDS } from '../../src/workflow/jobs.js';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack.js';
import { conversationOfCall, installationActivity, startFakeTeams, TEST_APP_ID, TEST_APP_PASSWORD, type FakeTeams } from '../helpers/fake-teams.js';
import { describeEachStore } from '../helpers/stores.js';

const OPS = '19:ops@thread.tacv2';

describeEachStore('feed failure notices on every platform', (s) => {
  let slack: FakeSlack;
  let teams: FakeTeams;
  let runtime: Runtime;
  beforeEach(async () => {
    slack = await startFakeSlack();
    teams = await startFakeTeams();
  });
  afterEach(async () => {
    await runtime?.close();
    await teams.close();
    await slack.close();
  });

  async function start(teamsPassword = TEST_APP_PASSWORD) {
    const config = parseConfig({
      timezone: 'Europe/Berlin',
      routing: { defaultChannel: '#patching', opsChannel: '#ops' },
      feeds: [{ name: 'kev', kind: 'kev', file: '/nowhere/kev.json', schedule: '0 6 * * *' }],
      slack: { botToken: 'xoxb-test', signingSecret: 'secret', apiUrl: slack.url, botUserId: 'U0PATCHDECK', botId: 'B0PATCHDECK' },
      teams: { appId: TEST_APP_ID, appPassword: teamsPassword, openIdMetadataUrl: teams.openIdMetadataUrl, loginUrl: teams.loginUrl },
    });
    runtime = await createRuntime({ config, clock: fixedClock('2026-11-23T10:00:00.000Z'), logger: createSilentLogger(), store: s.store });
    const activity = installationActivity({ serviceUrl: teams.serviceUrl, conversationId: OPS, channelName: 'ops' });
    const reference: TeamsConversationReference = {
      conversation: { id: OPS, conversationType: 'channel' },
      serviceUrl: teams.serviceUrl,
      channelId: 'msteams',
      bot: { id: `28:${TEST_APP_ID}` },
    };
    await rememberConversation(runtime.ctx, activity as TeamsActivity, reference);
  }

  const poll = () => runtime.handlers[JOB_KINDS.feedsPoll]!(runtime.ctx, { id: 1, kind: JOB_KINDS.feedsPoll, payload: {}, attempts: 1, maxAttempts: 5, fence: 1 });

  it('posts the notice to the ops channel on Slack and on Teams, once, and stores and audits each copy', async () => {
    await start();
    for (let run = 1; run <= 4; run++) await expect(poll()).rejects.toMatchObject({ code: 'PD_FEED_POLL_FAILED' });

    expect(slack.callsTo('chat.postMessage').map((c) => c.body.channel)).toEqual(['#ops']);
    const teamsPosts = teams.connectorCalls();
    expect(teamsPosts.map((c) => [c.method, conversationOfCall(c)])).toEqual([['POST', OPS]]);
    expect(JSON.stringify(teamsPosts[0]!.body)).toContain('Feed kev is failing');
    const rows = await s.store.db.selectFrom('chat_messages').select(['purpose', 'platform', 'channel']).orderBy('id').execute();
    expect(rows).toEqual([
      { purpose: 'feed_failure', platform: 'slack', channel: expect.any(String) },
      { purpose: 'feed_failure', platform: 'teams', channel: OPS },
    ]);
    const audited = (await listAudit(s.store.db, { subjectType: 'feed' })).filter((e) => e.action === 'feed.failure_reported');
    expect(audited.map((e) => (e.after as { platform: string }).platform)).toEqual(['slack', 'teams']);
  });

  it('still posts on Slack when Teams fails, and names the failed platform in the audit event', async () => {
    await start('wrong-password');
    for (let run = 1; run <= 3; run++) await poll().catch(() => undefined);
    expect(slack.callsTo('chat.postMessage')).toHaveLength(1);
    const audited = (await listAudit(s.store.db, { subjectType: 'feed' })).filter((e) => e.action === 'feed.failure_reported');
    expect(audited).toHaveLength(1);
    expect(audited[0]!.after).toMatchObject({ platform: 'slack', failedPlatforms: [{ platform: 'teams', error: expect.stringContaining('invalid_client') }] });
  });
});
