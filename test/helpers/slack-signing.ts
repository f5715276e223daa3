import { createHmac } from 'node:crypto';

export const TEST_SIGNING_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';

/** The two headers Slack adds to every request it sends: `v0=` HMAC-SHA256 of `v0:{ts}:{body}`. */
export function signSlackBody(body: string, secret: string, timestampSeconds: number): Record<string, string> {
  const signature = createHmac('sha256', secret).update(`v0:${timestampSeconds}:${body}`).digest('hex');
  return { 'x-slack-request-timestamp': String(timestampSeconds), 'x-slack-signature': `v0=${signature}` };
}

/** Interactivity payloads arrive form-encoded, as one `payload` field holding JSON. */
export function formEncodePayload(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export interface ButtonClick {
  userId: string;
  channelId: string;
  actionId: string;
  value: string;
  messageTs?: string;
  /** Slack gives every click its own trigger_id; the same one twice is a replayed request. Default: a fresh one. */
  triggerId?: string;
}

let triggerCounter = 0;

/** A block_actions payload shaped like the ones Slack sends for a button in a channel message. */
export function blockActionsPayload(click: ButtonClick): Record<string, unknown> {
  const messageTs = click.messageTs ?? '1795000000.000100';
  return {
    type: 'block_actions',
    user: { id: click.userId, username: click.userId.toLowerCase(), name: click.userId.toLowerCase(), team_id: 'T0PATCH' },
    api_app_id: 'A0PATCHDECK',
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: messageTs, channel_id: click.channelId, is_ephemeral: false },
    trigger_id: click.triggerId ?? `1234567890.${String(++triggerCounter).padStart(12, '0')}.abcdef`,
    team: { id: 'T0PATCH', domain: 'example' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: click.channelId, name: 'patching' },
    message: { type: 'message', subtype: 'bot_message', text: 'alert', ts: messageTs, bot_id: 'B0PATCHDECK', blocks: [] },
    state: { values: {} },
    response_url: 'https://hooks.example.invalid/actions/T0PATCH/1/abc',
    actions: [
      {
        action_id: click.actionId,
        block_id: 'patchdeck_actions',
        text: { type: 'plain_text', text: 'Approve', emoji: true },
        value: click.value,
        style: 'primary',
        type: 'button',
        action_ts: '1795000001.000200',
      },
    ],
  };
}
