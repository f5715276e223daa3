import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/app/logger.js';
import { parseConfig } from '../../src/config/load.js';
import { fixedClock } from '../../src/core/clock.js';
import type { ChatMessage } from '../../src/core/messages.js';
import { listAudit } from '../../src/store/audit.js';
import { countAdvisories, getFeedState } from '../../src/store/queries/advisories.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { describeFeedHealth } from '../../src/workflow/feed-health.js';
import { createFeedJobHandlers, pollFeeds } from '../../src/workflow/feeds.js';
import { JOB_KINDS } from '../../src/workflow/jobs.js';
import type { Notifier } from '../../src/workflow/notifications.js';
import { describeEachStore } from '../helpers/stores.js';

const GHSA = readFileSync(new URL('../fixtures/feeds/osv/ghsa/GHSA-wf5p-g6vw-rhxx.json', import.meta.url));
const T0 = '2026-11-23T10:00:00.000Z';

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

/** A local server whose answers each test scripts: the misbehaving feed server. */
let base: string;
let answer: (req: IncomingMessage) => Reply = () => ({ status: 404 });
const requests: { path: string; headers: IncomingHttpHeaders }[] = [];
const server = createServer((req, res) => {
  requests.push({ path: req.url ?? '/', headers: req.headers });
  const reply = answer(req);
  res.writeHead(reply.status, reply.headers ?? {}).end(reply.body ?? '');
});
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Serves GHSA with ETag "v1" and answers 304 to a request that carries it. */
function serveWithEtag(etag = '"v1"'): void {
  answer = (req): Reply =>
    req.headers['if-none-match'] === etag
      ? { status: 304, headers: { etag } }
      : { status: 200, headers: { etag, 'last-modified': 'Sun, 22 Nov 2026 08:00:00 GMT', 'content-type': 'application/json' }, body: GHSA };
}

function recordingNotifier(options: { fail?: () => boolean } = {}) {
  const posts: { channel: string; message: ChatMessage }[] = [];
  const notifier: Notifier = {
    platform: 'console',
    async post(channel, message) {
      if (options.fail?.()) throw new Error('chat platform is down');
      posts.push({ channel, message });
      return { channel, ts: `ts-${posts.length}` };
    },
    async update() {},
  };
  return { notifier, posts };
}

describeEachStore('feed fetching: conditional GET, backoff, failure notices', (s) => {
  let ctx: WorkflowContext & { clock: ReturnType<typeof fixedClock> };
  const makeContext = (raw: Record<string, unknown> = {}) => ({
    store: s.store,
    clock: fixedClock(T0),
    logger: createSilentLogger(),
    config: parseConfig({
      timezone: 'Europe/Berlin',
      fetch: { timeoutMs: 2000, allowHosts: ['127.0.0.1'], backoffBaseMs: 60_000, backoffMaxMs: 3_600_000 },
      feeds: [{ name: 'ghsa', kind: 'osv', url: `${base}/ghsa.json`, schedule: '*/10 * * * *' }],
      routing: { defaultChannel: '#patching', opsChannel: '#ops' },
      ...raw,
    }),
  });
  beforeEach(() => {
    ctx = makeContext();
    requests.length = 0;
  });
  const pollJob = { id: 1, kind: JOB_KINDS.feedsPoll, payload: { feed: 'ghsa' }, attempts: 1, maxAttempts: 5, fence: 1 };

  it('sends the stored validators and treats 304 as a good run that parses nothing', async () => {
    serveWithEtag();
    const first = await pollFeeds(ctx, { actor: 'scheduler' });
    expect(first.outcomes[0]!.result).toMatchObject({ added: 1, notModified: false });
    expect(requests[0]!.headers['if-none-match']).toBeUndefined();
    ctx.clock.advance(600_000);
    const second = await pollFeeds(ctx, { actor: 'scheduler' });
    expect(second.outcomes[0]).toMatchObject({ ok: true, result: { notModified: true, added: 0, unchanged: 0, documents: 0 } });
    expect(requests[1]!.headers).toMatchObject({ 'if-none-match': '"v1"', 'if-modified-since': 'Sun, 22 Nov 2026 08:00:00 GMT' });
    expect(await getFeedState(s.store.db, 'ghsa')).toMatchObject({ lastSuccessAt: '2026-11-23T10:10:00.000Z', items: 1, consecutiveFailures: 0 });
    expect((await listAudit(s.store.db, { subjectType: 'feed' })).map((e) => e.action)).toEqual(['feed.ingested', 'feed.not_modified']);
    // The validators belong to the URL: a feed moved to another URL fetches in full.
    ctx = makeContext({ feeds: [{ name: 'ghsa', kind: 'osv', url: `${base}/moved/ghsa.json` }] });
    await pollFeeds(ctx, { actor: 'scheduler' });
    expect(requests[2]!.headers['if-none-match']).toBeUndefined();
  });

  it('keeps the old validators when a changed document fails to parse', async () => {
    serveWithEtag();
    await pollFeeds(ctx, { actor: 'scheduler' });
    answer = () => ({ status: 200, headers: { etag: '"broken"' }, body: '{"id": ' });
    const broken = await pollFeeds(ctx, { actor: 'scheduler' });
    expect(broken.outcomes[0]!.error?.code).toBe('PD_FEED_PARSE');
    serveWithEtag('"v2"');
    await pollFeeds(ctx, { actor: 'scheduler' });
    expect(requests.map((r) => r.headers['if-none-match'])).toEqual([undefined, '"v1"', '"v1"']);
  });

  it('backs off after 429 with Retry-After, skips polls until then without a request, then tries again', async () => {
    answer = () => ({ status: 429, headers: { 'retry-after': '300' } });
    const limited = await pollFeeds(ctx, { actor: 'scheduler' });
    expect(limited.outcomes[0]!.error?.code).toBe('PD_FEED_HTTP');
    expect(await getFeedState(s.store.db, 'ghsa')).toMatchObject({ consecutiveFailures: 1, nextAttemptAt: '2026-11-23T10:05:00.000Z' });
    const failedAudit = (await listAudit(s.store.db, { subjectType: 'feed' }))[0]!;
    expect(failedAudit.after).toMatchObject({ nextAttemptAt: '2026-11-23T10:05:00.000Z' });

    ctx.clock.advance(120_000);
    const skipped = await pollFeeds(ctx, { actor: 'scheduler' });
    expect(skipped).toEqual({ failed: 0, outcomes: [{ feed: 'ghsa', kind: 'osv', ok: true, result: null, error: null, deferredUntil: '2026-11-23T10:05:00.000Z' }] });
    // The job for a deferred feed succeeds quietly.
    await createFeedJobHandlers()[JOB_KINDS.feedsPoll]!(ctx, pollJob);
    expect(requests).toHaveLength(1);
    // `force` (the CLI's --force) polls anyway.
    await pollFeeds(ctx, { actor: 'cli', force: true });
    expect(requests).toHaveLength(2);

    ctx.clock.advance(300_000);
    serveWithEtag();
    const recovered = await pollFeeds(ctx, { actor: 'scheduler' });
    expect(recovered.outcomes[0]!.result?.added).toBe(1);
    expect(await getFeedState(s.store.db, 'ghsa')).toMatchObject({ consecutiveFailures: 0, nextAttemptAt: null });
  });

  it('reads Retry-After as an HTTP date, and backs off exponentially (capped) from 5xx without one', async () => {
    answer = () => ({ status: 503, headers: { 'retry-after': 'Mon, 23 Nov 2026 10:30:00 GMT' } });
    await pollFeeds(ctx, { actor: 'scheduler' });
    expect((await getFeedState(s.store.db, 'ghsa'))!.nextAttemptAt).toBe('2026-11-23T10:30:00.000Z');
    answer = () => ({ status: 500 });
    const waits: number[] = [];
    for (let i = 0; i < 7; i++) {
      await pollFeeds(ctx, { actor: 'scheduler', force: true });
      const state = (await getFeedState(s.store.db, 'ghsa'))!;
      waits.push((Date.parse(state.nextAttemptAt!) - ctx.clock.now().getTime()) / 60_000);
    }
    // Failures 2..8: 2, 4, 8, 16, 32 minutes, then the one-hour cap.
    expect(waits).toEqual([2, 4, 8, 16, 32, 60, 60]);
    // A 404 is not something waiting fixes: no backoff.
    answer = () => ({ status: 404 });
    await pollFeeds(ctx, { actor: 'scheduler', force: true });
    expect((await getFeedState(s.store.db, 'ghsa'))!.nextAttemptAt).toBeNull();
  });

  it('posts once to the ops channel when a feed fails three runs in a row, and again only after a good run', async () => {
    const { notifier, posts } = recordingNotifier();
    const handler = createFeedJobHandlers({ notifiers: [notifier] })[JOB_KINDS.feedsPoll]!;
    answer = () => ({ status: 404, body: 'gone' });
    for (let run = 1; run <= 5; run++) {
      await expect(handler(ctx, pollJob)).rejects.toMatchObject({ code: 'PD_FEED_POLL_FAILED' });
      expect(posts).toHaveLength(run < 3 ? 0 : 1);
      ctx.clock.advance(600_000);
    }
    expect(posts[0]!.channel).toBe('#ops');
    expect(posts[0]!.message).toMatchObject({ kind: 'feed_failure', caseId: null, title: 'Feed ghsa is failing' });
    expect(posts[0]!.message.text).toContain('3 failed runs in a row. Last success: never.');
    expect(posts[0]!.message.facts).toContainEqual({ label: 'Source', value: `${base}/ghsa.json` });
    const rows = await s.store.db.selectFrom('chat_messages').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ case_id: null, purpose: 'feed_failure', platform: 'console', channel: '#ops', ts: 'ts-1' });
    expect(JSON.parse(rows[0]!.payload)).toMatchObject({ title: 'Feed ghsa is failing' });
    expect(await getFeedState(s.store.db, 'ghsa')).toMatchObject({ consecutiveFailures: 5, failureNotifiedAt: '2026-11-23T10:20:00.000Z' });
    expect((await listAudit(s.store.db, { subjectType: 'feed' })).filter((e) => e.action === 'feed.failure_reported')).toHaveLength(1);

    serveWithEtag();
    await handler(ctx, pollJob);
    expect(await getFeedState(s.store.db, 'ghsa')).toMatchObject({ consecutiveFailures: 0, failureNotifiedAt: null });
    answer = () => ({ status: 404 });
    for (let run = 1; run <= 3; run++) await handler(ctx, pollJob).catch(() => undefined);
    expect(posts).toHaveLength(2);
    expect(posts[1]!.message.text).toContain('Last success: 2026-11-23 11:50 CET');
  });

  it('falls back to the default channel, and tries again on the next failing run when posting failed', async () => {
    ctx = makeContext({ routing: { defaultChannel: '#patching' } });
    let down = true;
    const { notifier, posts } = recordingNotifier({ fail: () => down });
    const handler = createFeedJobHandlers({ notifiers: [notifier] })[JOB_KINDS.feedsPoll]!;
    answer = () => ({ status: 404 });
    for (let run = 1; run <= 3; run++) await handler(ctx, pollJob).catch(() => undefined);
    expect(posts).toHaveLength(0);
    expect((await getFeedState(s.store.db, 'ghsa'))!.failureNotifiedAt).toBeNull();
    down = false;
    await handler(ctx, pollJob).catch(() => undefined);
    expect(posts.map((p) => p.channel)).toEqual(['#patching']);
    expect(posts[0]!.message.text).toContain('4 failed runs in a row');
  });

  it('describes each configured feed with its next run in the team zone, after any backoff', async () => {
    ctx = makeContext({
      feeds: [
        { name: 'ghsa', kind: 'osv', url: `${base}/ghsa.json`, schedule: '*/10 * * * *' },
        { name: 'kev', kind: 'kev', file: '/nowhere/kev.json', schedule: '0 6 * * *' },
      ],
    });
    answer = () => ({ status: 429, headers: { 'retry-after': '1500' } });
    await pollFeeds(ctx, { feed: 'ghsa', actor: 'scheduler' });
    await expect(countAdvisories(s.store.db)).resolves.toBe(0);
    const health = await describeFeedHealth(ctx);
    expect(health).toEqual([
      {
        name: 'ghsa',
        kind: 'osv',
        source: `${base}/ghsa.json`,
        schedule: '*/10 * * * *',
        lastRunAt: T0,
        lastSuccessAt: null,
        lastError: expect.stringContaining('HTTP 429 (Retry-After: 1500)'),
        lastErrorAt: T0,
        consecutiveFailures: 1,
        items: 0,
        nextAttemptAt: '2026-11-23T10:25:00.000Z',
        // The first tick at or after the backoff.
        nextRunAt: '2026-11-23T10:30:00.000Z',
        failureReportedAt: null,
      },
      // 06:00 in Berlin is 05:00 UTC in November; never run yet.
      expect.objectContaining({ name: 'kev', source: '/nowhere/kev.json', lastRunAt: null, consecutiveFailures: 0, nextRunAt: '2026-11-24T05:00:00.000Z', nextAttemptAt: null }),
    ]);
  });
});
