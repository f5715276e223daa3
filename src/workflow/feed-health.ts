import type { FeedConfig } from '../config/schema.js';
import { nextCronRun } from '../core/cron.js';
import { isPatchdeckError } from '../core/errors.js';
import { buildFeedFailureMessage } from '../core/messages.js';
import { nextAttemptAfter } from '../net/backoff.js';
import { toJson } from '../store/json.js';
import { claimFailureNotice, getFeedState, listFeedStates, releaseFailureNotice } from '../store/queries/advisories.js';
import { recordChange, type WorkflowContext } from './context.js';
import type { Notifier } from './notifications.js';

/** A feed failing this many runs in a row is reported to the ops channel, once per run of failures. */
export const FEED_FAILURE_NOTICE_THRESHOLD = 3;

/** The `chat_messages.purpose` of an ops notice about a failing feed (its `case_id` is null). */
export const FEED_FAILURE_PURPOSE = 'feed_failure';

/**
 * When a feed may be fetched again after `error`, as an ISO instant; null when the failure is not
 * one waiting helps with. `failures` counts this failure. Config `fetch.backoffBaseMs` / `backoffMaxMs`.
 */
export function backoffUntil(ctx: WorkflowContext, error: unknown, failures: number): string | null {
  if (!isPatchdeckError(error)) return null;
  const details = error.details ?? {};
  const httpStatus = typeof details.httpStatus === 'number' ? details.httpStatus : undefined;
  const retryAfter = typeof details.retryAfter === 'string' ? details.retryAfter : null;
  const policy = { baseMs: ctx.config.fetch.backoffBaseMs, maxMs: ctx.config.fetch.backoffMaxMs };
  return nextAttemptAfter({ code: error.code, httpStatus, retryAfter }, failures, ctx.clock.now(), policy)?.toISOString() ?? null;
}

/** The instant a backing-off feed may be polled again; null when it may be polled now. */
export async function deferredUntil(ctx: WorkflowContext, feedName: string): Promise<string | null> {
  const state = await getFeedState(ctx.store.db, feedName);
  const until = state?.nextAttemptAt ?? null;
  return until !== null && until > ctx.clock.now().toISOString() ? until : null;
}

export interface FeedHealth {
  name: string;
  kind: string;
  /** URL or file from config; null for a feed only ever ingested by hand (or with neither set). */
  source: string | null;
  /** Cron expression from config; null when the feed is not in config. */
  schedule: string | null;
  lastRunAt: string | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  consecutiveFailures: number;
  items: number;
  /** Backoff: polls skip the feed until then; null when it is not backing off (any more). */
  nextAttemptAt: string | null;
  /** The first scheduled poll that will fetch (after any backoff); null when not scheduled. */
  nextRunAt: string | null;
  /** When the current run of failures was posted to the ops channel. */
  failureReportedAt: string | null;
}

/** Every configured feed (config order), then feeds that only ever ran by hand, with their state and next run. */
export async function describeFeedHealth(ctx: WorkflowContext): Promise<FeedHealth[]> {
  const states = new Map((await listFeedStates(ctx.store.db)).map((s) => [s.name, s]));
  const now = ctx.clock.now();
  // A backoff that has run out no longer matters.
  const pending = (until: string | null) => (until !== null && until > now.toISOString() ? until : null);
  const configured = ctx.config.feeds.map((feed: FeedConfig): FeedHealth => {
    const state = states.get(feed.name);
    const backoff = pending(state?.nextAttemptAt ?? null);
    // A tick exactly at the end of the backoff runs, so search from just before it.
    const from = backoff !== null ? new Date(new Date(backoff).getTime() - 1) : now;
    return {
      name: feed.name,
      kind: feed.kind,
      source: feed.url ?? feed.file ?? null,
      schedule: feed.schedule,
      lastRunAt: state?.lastRunAt ?? null,
      lastSuccessAt: state?.lastSuccessAt ?? null,
      lastError: state?.lastError ?? null,
      lastErrorAt: state?.lastErrorAt ?? null,
      consecutiveFailures: state?.consecutiveFailures ?? 0,
      items: state?.items ?? 0,
      nextAttemptAt: backoff,
      nextRunAt: nextCronRun(feed.schedule, from, ctx.config.timezone)?.toISOString() ?? null,
      failureReportedAt: state?.failureNotifiedAt ?? null,
    };
  });
  const names = new Set(ctx.config.feeds.map((f) => f.name));
  const byHand = [...states.values()]
    .filter((s) => !names.has(s.name))
    .map(
      (s): FeedHealth => ({
        name: s.name,
        kind: s.kind,
        source: null,
        schedule: null,
        lastRunAt: s.lastRunAt,
        lastSuccessAt: s.lastSuccessAt,
        lastError: s.lastError,
        lastErrorAt: s.lastErrorAt,
        consecutiveFailures: s.consecutiveFailures,
        items: s.items,
        nextAttemptAt: pending(s.nextAttemptAt),
        nextRunAt: null,
        failureReportedAt: s.failureNotifiedAt,
      }),
    );
  return [...configured, ...byHand];
}

/**
 * Posts one ops notice (config `routing.opsChannel`, else `defaultChannel`) on every enabled platform
 * for each named feed that has failed FEED_FAILURE_NOTICE_THRESHOLD runs in a row and was not reported
 * yet, and stores each copy (chat_messages, case_id null, purpose `feed_failure`) with an audit event.
 * The claim on feed_state comes first, so racing workers post once; when no platform took the post the
 * claim is released for the next run. A platform that failed while another posted is named in the
 * audit event and the log, and not tried again (the claim is per feed, not per platform).
 * Returns how many feeds were reported.
 */
export async function reportFailingFeeds(ctx: WorkflowContext, notifiers: readonly Notifier[], feedNames: readonly string[]): Promise<number> {
  let posted = 0;
  for (const name of feedNames) {
    const claimedAt = ctx.clock.now();
    const claimed = await ctx.store.transaction((trx) => claimFailureNotice(trx, name, FEED_FAILURE_NOTICE_THRESHOLD, claimedAt));
    if (!claimed) continue;
    const state = await getFeedState(ctx.store.db, name);
    if (!state) continue;
    const config = ctx.config.feeds.find((f) => f.name === name);
    const message = buildFeedFailureMessage(
      {
        name,
        kind: state.kind,
        source: config ? (config.url ?? config.file ?? null) : null,
        consecutiveFailures: state.consecutiveFailures,
        lastError: state.lastError,
        lastSuccessAt: state.lastSuccessAt,
        nextAttemptAt: state.nextAttemptAt,
      },
      { publicUrl: ctx.config.publicUrl.replace(/\/+$/, ''), timezone: ctx.config.timezone, now: claimedAt },
    );
    const channel = ctx.config.routing.opsChannel ?? ctx.config.routing.defaultChannel;
    const sent: { platform: string; channel: string; ts: string | null }[] = [];
    const failed: { platform: string; error: string }[] = [];
    for (const notifier of notifiers) {
      try {
        const result = await notifier.post(channel, message);
        sent.push({ platform: notifier.platform, channel: result.channel, ts: result.ts });
      } catch (error) {
        failed.push({ platform: notifier.platform, error: (error as Error).message });
        ctx.logger.warn({ err: (error as Error).message, feed: name, channel, platform: notifier.platform }, 'could not post the feed failure notice on one platform');
      }
    }
    if (sent.length === 0) {
      ctx.logger.warn({ feed: name, channel }, 'could not post the feed failure notice anywhere; the next failing run tries again');
      await ctx.store.transaction((trx) => releaseFailureNotice(trx, name, claimedAt));
      continue;
    }
    const at = ctx.clock.now().toISOString();
    await ctx.store.transaction(async (trx) => {
      for (const copy of sent) {
        await trx
          .insertInto('chat_messages')
          .values({
            case_id: null,
            purpose: FEED_FAILURE_PURPOSE,
            platform: copy.platform,
            channel: copy.channel,
            ts: copy.ts,
            payload: toJson(message),
            created_at: at,
            updated_at: at,
          })
          .execute();
      }
      await recordChange(trx, ctx, {
        audit: sent.map((copy) => ({
          actor: 'patchdeck',
          action: 'feed.failure_reported',
          subjectType: 'feed',
          subjectId: name,
          after: { failures: state.consecutiveFailures, ...copy, ...(failed.length === 0 ? {} : { failedPlatforms: failed }) },
        })),
      });
    });
    posted++;
  }
  return posted;
}
