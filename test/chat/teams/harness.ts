import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createSilentLogger } from '../../../src/app/logger.js';
import { createTeamsFace, type TeamsFace } from '../../../src/chat/teams/face.js';
import { parseConfig } from '../../../src/config/load.js';
import { fixedClock } from '../../../src/core/clock.js';
import type { WorkflowContext } from '../../../src/workflow/context.js';
import { startFakeTeams, TEST_APP_ID, TEST_APP_PASSWORD, type FakeTeams } from '../../helpers/fake-teams.js';

export const NOW = new Date('2026-11-23T10:00:00.000Z');
export const PEOPLE = [
  { id: 'alice', name: 'Alice Example', groups: ['approvers'], slack: 'UALICE', teams: 'aad-alice' },
  { id: 'bob', name: 'Bob Example', groups: ['approvers'], teams: 'aad-bob' },
  { id: 'dave', name: 'Dave Example', groups: ['ops'], teams: 'aad-dave' },
];

export function teamsContext(store: WorkflowContext['store'], teams: Record<string, unknown> = {}): WorkflowContext {
  return {
    store,
    clock: fixedClock(NOW),
    logger: createSilentLogger(),
    config: parseConfig({ timezone: 'Europe/Berlin', publicUrl: 'https://patchdeck.example.com', people: PEOPLE, teams }),
  };
}

export interface TeamsHarness {
  fake: FakeTeams;
  face: TeamsFace;
  server: Server;
  url: string;
  /** POSTs an activity with `Authorization: Bearer <token>` (or none when token is null). */
  send(activity: Record<string, unknown>, token: string | null): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

export async function startTeamsHarness(ctx: WorkflowContext, options: { tenantId?: string } = {}): Promise<TeamsHarness> {
  const fake = await startFakeTeams();
  const face = createTeamsFace({
    ctx,
    appId: TEST_APP_ID,
    appPassword: TEST_APP_PASSWORD,
    openIdMetadataUrl: fake.openIdMetadataUrl,
    loginUrl: fake.loginUrl,
    ...(options.tenantId ? { tenantId: options.tenantId } : {}),
  });
  const app = express();
  app.use(face.router);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/messages`;
  return {
    fake,
    face,
    server,
    url,
    async send(activity, token) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
        body: JSON.stringify(activity),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // plain text answer
      }
      return { status: response.status, body };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fake.close();
    },
  };
}
