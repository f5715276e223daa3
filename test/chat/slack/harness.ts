import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createSilentLogger } from '../../../src/app/logger.js';
import { createSlackFace, type SlackFace, type SlackFaceDeps } from '../../../src/chat/slack/face.js';
import { parseConfig } from '../../../src/config/load.js';
import { fixedClock } from '../../../src/core/clock.js';
import type { WorkflowContext } from '../../../src/workflow/context.js';
import { startFakeSlack, type FakeSlack } from '../../helpers/fake-slack.js';
import { formEncodePayload, signSlackBody, TEST_SIGNING_SECRET } from '../../helpers/slack-signing.js';

/** A Slack face on a loopback Express server, talking to a fake Web API; shared by the Slack face tests. */

export const NOW = new Date('2026-11-23T10:00:00.000Z');
export const NOW_SECONDS = Math.floor(NOW.getTime() / 1000);
export const PEOPLE = [
  { id: 'alice', name: 'Alice Example', groups: ['approvers'], slack: 'UALICE', email: 'alice@example.com' },
  { id: 'bob', name: 'Bob Example', groups: ['approvers'], slack: 'UBOB' },
  { id: 'dave', name: 'Dave Example', groups: ['ops'], slack: 'UDAVE' },
];

export function workflowContext(store: WorkflowContext['store']): WorkflowContext {
  return {
    store,
    clock: fixedClock(NOW),
    logger: createSilentLogger(),
    config: parseConfig({ timezone: 'Europe/Berlin', publicUrl: 'https://patchdeck.example.com', people: PEOPLE }),
  };
}

export interface Harness {
  fake: FakeSlack;
  face: SlackFace;
  server: Server;
  url: string;
}

export async function startHarness(ctx: WorkflowContext, options: Pick<SlackFaceDeps, 'channelSpacingMs' | 'services'> = {}): Promise<Harness> {
  const fake = await startFakeSlack();
  const face = createSlackFace({ ctx, signingSecret: TEST_SIGNING_SECRET, botToken: 'xoxb-test-token', apiUrl: fake.url, botUserId: 'U0PATCHDECK', botId: 'B0PATCHDECK', ...options });
  const app = express();
  app.use(face.router);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { fake, face, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events` };
}

export async function stopHarness(h: Harness | undefined): Promise<void> {
  if (!h) return;
  h.server.closeAllConnections();
  await new Promise<void>((resolve) => h.server.close(() => resolve()));
  await h.fake.close();
}

export interface SlackAnswer {
  status: number;
  text: string;
  /** When the answer's headers arrived, by Date.now(). */
  at: number;
}

export async function sendSigned(h: Harness, body: string, contentType: string, extraHeaders: Record<string, string> = {}): Promise<SlackAnswer> {
  const response = await fetch(h.url, {
    method: 'POST',
    headers: { 'content-type': contentType, ...signSlackBody(body, TEST_SIGNING_SECRET, NOW_SECONDS), ...extraHeaders },
    body,
  });
  const at = Date.now();
  return { status: response.status, text: await response.text(), at };
}

/** Signs and sends an interactivity payload (a button click) the way Slack does. */
export function sendInteraction(h: Harness, payload: Record<string, unknown>): Promise<SlackAnswer> {
  return sendSigned(h, formEncodePayload(payload), 'application/x-www-form-urlencoded');
}

/** The response_url the fake Web API records calls to, as method `/hooks/<name>`. */
export function responseUrl(h: Harness, name: string): string {
  return h.fake.url.replace(/\/api\/$/, `/hooks/${name}`);
}

/** A `/patchdeck` invocation, form-encoded like Slack sends slash commands. */
export function sendCommand(h: Harness, userId: string, text: string, hook = 'cmd'): Promise<SlackAnswer> {
  const body = new URLSearchParams({
    token: 'legacy-verification-token',
    team_id: 'T0PATCH',
    team_domain: 'example',
    channel_id: 'C0PATCH',
    channel_name: 'patching',
    user_id: userId,
    user_name: userId.toLowerCase(),
    command: '/patchdeck',
    text,
    api_app_id: 'A0PATCHDECK',
    is_enterprise_install: 'false',
    response_url: responseUrl(h, hook),
    trigger_id: '1234567890.123456789012.abcdef',
  }).toString();
  return sendSigned(h, body, 'application/x-www-form-urlencoded');
}

/** An Events API delivery (JSON), optionally marked as Slack's n-th retry. */
export function sendEvent(h: Harness, eventId: string, event: Record<string, unknown>, retryNum?: number): Promise<SlackAnswer> {
  const body = JSON.stringify({
    token: 'legacy-verification-token',
    team_id: 'T0PATCH',
    api_app_id: 'A0PATCHDECK',
    event,
    type: 'event_callback',
    event_id: eventId,
    event_time: NOW_SECONDS,
    authorizations: [{ enterprise_id: null, team_id: 'T0PATCH', user_id: 'U0PATCHDECK', is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
  });
  const retry: Record<string, string> = retryNum === undefined ? {} : { 'x-slack-retry-num': String(retryNum), 'x-slack-retry-reason': 'http_timeout' };
  return sendSigned(h, body, 'application/json', retry);
}

export function appHomeOpened(userId: string, tab: 'home' | 'messages' = 'home'): Record<string, unknown> {
  return { type: 'app_home_opened', user: userId, channel: 'D0HOME', tab, event_ts: `${NOW_SECONDS}.000100` };
}

/**
 * A modal's view_submission, as Slack sends it when the user presses the modal's submit button:
 * `fields` are the inputs by block id (each block's single element shares its id), typed as Slack
 * reports them (`value` for text, `selected_date` for a date picker).
 */
export function viewSubmissionPayload(submit: {
  userId: string;
  callbackId: string;
  privateMetadata: string;
  fields: Record<string, { value: string } | { selected_date: string }>;
  triggerId?: string;
}): Record<string, unknown> {
  const values = Object.fromEntries(
    Object.entries(submit.fields).map(([id, field]) => [id, { [id]: 'value' in field ? { type: 'plain_text_input', value: field.value } : { type: 'datepicker', selected_date: field.selected_date } }]),
  );
  return {
    type: 'view_submission',
    team: { id: 'T0PATCH', domain: 'example' },
    user: { id: submit.userId, username: submit.userId.toLowerCase(), name: submit.userId.toLowerCase(), team_id: 'T0PATCH' },
    api_app_id: 'A0PATCHDECK',
    token: 'legacy-verification-token',
    trigger_id: submit.triggerId ?? `1234567890.${Math.floor(Math.random() * 1e12)}.view`,
    view: {
      id: 'V0MODAL',
      team_id: 'T0PATCH',
      type: 'modal',
      callback_id: submit.callbackId,
      private_metadata: submit.privateMetadata,
      title: { type: 'plain_text', text: 'Patchdeck' },
      blocks: [],
      close: null,
      submit: null,
      state: { values },
      hash: '1795000000.abcdef',
      app_id: 'A0PATCHDECK',
      bot_id: 'B0PATCHDECK',
      root_view_id: 'V0MODAL',
      previous_view_id: null,
      clear_on_close: false,
      notify_on_close: false,
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}
