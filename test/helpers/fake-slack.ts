import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSlackCall {
  method: string;
  /** Form fields (JSON-valued ones such as `blocks` parsed) or the JSON body. */
  body: Record<string, unknown>;
  authorization: string | null;
  /** What the fake answered: 200, or 429 when told to rate-limit. */
  status: number;
  receivedAt: number;
}

export interface FakeSlack {
  /** Base URL for `slackApiUrl`, ending in `/api/`. */
  readonly url: string;
  readonly calls: FakeSlackCall[];
  callsTo(method: string): FakeSlackCall[];
  /** The next call of `method` is answered 429 with `Retry-After: seconds`. */
  rateLimitOnce(method: string, retryAfterSeconds: number): void;
  /** Resolves with the `count`-th call of `method` once it has arrived. */
  waitForCall(method: string, options?: { count?: number; timeoutMs?: number }): Promise<FakeSlackCall>;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text: string, contentType: string | undefined): Record<string, unknown> {
  if (contentType?.startsWith('application/json')) return JSON.parse(text || '{}') as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    out[key] = value;
    // The WebClient sends arrays and objects (blocks, attachments) as JSON strings inside the form.
    if (/^[[{]/.test(value)) {
      try {
        out[key] = JSON.parse(value);
      } catch {
        // not JSON after all: keep the text
      }
    }
  }
  return out;
}

/** A stand-in for Slack's Web API on 127.0.0.1 that records every call and answers like Slack does. */
export async function startFakeSlack(): Promise<FakeSlack> {
  const calls: FakeSlackCall[] = [];
  const rateLimits = new Map<string, number>();
  const channelIds = new Map<string, string>();
  const waiters = new Set<() => void>();
  let tsCounter = 0;
  const nextTs = () => `1795000000.${String(++tsCounter).padStart(6, '0')}`;
  // Like Slack, a channel given by name comes back as its id.
  const channelId = (name: unknown) => {
    const key = String(name ?? '');
    if (/^[CGD][A-Z0-9]{2,}$/.test(key)) return key;
    if (!channelIds.has(key)) channelIds.set(key, `C0FAKE${String(channelIds.size + 1).padStart(4, '0')}`);
    return channelIds.get(key)!;
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
      const body = parseBody(await readBody(req), req.headers['content-type']);
      const retryAfter = rateLimits.get(method);
      const status = retryAfter === undefined ? 200 : 429;
      calls.push({ method, body, authorization: req.headers.authorization ?? null, status, receivedAt: Date.now() });
      for (const wake of [...waiters]) wake();
      if (retryAfter !== undefined) {
        rateLimits.delete(method);
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(retryAfter) });
        res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
        return;
      }
      let answer: Record<string, unknown>;
      switch (method) {
        case 'chat.postMessage':
          answer = { ok: true, channel: channelId(body.channel), ts: nextTs(), message: { text: body.text } };
          break;
        case 'chat.update':
          answer = { ok: true, channel: channelId(body.channel), ts: body.ts, text: body.text };
          break;
        case 'conversations.open':
          // Like Slack, the DM channel of a user is the same every time it is opened.
          answer = { ok: true, channel: { id: `D0${String(body.users ?? '').replace(/[^A-Z0-9]/g, '')}` } };
          break;
        case 'views.open':
          answer = { ok: true, view: { id: `V0${String(calls.length).padStart(6, '0')}`, type: 'modal' } };
          break;
        case 'chat.postEphemeral':
          answer = { ok: true, message_ts: nextTs() };
          break;
        case 'auth.test':
          answer = { ok: true, url: 'https://example.invalid/', team: 'Example', user: 'patchdeck', team_id: 'T0PATCH', user_id: 'U0PATCHDECK', bot_id: 'B0PATCHDECK' };
          break;
        default:
          answer = { ok: true };
      }
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(answer));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const callsTo = (method: string) => calls.filter((c) => c.method === method);
  return {
    url: `http://127.0.0.1:${port}/api/`,
    calls,
    callsTo,
    rateLimitOnce(method, retryAfterSeconds) {
      rateLimits.set(method, retryAfterSeconds);
    },
    waitForCall(method, options = {}) {
      const count = options.count ?? 1;
      const timeoutMs = options.timeoutMs ?? 5000;
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = callsTo(method)[count - 1];
          if (!found) return false;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(found);
          return true;
        };
        const wake = () => void check();
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`fake Slack: no call #${count} of ${method} within ${timeoutMs} ms (calls: ${calls.map((c) => c.method).join(', ') || 'none'})`));
        }, timeoutMs);
        waiters.add(wake);
        check();
      });
    },
    close() {
      return new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
