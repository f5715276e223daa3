import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/app/logger.js';
import { parseConfig } from '../../src/config/load.js';
import { fixedClock } from '../../src/core/clock.js';
import { getFeedState } from '../../src/store/queries/advisories.js';
import { loadFeedDocuments } from '../../src/store/queries/feed-documents.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { ingestFeedFile, ingestFeedUrl } from '../../src/workflow/feeds.js';
import { startFeedServer, type FeedServer } from '../helpers/feed-server.js';
import { describeEachStore } from '../helpers/stores.js';
import { makeZip } from '../helpers/zip.js';

const FIXTURES = new URL('../fixtures/feeds/', import.meta.url).pathname;
const KEV = `${FIXTURES}kev/known_exploited_vulnerabilities.json`;
const T0 = '2026-11-23T10:00:00.000Z';

let server: FeedServer;
beforeAll(async () => {
  server = await startFeedServer();
});
afterAll(async () => {
  await server.close();
});

describeEachStore('feed runs skip documents whose bytes are unchanged', (s) => {
  let ctx: WorkflowContext;
  let scratch: string;
  let osvDir: string;
  /** OSV fixture documents (one record each); other work adds fixtures, so they are counted. */
  let n: number;
  beforeEach(() => {
    ctx = {
      store: s.store,
      clock: fixedClock(T0),
      logger: createSilentLogger(),
      config: parseConfig({ fetch: { maxBytes: 2 * 1024 * 1024, timeoutMs: 2000, maxRedirects: 2, allowHosts: ['127.0.0.1'] } }),
    };
    scratch = mkdtempSync(path.join(tmpdir(), 'patchdeck-feed-docs-'));
    osvDir = path.join(scratch, 'osv');
    cpSync(`${FIXTURES}osv`, osvDir, { recursive: true });
    n = readdirSync(osvDir, { recursive: true }).filter((f) => String(f).endsWith('.json')).length;
    return () => rmSync(scratch, { recursive: true, force: true });
  });

  const summaryOf = async (id: string) => (await s.store.db.selectFrom('advisories').select('summary').where('id', '=', id).executeTakeFirstOrThrow()).summary;

  it('parses nothing on an unchanged re-run, yet counts every record as unchanged', async () => {
    const first = await ingestFeedFile(ctx, { kind: 'osv', path: osvDir, actor: 'alice' });
    expect(first).toMatchObject({ documents: n, added: n, skipped: 0 });
    const documents = await loadFeedDocuments(s.store.db, 'osv');
    expect(documents.size).toBe(n);
    const usn = documents.get(path.join(osvDir, 'ubuntu/USN-6242-1.json'));
    expect(usn).toMatchObject({ kind: 'osv', records: 1, stamp: null, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });

    const again = await ingestFeedFile(ctx, { kind: 'osv', path: osvDir, actor: 'alice' });
    expect(again).toMatchObject({ documents: n, added: 0, updated: 0, unchanged: n, skipped: n, failed: 0 });
    expect((await getFeedState(s.store.db, 'osv'))?.items).toBe(n);
  });

  it('re-parses a document whose bytes changed and stores its new content', async () => {
    await ingestFeedFile(ctx, { kind: 'osv', path: osvDir, actor: 'alice' });
    const file = path.join(osvDir, 'ubuntu/USN-6242-1.json');
    const record = JSON.parse(readFileSync(file, 'utf8')) as { details: string };
    record.details = 'Rewritten by the vendor.';
    writeFileSync(file, JSON.stringify(record));

    const result = await ingestFeedFile(ctx, { kind: 'osv', path: osvDir, actor: 'alice' });
    expect(result).toMatchObject({ documents: n, added: 0, updated: 1, unchanged: n - 1, skipped: n - 1 });
    expect(await summaryOf('USN-6242-1')).toBe('Rewritten by the vendor.');
    // The new bytes are remembered: the next run skips it again.
    expect(await ingestFeedFile(ctx, { kind: 'osv', path: osvDir, actor: 'alice' })).toMatchObject({ skipped: n, updated: 0 });
  });

  it('reads a document afresh when the feed of that name is now of another kind', async () => {
    await ingestFeedFile(ctx, { kind: 'kev', path: KEV, name: 'vendor', actor: 'alice' });
    // Same name and file, another kind: the stored hash must not hide the file from the new parser.
    await expect(ingestFeedFile(ctx, { kind: 'osv', path: KEV, name: 'vendor', actor: 'alice' })).rejects.toMatchObject({ code: 'PD_FEED_PARSE' });
    expect((await loadFeedDocuments(s.store.db, 'vendor')).get(KEV)?.kind).toBe('kev');
  });

  it('reads a document afresh when it was remembered from another parser version', async () => {
    await ingestFeedFile(ctx, { kind: 'osv', path: osvDir, actor: 'alice' });
    const file = path.join(osvDir, 'ubuntu/USN-6242-1.json');
    // As if an older Patchdeck, whose OSV parser was at another version, had stored it.
    await s.store.db.updateTable('feed_documents').set({ kind: 'osv@0' }).where('feed', '=', 'osv').where('location', '=', file).execute();
    expect(await ingestFeedFile(ctx, { kind: 'osv', path: osvDir, actor: 'alice' })).toMatchObject({ skipped: n - 1, unchanged: n });
    expect((await loadFeedDocuments(s.store.db, 'osv')).get(file)?.kind).toBe('osv');
  });

  it('forgets a document removed from the directory, keeps its advisory, and reads it in full when it comes back', async () => {
    await ingestFeedFile(ctx, { kind: 'osv', path: osvDir, actor: 'alice' });
    const file = path.join(osvDir, 'ubuntu/USN-6242-1.json');
    const bytes = readFileSync(file);
    rmSync(file);

    const without = await ingestFeedFile(ctx, { kind: 'osv', path: osvDir, actor: 'alice' });
    expect(without).toMatchObject({ documents: n - 1, skipped: n - 1, added: 0, updated: 0 });
    expect((await loadFeedDocuments(s.store.db, 'osv')).has(file)).toBe(false);
    expect(await summaryOf('USN-6242-1')).toContain('OpenSSH');

    writeFileSync(file, bytes);
    const back = await ingestFeedFile(ctx, { kind: 'osv', path: osvDir, actor: 'alice' });
    expect(back).toMatchObject({ documents: n, skipped: n - 1, unchanged: n, added: 0 });
  });

  it('does not remember a document with a bad record, so its error is reported on every run', async () => {
    const file = path.join(scratch, 'mixed.json');
    const good = JSON.parse(readFileSync(`${FIXTURES}osv/ubuntu/USN-6242-1.json`, 'utf8')) as unknown;
    writeFileSync(file, JSON.stringify([good, { id: 'BAD-1', affected: 'not a list' }]));
    for (let run = 0; run < 2; run++) {
      const result = await ingestFeedFile(ctx, { kind: 'osv', path: file, name: 'mixed', actor: 'alice' });
      expect(result).toMatchObject({ documents: 1, skipped: 0, failed: 1 });
      expect(result.errors[0]?.location).toContain('BAD-1');
    }
    expect((await loadFeedDocuments(s.store.db, 'mixed')).size).toBe(0);
  });

  it('treats an OSV zip export as one document: read whole when its bytes change, skipped when not', async () => {
    const ubuntu = path.join(osvDir, 'ubuntu');
    const entries = readdirSync(ubuntu).sort().map((name) => ({ name, body: readFileSync(path.join(ubuntu, name)) }));
    const exportDir = path.join(scratch, 'export');
    mkdirSync(exportDir);
    writeFileSync(path.join(exportDir, 'all.zip'), makeZip(entries));
    const run = () => ingestFeedFile(ctx, { kind: 'osv', path: exportDir, name: 'osv-zip', actor: 'alice' });
    expect(await run()).toMatchObject({ documents: 1, added: entries.length, skipped: 0 });
    expect(await run()).toMatchObject({ documents: 1, skipped: 1, unchanged: entries.length });
    writeFileSync(path.join(exportDir, 'all.zip'), makeZip(entries.slice(1)));
    // One record fewer: the rest is read again and found unchanged; the one gone stays stored, as before.
    expect(await run()).toMatchObject({ documents: 1, skipped: 0, unchanged: entries.length - 1, added: 0 });
  });

  it('parses every document again when a full run is asked for', async () => {
    await ingestFeedFile(ctx, { kind: 'osv', path: osvDir, actor: 'alice' });
    const full = await ingestFeedFile(ctx, { kind: 'osv', path: osvDir, actor: 'alice', full: true });
    expect(full).toMatchObject({ documents: n, skipped: 0, unchanged: n, added: 0 });
  });

  it('skips a URL document fetched again with the same bytes (no validators from the server)', async () => {
    server.serve('kev.json', readFileSync(KEV), 'application/json');
    const url = `${server.url}/file/kev.json`;
    expect(await ingestFeedUrl(ctx, { kind: 'kev', url, actor: 'alice' })).toMatchObject({ added: 1404, skipped: 0 });
    expect(await ingestFeedUrl(ctx, { kind: 'kev', url, actor: 'alice' })).toMatchObject({ documents: 1, skipped: 1, unchanged: 1404, added: 0 });
  });
});
