import { afterEach, beforeEach, expect, it } from 'vitest';
import { findPersonalConversation } from '../../../src/chat/teams/direct.js';
import { findPersonById } from '../../../src/core/people.js';
import type { ChatMessage } from '../../../src/core/messages.js';
import { listAudit } from '../../../src/store/audit.js';
import type { WorkflowContext } from '../../../src/workflow/context.js';
import { conversationOfCall, messageActivity, TEST_APP_ID, TEST_TENANT_ID } from '../../helpers/fake-teams.js';
import { describeEachStore } from '../../helpers/stores.js';
import { startTeamsHarness, teamsContext, type TeamsHarness } from './harness.js';

/** Direct messages to people the bot has no personal chat with: it starts the 1:1 chat itself (JWT-signed flows against the fake Bot Connector). */

const message: ChatMessage = {
  kind: 'exemption_expired',
  caseId: null,
  title: 'An exemption expired',
  severity: null,
  text: 'The exemption of web-01 expired.',
  facts: [],
  sections: [],
  actions: [],
  link: null,
  footer: null,
};

describeEachStore('Teams direct messages to people never seen', (s) => {
  let ctx: WorkflowContext;
  let h: TeamsHarness;
  const person = (id: string) => findPersonById(ctx.config.people, id)!;
  beforeEach(async () => {
    ctx = teamsContext(s.store);
    h = await startTeamsHarness(ctx);
  });
  afterEach(async () => {
    await h.close();
  });

  /** Alice writes in a channel: the bot learns the tenant, its service URL and Alice's Teams id. */
  async function hearFromChannel(): Promise<void> {
    expect((await h.send(messageActivity({ serviceUrl: h.fake.serviceUrl }), await h.fake.signToken())).status).toBe(200);
  }

  it('starts the 1:1 chat, sends into it and stores its reference', async () => {
    await hearFromChannel();
    const sent = await h.face.direct.postDirect(person('bob'), message);

    const [creation, ...more] = h.fake.conversationCreations();
    expect(more).toEqual([]);
    expect(creation!.authorization).toMatch(/^Bearer fake-bot-token-/);
    expect(creation!.body).toMatchObject({
      isGroup: false,
      bot: { id: `28:${TEST_APP_ID}` },
      // Bob never wrote to the bot: Teams takes his Entra object id as the member id.
      members: [{ id: 'aad-bob' }],
      tenantId: TEST_TENANT_ID,
      channelData: { tenant: { id: TEST_TENANT_ID } },
    });
    const post = h.fake.connectorCalls().at(-1)!;
    expect(post.method).toBe('POST');
    expect(conversationOfCall(post)).toBe('a:created-1');
    expect(JSON.stringify(post.body)).toContain('An exemption expired');
    expect(sent).toEqual({ channel: 'a:created-1', ts: expect.any(String) });

    const stored = await findPersonalConversation(ctx, 'aad-bob');
    expect(stored?.conversationId).toBe('a:created-1');
    expect(stored?.reference).toMatchObject({ serviceUrl: h.fake.serviceUrl, channelId: 'msteams', conversation: { conversationType: 'personal', tenantId: TEST_TENANT_ID } });
    const row = await s.store.db.selectFrom('teams_conversations').select(['tenant_id', 'channel_name']).where('conversation_id', '=', 'a:created-1').executeTakeFirstOrThrow();
    expect(row).toEqual({ tenant_id: TEST_TENANT_ID, channel_name: null });

    // The next DM goes into the stored chat without creating another.
    await h.face.direct.postDirect(person('bob'), message);
    expect(h.fake.conversationCreations()).toHaveLength(1);
    expect(conversationOfCall(h.fake.connectorCalls().at(-1)!)).toBe('a:created-1');
  });

  it('names a person by their Teams id when the bot has seen it', async () => {
    await hearFromChannel();
    await h.face.direct.postDirect(person('alice'), message);
    expect(h.fake.conversationCreations()[0]!.body).toMatchObject({ members: [{ id: '29:alice-mri' }] });
  });

  it('falls back and audits once when the app is not installed for the person (403)', async () => {
    await hearFromChannel();
    h.fake.answerConversationCreations(403);
    const before = h.fake.connectorCalls().length;

    expect(await h.face.direct.postDirect(person('bob'), message)).toBeNull();
    expect(await h.face.direct.postDirect(person('bob'), message)).toBeNull();

    // Two attempts, no message sent, nothing stored.
    expect(h.fake.conversationCreations()).toHaveLength(2);
    expect(h.fake.connectorCalls().slice(before).every((c) => c.path === '/teams/v3/conversations')).toBe(true);
    expect(await findPersonalConversation(ctx, 'aad-bob')).toBeNull();
    const audits = (await listAudit(s.store.db, { subjectType: 'person', subjectId: 'bob' })).filter((e) => e.action === 'teams.personal_chat_refused');
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ subjectType: 'person', subjectId: 'bob', after: { aadObjectId: 'aad-bob', tenantId: TEST_TENANT_ID } });
    expect((audits[0]!.after as { message: string }).message).toMatch(/Patchdeck app must be installed for that user/);
  });

  it('starts nothing before the bot has heard from the tenant', async () => {
    expect(await h.face.direct.postDirect(person('bob'), message)).toBeNull();
    expect(h.fake.conversationCreations()).toEqual([]);
  });
});
