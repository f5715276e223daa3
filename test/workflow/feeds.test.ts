import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/app/logger.js';
import { parseConfig } from '../../src/config/load.js';
import { fixedClock } from '../../src/core/clock.js';
import type { FetchDocument } from '../../src/net/fetch.js';
import { listAudit } from '../../src/store/audit.js';
import { countAdvisories, listFeedStates } from '../../src/store/queries/advisories.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { createFeedJobHandlers, ingestFeedFile, ingestFeedUrl, pollFeeds } from '../../src/workflow/feeds.js';
import { JOB_KINDS } from '../../src/workflow/jobs.js';
import { startFeedServer, type FeedServer } from '../helpers/feed-server.js';
import { describeEachStore } from '../helpers/stores.js';

const FIXTURES = new URL('../fixtures/feeds/', import.meta.url).pathname;
const KEV = `${FIXTURES}kev/known_exploited_vulnerabilities.json`;
const T0 = '2026-11-23T10:00:00.000Z';

let server: FeedServer;
beforeAll(async () => {
  server = await startFeedServer();
  server.serve('usn.rss', readFileSync(`${FIXTURES}rss/ubuntu-usn.rss.xml`), 'application/rss+xml');
  server.serve('USN-6242-1.json', readFileSync(`${FIXTURES}osv/ubuntu/USN-6242-1.json`), 'application/json');
});
afterAll(async () => {
  await server.close();
});

describeEachStore('feeds workflow', (s) => {
  let ctx: WorkflowContext & { clock: ReturnType<typeof fixedClock> };
  let scratch: string;
  const makeContext = (raw: Record<string, unknown> = {}) => ({
    store: s.store,
    clock: fixedClock(T0),
    logger: createSilentLogger(),
    // The local feed server is on loopback, which the address guard refuses unless allowed.
    config: parseConfig({ fetch: { maxBytes: 2 * 1024 * 1024, timeoutMs: 2000, maxRedirects: 2, allowHosts: ['127.0.0.1'] }, ...raw }),
  });
  beforeEach(() => {
    ctx = makeContext();
    scratch = mkdtempSync(path.join(tmpdir(), 'patchdeck-feeds-'));
    return () => rmSync(scratch, { recursive: true, force: true });
  });

  const packagesOf = async (id: string) =>
    (await s.store.db.selectFrom('advisory_packages').select(['ecosystem', 'name']).where('advisory_id', '=', id).orderBy('ecosystem').orderBy('name').execute()).map(
      (r) => `${r.ecosystem}/${r.name}`,
    );
  const cvesOf = async (id: string) =>
    (await s.store.db.selectFrom('advisory_cves').select('cve').where('advisory_id', '=', id).orderBy('cve').execute()).map((r) => r.cve);

  it('ingests KEV and OSV with their CVE links, package names and one audit event per run', async () => {
    const kev = await ingestFeedFile(ctx, { kind: 'kev', path: KEV, actor: 'alice' });
    expect(kev).toMatchObject({ feed: 'kev', kind: 'kev', documents: 1, added: 1404, updated: 0, unchanged: 0, failed: 0, errors: [] });
    const osv = await ingestFeedFile(ctx, { kind: 'osv', path: `${FIXTURES}osv`, name: 'osv-all', actor: 'alice' });
    expect(osv).toMatchObject({ feed: 'osv-all', documents: 36, added: 36, failed: 0 });
    expect(await countAdvisories(s.store.db)).toBe(1440);
    expect(await countAdvisories(s.store.db, { source: 'kev' })).toBe(1404);

    const openssh = ['openssh', 'openssh-client', 'openssh-server', 'openssh-sftp-server', 'openssh-tests', 'ssh', 'ssh-askpass-gnome'];
    expect(await packagesOf('USN-6242-1')).toEqual([...openssh.map((n) => `Ubuntu:20.04:LTS/${n}`), ...openssh.map((n) => `Ubuntu:22.04:LTS/${n}`)]);
    expect(await cvesOf('USN-6242-1')).toEqual(['CVE-2023-38408']);
    // PEP 503: "Jinja2" is stored as "jinja2"; the affected JSON keeps the published spelling.
    expect(await packagesOf('GHSA-h75v-3vvj-5mfj')).toEqual(['PyPI/jinja2']);
    expect(await packagesOf('ALSA-2024:1234')).toEqual(['AlmaLinux:9/openssl', 'AlmaLinux:9/openssl-libs']);
    expect(await packagesOf('GHSA-3h5v-q93c-6h6q')).toEqual(['npm/ws']);
    // CVE-2021-3156 (sudo "Baron Samedit") is both in KEV and in USN-4705-1.
    const baron = await s.store.db.selectFrom('advisory_cves').select('advisory_id').where('cve', '=', 'CVE-2021-3156').orderBy('advisory_id').execute();
    expect(baron.map((r) => r.advisory_id)).toEqual(['KEV-CVE-2021-3156', 'USN-4705-1']);

    const row = await s.store.db.selectFrom('advisories').selectAll().where('id', '=', 'USN-6242-1').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ source: 'osv', trust: 'authoritative', vendor_severity: 'medium', ingested_at: T0, updated_at: T0, content_hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(Number(row.cvss_score)).toBe(9.8);

    const audit = await listAudit(s.store.db, { subjectType: 'feed' });
    expect(audit.map((e) => [e.action, e.subjectId, e.actor])).toEqual([
      ['feed.ingested', 'kev', 'alice'],
      ['feed.ingested', 'osv-all', 'alice'],
    ]);
    expect(audit[0]!.after).toMatchObject({ kind: 'kev', added: 1404, updated: 0, unchanged: 0, failed: 0 });
    const states = await listFeedStates(s.store.db);
    expect(states).toEqual([
      { name: 'kev', kind: 'kev', lastRunAt: T0, lastSuccessAt: T0, lastError: null, lastErrorAt: null, consecutiveFailures: 0, items: 1404, nextAttemptAt: null, failureNotifiedAt: null },
      { name: 'osv-all', kind: 'osv', lastRunAt: T0, lastSuccessAt: T0, lastError: null, lastErrorAt: null, consecutiveFailures: 0, items: 36, nextAttemptAt: null, failureNotifiedAt: null },
    ]);
  });

  it('counts a re-ingest of the same documents as unchanged and writes nothing', async () => {
    await ingestFeedFile(ctx, { kind: 'osv', path: `${FIXTURES}osv/ubuntu`, actor: 'alice' });
    ctx.clock.advance(3_600_000);
    const again = await ingestFeedFile(ctx, { kind: 'osv', path: `${FIXTURES}osv/ubuntu`, actor: 'bob' });
    expect(again).toMatchObject({ added: 0, updated: 0, unchanged: 15, failed: 0 });
    const updated = await s.store.db.selectFrom('advisories').select('updated_at').distinct().execute();
    expect(updated.map((r) => r.updated_at)).toEqual([T0]);
    const audit = await listAudit(s.store.db, { subjectType: 'feed', subjectId: 'osv' });
    expect(audit.map((e) => [e.actor, (e.after as { unchanged: number }).unchanged])).toEqual([
      ['alice', 0],
      ['bob', 15],
    ]);
    expect((await listFeedStates(s.store.db))[0]!.lastRunAt).toBe('2026-11-23T11:00:00.000Z');
  });

  it('updates a changed record and replaces its CVE and package rows', async () => {
    const dir = path.join(scratch, 'osv');
    cpSync(`${FIXTURES}osv/ubuntu`, dir, { recursive: true });
    await ingestFeedFile(ctx, { kind: 'osv', path: dir, actor: 'alice' });
    const file = path.join(dir, 'USN-6242-1.json');
    const record = JSON.parse(readFileSync(file, 'utf8'));
    record.modified = '2026-11-01T00:00:00Z';
    record.upstream = ['UBUNTU-CVE-2023-38408', 'UBUNTU-CVE-2099-0001'];
    record.affected = record.affected.slice(1);
    record.affected[0].ecosystem_specific.binaries = [{ binary_name: 'openssh-server', binary_version: '1:8.9p1-3ubuntu0.3' }];
    writeFileSync(file, JSON.stringify(record));
    ctx.clock.advance(60_000);
    const result = await ingestFeedFile(ctx, { kind: 'osv', path: dir, actor: 'alice' });
    expect(result).toMatchObject({ added: 0, updated: 1, unchanged: 14 });
    expect(await cvesOf('USN-6242-1')).toEqual(['CVE-2023-38408', 'CVE-2099-0001']);
    expect(await packagesOf('USN-6242-1')).toEqual(['Ubuntu:22.04:LTS/openssh', 'Ubuntu:22.04:LTS/openssh-server']);
    const row = await s.store.db.selectFrom('advisories').select(['ingested_at', 'updated_at', 'modified_at']).where('id', '=', 'USN-6242-1').executeTakeFirstOrThrow();
    expect(row).toEqual({ ingested_at: T0, updated_at: '2026-11-23T10:01:00.000Z', modified_at: '2026-11-01T00:00:00.000Z' });
  });

  it('leaves stored data intact when a whole document is bad, and records the failure', async () => {
    await ingestFeedFile(ctx, { kind: 'kev', path: KEV, actor: 'alice' });
    ctx.clock.advance(60_000);
    const truncated = `${FIXTURES}bad/kev-truncated.json`;
    const error = await ingestFeedFile(ctx, { kind: 'kev', path: truncated, actor: 'alice' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PD_FEED_PARSE', message: `${truncated} is not valid JSON: it ends early at position 6000 (truncated?)` });
    await expect(ingestFeedFile(ctx, { kind: 'kev', path: `${FIXTURES}bad/kev-wrong-shape.json`, actor: 'alice' })).rejects.toMatchObject({
      code: 'PD_FEED_PARSE',
      message: expect.stringContaining('is not a CISA KEV catalog'),
    });
    expect(await countAdvisories(s.store.db)).toBe(1404);
    const [state] = await listFeedStates(s.store.db);
    expect(state).toMatchObject({
      name: 'kev',
      lastRunAt: '2026-11-23T10:01:00.000Z',
      lastSuccessAt: T0,
      lastErrorAt: '2026-11-23T10:01:00.000Z',
      consecutiveFailures: 2,
      items: 1404,
      lastError: expect.stringContaining('[PD_FEED_PARSE]'),
    });
    const actions = (await listAudit(s.store.db, { subjectType: 'feed' })).map((e) => e.action);
    expect(actions).toEqual(['feed.ingested', 'feed.failed', 'feed.failed']);
    // The next good run resets the failure count.
    await ingestFeedFile(ctx, { kind: 'kev', path: KEV, actor: 'alice' });
    expect((await listFeedStates(s.store.db))[0]).toMatchObject({ consecutiveFailures: 0, lastError: null, lastErrorAt: '2026-11-23T10:01:00.000Z' });
  });

  it('imports the good files of an OSV directory and reports the bad one by name', async () => {
    const dir = path.join(scratch, 'mixed');
    cpSync(`${FIXTURES}osv/ghsa`, dir, { recursive: true });
    writeFileSync(path.join(dir, 'GHSA-zzzz-zzzz-zzzz.json'), '{"id": "GHSA-zzzz-zzzz-zzzz", "aliases": [');
    cpSync(`${FIXTURES}bad/osv-array-mixed.json`, path.join(dir, 'extra', 'batch.json'), { recursive: true });
    writeFileSync(path.join(dir, 'notes.txt'), 'not read: wrong extension');
    const result = await ingestFeedFile(ctx, { kind: 'osv', path: dir, actor: 'alice' });
    expect(result).toMatchObject({ documents: 17, added: 17, failed: 3 });
    expect(result.errors.map((e) => e.location)).toEqual([
      path.join(dir, 'GHSA-zzzz-zzzz-zzzz.json'),
      `${path.join(dir, 'extra', 'batch.json')}[1]`,
      `${path.join(dir, 'extra', 'batch.json')}[2] (PYSEC-TEST-2)`,
    ]);
    expect(await packagesOf('PYSEC-TEST-1')).toEqual(['PyPI/foo-bar-baz']);
    const [state] = await listFeedStates(s.store.db);
    expect(state).toMatchObject({ consecutiveFailures: 0, lastSuccessAt: T0, items: 17, lastError: expect.stringContaining('3 skipped: ') });
  });

  it('stores RSS items as hints linked to the CVEs they mention, next to the KEV entry', async () => {
    await ingestFeedFile(ctx, { kind: 'kev', path: KEV, actor: 'alice' });
    const rss = await ingestFeedFile(ctx, { kind: 'rss', path: `${FIXTURES}rss/us-cert-alerts.rss.xml`, name: 'us-cert', actor: 'alice' });
    expect(rss).toMatchObject({ feed: 'us-cert', added: 10 });
    const shellshock = await s.store.db
      .selectFrom('advisory_cves')
      .innerJoin('advisories', 'advisories.id', 'advisory_cves.advisory_id')
      .select(['advisories.id', 'advisories.trust', 'advisories.title'])
      .where('advisory_cves.cve', '=', 'CVE-2014-6271')
      .orderBy('advisories.id')
      .execute();
    expect(shellshock).toEqual([
      { id: expect.stringMatching(/^HINT-[0-9a-f]{16}$/), trust: 'hint', title: expect.stringContaining('TA14-268A') },
      { id: 'KEV-CVE-2014-6271', trust: 'authoritative', title: expect.any(String) },
    ]);
    expect(await packagesOf(shellshock[0]!.id)).toEqual([]);
  });

  it('ingests from a URL through the bounded fetch, and records a fetch failure without touching stored data', async () => {
    const result = await ingestFeedUrl(ctx, { kind: 'rss', url: `${server.url}/file/usn.rss`, name: 'ubuntu-usn', actor: 'alice' });
    expect(result).toMatchObject({ feed: 'ubuntu-usn', location: `${server.url}/file/usn.rss`, added: 10 });
    await expect(ingestFeedUrl(ctx, { kind: 'rss', url: `${server.url}/loop`, name: 'ubuntu-usn', actor: 'alice' })).rejects.toMatchObject({ code: 'PD_FEED_REDIRECTS' });
    await expect(ingestFeedUrl(ctx, { kind: 'rss', url: `${server.url}/huge`, name: 'ubuntu-usn', actor: 'alice' })).rejects.toMatchObject({ code: 'PD_FEED_TOO_LARGE' });
    expect(await countAdvisories(s.store.db)).toBe(10);
    expect((await listFeedStates(s.store.db))[0]).toMatchObject({ consecutiveFailures: 2, items: 10, lastError: expect.stringContaining('PD_FEED_TOO_LARGE') });
  });

  it('uses the fetch it is given', async () => {
    const asked: string[] = [];
    const fake: FetchDocument = async (url, limits) => {
      asked.push(`${url} ${limits.maxBytes}`);
      return { url, finalUrl: url, status: 200, contentType: 'application/json', body: readFileSync(`${FIXTURES}osv/ghsa/GHSA-h75v-3vvj-5mfj.json`) };
    };
    const result = await ingestFeedUrl(ctx, { kind: 'osv', url: 'https://feeds.invalid/ghsa.json', actor: 'alice' }, { fetch: fake });
    expect(result).toMatchObject({ added: 1 });
    expect(asked).toEqual([`https://feeds.invalid/ghsa.json ${2 * 1024 * 1024}`]);
  });

  it('refuses an unknown kind and an unusable feed name', async () => {
    await expect(ingestFeedFile(ctx, { kind: 'nosuch', path: KEV, name: 'vendor', actor: 'alice' })).rejects.toMatchObject({ code: 'PD_FEED_UNKNOWN_KIND' });
    expect((await listFeedStates(s.store.db))[0]).toMatchObject({ name: 'vendor', kind: 'nosuch', consecutiveFailures: 1 });
    await expect(ingestFeedFile(ctx, { kind: 'kev', path: KEV, name: 'Bad Name', actor: 'alice' })).rejects.toMatchObject({ code: 'PD_FEED_NAME' });
    await expect(ingestFeedFile(ctx, { kind: 'kev', path: path.join(scratch, 'missing.json'), actor: 'alice' })).rejects.toMatchObject({ code: 'PD_FEED_NOT_FOUND' });
  });

  it('polls every configured feed, continuing past a failing one', async () => {
    ctx = makeContext({
      feeds: [
        { name: 'kev', kind: 'kev', file: KEV },
        { name: 'broken', kind: 'osv', url: `${server.url}/status/500` },
        { name: 'usn', kind: 'osv', url: `${server.url}/file/USN-6242-1.json` },
        { name: 'nowhere', kind: 'rss' },
      ],
    });
    const result = await pollFeeds(ctx, { actor: 'scheduler' });
    expect(result.failed).toBe(2);
    expect(result.outcomes.map((o) => [o.feed, o.ok, o.result?.added ?? o.error?.code])).toEqual([
      ['kev', true, 1404],
      ['broken', false, 'PD_FEED_HTTP'],
      ['usn', true, 1],
      ['nowhere', false, 'PD_FEED_CONFIG'],
    ]);
    const states = await listFeedStates(s.store.db);
    expect(states.map((st) => [st.name, st.consecutiveFailures])).toEqual([
      ['broken', 1],
      ['kev', 0],
      ['nowhere', 1],
      ['usn', 0],
    ]);
    const one = await pollFeeds(ctx, { feed: 'usn', actor: 'scheduler' });
    expect(one.outcomes.map((o) => [o.feed, o.result?.unchanged])).toEqual([['usn', 1]]);
    await expect(pollFeeds(ctx, { feed: 'nope', actor: 'scheduler' })).rejects.toMatchObject({
      code: 'PD_FEED_UNKNOWN',
      message: expect.stringContaining('configured: kev, broken, usn, nowhere'),
    });
  });

  it('handles feeds.poll jobs with the injected fetch, failing the job when a feed failed', async () => {
    ctx = makeContext({ feeds: [{ name: 'ghsa', kind: 'osv', url: 'https://feeds.invalid/ghsa.json' }] });
    let body = readFileSync(`${FIXTURES}osv/ghsa/GHSA-wf5p-g6vw-rhxx.json`);
    const fake: FetchDocument = async (url) => ({ url, finalUrl: url, status: 200, contentType: null, body });
    const handlers = createFeedJobHandlers({ fetch: fake });
    const job = { id: 1, kind: JOB_KINDS.feedsPoll, payload: { feed: 'ghsa' }, attempts: 1, maxAttempts: 5, fence: 1 };
    await handlers[JOB_KINDS.feedsPoll]!(ctx, job);
    expect(await countAdvisories(s.store.db)).toBe(1);
    expect((await listAudit(s.store.db, { subjectType: 'feed' }))[0]!.actor).toBe('scheduler');
    body = Buffer.from('{"id": ');
    await expect(handlers[JOB_KINDS.feedsPoll]!(ctx, job)).rejects.toMatchObject({ code: 'PD_FEED_POLL_FAILED', message: expect.stringContaining('ghsa:') });
    await expect(handlers[JOB_KINDS.feedsPoll]!(ctx, { ...job, payload: { feed: 7 } })).rejects.toMatchObject({ code: 'PD_JOB_PAYLOAD' });
  });
});
