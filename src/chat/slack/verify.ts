import { createHmac, timingSafeEqual } from 'node:crypto';
import express, { type Request, type RequestHandler } from 'express';
import { recordRejectedChatRequest } from '../../workflow/chat-requests.js';
import type { WorkflowContext } from '../../workflow/context.js';

/** Slack's replay window, applied in both directions (Bolt only rejects old timestamps). */
export const SLACK_MAX_CLOCK_SKEW_SECONDS = 5 * 60;

/** Generous for a block_actions payload, which carries the whole message it came from. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;

export type SlackSignatureCheck = { ok: true } | { ok: false; reason: 'missing_signature' | 'bad_timestamp' | 'stale_timestamp' | 'future_timestamp' | 'bad_signature' };

/**
 * Checks a request the way Slack signs it: HMAC-SHA256 over `v0:{timestamp}:{raw body}` with the signing
 * secret, compared in constant time, and a timestamp within five minutes of `now` either way.
 */
export function checkSlackSignature(input: {
  signingSecret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: Buffer;
  now: Date;
}): SlackSignatureCheck {
  const { timestamp, signature } = input;
  if (timestamp === undefined || signature === undefined) return { ok: false, reason: 'missing_signature' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'bad_timestamp' };
  const skew = Number(timestamp) - Math.floor(input.now.getTime() / 1000);
  if (skew < -SLACK_MAX_CLOCK_SKEW_SECONDS) return { ok: false, reason: 'stale_timestamp' };
  if (skew > SLACK_MAX_CLOCK_SKEW_SECONDS) return { ok: false, reason: 'future_timestamp' };
  const match = /^v0=([0-9a-f]{64})$/.exec(signature);
  if (!match) return { ok: false, reason: 'bad_signature' };
  const expected = createHmac('sha256', input.signingSecret).update(`v0:${timestamp}:`).update(input.rawBody).digest();
  const given = Buffer.from(match[1]!, 'hex');
  return timingSafeEqual(given, expected) ? { ok: true } : { ok: false, reason: 'bad_signature' };
}

function headerValue(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** `ssl_check=1` (with Slack's verification token, nothing else): a probe that is answered and never processed. */
function isSslCheck(rawBody: Buffer): boolean {
  if (rawBody.length > 200) return false;
  const fields = new URLSearchParams(rawBody.toString('utf8'));
  return fields.get('ssl_check') === '1' && [...fields.keys()].every((key) => key === 'ssl_check' || key === 'token');
}

/**
 * Express middleware run before Bolt: reads the raw body, checks signature and timestamp against the
 * workflow clock, and hands the same bytes on to Bolt as `req.rawBody`. A rejected request is audited
 * and answered 401 with no detail; the reason is only in the audit log.
 */
export function createSlackSignatureVerifier(deps: { ctx: WorkflowContext; signingSecret: string }): RequestHandler {
  const readRawBody = express.raw({ type: () => true, limit: MAX_BODY_BYTES });
  return (req, res, next) => {
    readRawBody(req, res, (error?: unknown) => {
      if (error) {
        const status = (error as { status?: number }).status;
        res.status(status === 413 ? 413 : 400).type('text/plain').send(status === 413 ? 'request too large' : 'bad request');
        return;
      }
      // Anything but a Buffer means someone parsed the body before us; its signature cannot be checked.
      const rawBody: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const check = checkSlackSignature({
        signingSecret: deps.signingSecret,
        timestamp: headerValue(req, 'x-slack-request-timestamp'),
        signature: headerValue(req, 'x-slack-signature'),
        rawBody,
        now: deps.ctx.clock.now(),
      });
      if (check.ok) {
        // Bolt's body parser reads `req.rawBody` when present instead of the (already consumed) stream.
        (req as Request & { rawBody?: Buffer }).rawBody = rawBody;
        next();
        return;
      }
      if (isSslCheck(rawBody)) {
        // Slack probes a slash command's URL with an unsigned `ssl_check=1`; it only wants a 200.
        res.status(200).end();
        return;
      }
      const remoteAddress = req.ip ?? req.socket.remoteAddress ?? null;
      recordRejectedChatRequest(deps.ctx, { platform: 'slack', reason: check.reason, remoteAddress, path: req.originalUrl.slice(0, 200) })
        .catch((auditError: unknown) => {
          deps.ctx.logger.error({ err: (auditError as Error).message, reason: check.reason }, 'could not audit a rejected Slack request');
        })
        .finally(() => {
          res.status(401).type('text/plain').send('unauthorized');
        });
    });
  };
}
