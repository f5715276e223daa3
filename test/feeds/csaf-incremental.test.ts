import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/app/logger.js';
import { parseConfig } from '../../src/config/load.js';
import { fixedClock } from '../../src/core/clock.js';
import { loadFeedDocuments } from '../../src/store/queries/feed-documents.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { ingestFeedFile, ingestFeedUrl } from '../../src/workflow/feeds.js';
import { startFeedServer, type FeedServer } from '../helpers/feed-server.js';
import { describeEachStore } from '../helpers/stores.js';

const SCHWARZ = new URL('../fixtures/feeds/csaf/schwarz-informatik', import.meta.url).pathname;
const C1234 = '2025/schwarz_informatik-c1234.json';
const C1235 = '2025/schwarz_informatik-c1235.json';
const T0 = '2026-11-23T10:00:00.000Z';
const changesCsv = (stamps: { c1234: string; c1235: string }) => `"${C1235}","${stamps.c1235}"\n"${C1234}","${stamps.c1234}"\n`;
const LISTED = { c1234: '2025-12-11T22:12:34+00:00', c1235: '2025-12-11T22:12:34+00:00' };

let server: FeedServer;
let providers = 0;
beforeAll(async () => {
  server = await startFeedServer();
});
afterAll(async () => {
  await server.close();
});

/** The provider directory served under a fresh prefix, its metadata's URLs pointed at the local server. */
function serveProvider(): { prefix: string; metadataUrl: string } {
  const prefix = `provider${++providers}`;
  const base = `${server.url}/file/${prefix}/`;
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => (statSync(path.join(dir, name)).isDirectory() ? walk(path.join(dir, name)).map((f) => `${name}/${f}`) : [name]));
  for (const file of walk(SCHWARZ)) {
    let body = readFileSync(path.join(SCHWARZ, file));
    if (file === 'provider-metadata.json') body = Buffer.from(body.toString('utf8').replaceAll('https://schwarz-informatik.at/.well-known/csaf/', base));
    server.serve(`${prefix}/${file}`, body);
  }
  server.serve(`${prefix}/changes.csv`, changesCsv(LISTED));
  return { prefix, metadataUrl: `${base}provider-metadata.json` };
}

describeEachStore('CSAF provider polling is incremental (changes.csv and ROLIE timestamps)', (s) => {
  let ctx: WorkflowContext;
  beforeEach(() => {
    ctx = {
      store: s.store,
      clock: fixedClock(T0),
      logger: createSilentLogger(),
      config: parseConfig({ fetch: { maxBytes: 2 * 1024 * 1024, timeoutMs: 5000, maxRedirects: 2, allowHosts: ['127.0.0.1'] } }),
    };
  });

  /** Requests for documents and their hash and signature files during `run`. */
  const documentRequests = async (prefix: string, run: () => Promise<unknown>) => {
    const before = server.requests.length;
    await run();
    return server.requests.slice(before).filter((p) => p.startsWith(`/file/${prefix}/2025/`)).sort();
  };

  it('fetches on the second poll only the document whose listed timestamp moved on', async () => {
    const { prefix, metadataUrl } = serveProvider();
    const poll = () => ingestFeedUrl(ctx, { kind: 'csaf', url: metadataUrl, name: 'schwarz', actor: 'scheduler' });
    const companions = (doc: string) => ['', '.asc', '.sha256', '.sha512'].map((suffix) => `/file/${prefix}/${doc}${suffix}`);

    let first: Awaited<ReturnType<typeof poll>> | undefined;
    expect(await documentRequests(prefix, async () => (first = await poll()))).toEqual([...companions(C1234), ...companions(C1235)].sort());
    expect(first).toMatchObject({ documents: 2, added: 2, skipped: 0 });
    const stored = await loadFeedDocuments(s.store.db, 'schwarz');
    expect(stored.get(`${server.url}/file/${prefix}/${C1234}`)).toMatchObject({ stamp: LISTED.c1234, records: 1 });

    let second: Awaited<ReturnType<typeof poll>> | undefined;
    expect(await documentRequests(prefix, async () => (second = await poll()))).toEqual([]);
    expect(second).toMatchObject({ documents: 2, skipped: 2, unchanged: 2, added: 0, updated: 0, failed: 0 });

    // The provider republished c1234 (same bytes here): only it is fetched and checked again.
    server.serve(`${prefix}/changes.csv`, changesCsv({ ...LISTED, c1234: '2026-01-05T08:00:00+00:00' }));
    expect(await documentRequests(prefix, poll)).toEqual(companions(C1234).sort());
    expect((await loadFeedDocuments(s.store.db, 'schwarz')).get(`${server.url}/file/${prefix}/${C1234}`)?.stamp).toBe('2026-01-05T08:00:00+00:00');
    expect(await documentRequests(prefix, poll)).toEqual([]);
  });

  it('fetches a document again when its listed time is missing or unreadable, and everything on a full run', async () => {
    const { prefix, metadataUrl } = serveProvider();
    const poll = (full = false) => ingestFeedUrl(ctx, { kind: 'csaf', url: metadataUrl, name: 'schwarz', actor: 'scheduler', full });
    await poll();
    server.serve(`${prefix}/changes.csv`, `"${C1235}"\n"${C1234}","yesterday"\n`);
    const fetched = await documentRequests(prefix, poll);
    expect(fetched.filter((p) => p.endsWith('.json'))).toEqual([`/file/${prefix}/${C1234}`, `/file/${prefix}/${C1235}`]);

    server.serve(`${prefix}/changes.csv`, changesCsv(LISTED));
    await poll();
    expect(await documentRequests(prefix, poll)).toEqual([]);
    expect((await documentRequests(prefix, () => poll(true))).filter((p) => p.endsWith('.json'))).toHaveLength(2);
  });

  it('fetches again a document that was quarantined, even when its listed time did not change', async () => {
    const { prefix, metadataUrl } = serveProvider();
    const good = readFileSync(path.join(SCHWARZ, C1234));
    server.serve(`${prefix}/${C1234}`, Buffer.concat([good, Buffer.from(' ')]));
    const poll = () => ingestFeedUrl(ctx, { kind: 'csaf', url: metadataUrl, name: 'schwarz', actor: 'scheduler' });
    expect(await poll()).toMatchObject({ quarantined: 1, added: 1 });
    server.serve(`${prefix}/${C1234}`, good);
    const fetched = await documentRequests(prefix, poll);
    expect(fetched.filter((p) => p.endsWith('.json'))).toEqual([`/file/${prefix}/${C1234}`]);
  });

  it('fetches from a ROLIE feed only the entries updated since the last poll', async () => {
    const { prefix } = serveProvider();
    const entry = (doc: string, updated: string) => ({ id: doc, updated, content: { type: 'application/json', src: `${server.url}/file/${prefix}/${doc}` } });
    const rolie = (c1234: string) => JSON.stringify({ feed: { id: 'white', entry: [entry(C1234, c1234), entry(C1235, '2025-12-11T22:12:34Z')] } });
    server.serve(`${prefix}/rolie.json`, rolie('2025-12-11T22:12:34Z'), 'application/json');
    const poll = () => ingestFeedUrl(ctx, { kind: 'csaf', url: `${server.url}/file/${prefix}/rolie.json`, name: 'rolie', actor: 'scheduler' });
    expect((await documentRequests(prefix, poll)).filter((p) => p.endsWith('.json'))).toHaveLength(2);
    expect(await documentRequests(prefix, poll)).toEqual([]);
    server.serve(`${prefix}/rolie.json`, rolie('2026-03-01T00:00:00Z'), 'application/json');
    expect((await documentRequests(prefix, poll)).filter((p) => p.endsWith('.json'))).toEqual([`/file/${prefix}/${C1234}`]);
  });

  it('reads every document of a provider directory on disk again (a tampered local copy is caught), parsing only changed bytes', async () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'patchdeck-csaf-incr-'));
    try {
      const provider = path.join(scratch, 'provider');
      cpSync(SCHWARZ, provider, { recursive: true });
      const run = () => ingestFeedFile(ctx, { kind: 'csaf', path: provider, name: 'schwarz-disk', actor: 'alice' });
      expect(await run()).toMatchObject({ documents: 2, added: 2 });
      expect(await run()).toMatchObject({ documents: 2, skipped: 2, failed: 0 });
      // changes.csv still lists the old time, yet the damaged copy is checked and refused.
      writeFileSync(path.join(provider, C1235), '{');
      expect(await run()).toMatchObject({ documents: 2, skipped: 1, quarantined: 1 });
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
