import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/app/logger.js';
import { parseConfig } from '../../src/config/load.js';
import { fixedClock } from '../../src/core/clock.js';
import { countAdvisories, getFeedState } from '../../src/store/queries/advisories.js';
import { getEpss } from '../../src/store/queries/epss.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { ingestFeedFile, pollFeeds } from '../../src/workflow/feeds.js';
import { startFeedServer, type FeedServer } from '../helpers/feed-server.js';
import { describeEachStore } from '../helpers/stores.js';

const CSV = readFileSync(new URL('../fixtures/feeds/epss/epss_scores-2026-09-29-head.csv', import.meta.url));
const T0 = '2026-11-23T10:00:00.000Z';

let server: FeedServer;
beforeAll(async () => {
  server = await startFeedServer();
  server.serve('epss_scores-current.csv.gz', gzipSync(CSV), 'application/gzip');
});
afterAll(async () => {
  await server.close();
});

/** A small EPSS file for the given day. */
function epssFile(date: string, rows: string[]): string {
  return [`#model_version:v2026.06.15,score_date:${date}T00:00:00Z`, 'cve,epss,percentile', ...rows, ''].join('\n');
}

describeEachStore('EPSS ingest', (s) => {
  let ctx: WorkflowContext;
  let dir: string;
  beforeEach(() => {
    ctx = {
      store: s.store,
      clock: fixedClock(T0),
      logger: createSilentLogger(),
      config: parseConfig({
        fetch: { timeoutMs: 2000, allowHosts: ['127.0.0.1'] },
        feeds: [{ name: 'epss', kind: 'epss', url: `${server.url}/file/epss_scores-current.csv.gz` }],
      }),
    };
    dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-epss-'));
    return () => rmSync(dir, { recursive: true, force: true });
  });

  it('stores the scores of a gzip file fetched by a poll, not as advisories, and counts a re-run as unchanged', async () => {
    const first = await pollFeeds(ctx, { actor: 'scheduler' });
    expect(first.outcomes[0]!.result).toMatchObject({ kind: 'epss', documents: 1, added: 534, updated: 0, unchanged: 0, failed: 0 });
    expect(await countAdvisories(s.store.db)).toBe(0);
    const total = await s.store.db.selectFrom('epss_scores').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    expect(Number(total.n)).toBe(534);
    const scores = await getEpss(s.store.db, ['CVE-1999-0001', 'CVE-1999-0549', 'CVE-1999-0020', 'CVE-2099-0001']);
    expect([...scores.entries()]).toEqual([
      ['CVE-1999-0001', { epss: 0.03351, percentile: 0.88255, scoreDate: '2026-09-29' }],
      ['CVE-1999-0549', { epss: 0.0179, percentile: 0.77491, scoreDate: '2026-09-29' }],
    ]);
    const row = await s.store.db.selectFrom('epss_scores').select('model_version').where('cve', '=', 'CVE-1999-0001').executeTakeFirstOrThrow();
    expect(row.model_version).toBe('v2026.06.15');
    expect(await getFeedState(s.store.db, 'epss')).toMatchObject({ items: 534, consecutiveFailures: 0 });

    const again = await pollFeeds(ctx, { actor: 'scheduler' });
    expect(again.outcomes[0]!.result).toMatchObject({ added: 0, updated: 0, unchanged: 534 });
  });

  it('replaces scores with a newer day, never with an older one', async () => {
    const file = path.join(dir, 'epss.csv');
    writeFileSync(file, epssFile('2026-09-29', ['CVE-2024-0001,0.1,0.5', 'CVE-2024-0002,7e-05,0.01']));
    expect(await ingestFeedFile(ctx, { kind: 'epss', path: file, actor: 'alice' })).toMatchObject({ added: 2, updated: 0, unchanged: 0 });
    writeFileSync(file, epssFile('2026-09-30', ['CVE-2024-0001,0.25,0.75', 'CVE-2024-0002,7e-05,0.01', 'CVE-2024-0003,0.5,0.9']));
    expect(await ingestFeedFile(ctx, { kind: 'epss', path: file, actor: 'alice' })).toMatchObject({ added: 1, updated: 2, unchanged: 0 });
    writeFileSync(file, epssFile('2026-09-28', ['CVE-2024-0001,0.9,0.99']));
    expect(await ingestFeedFile(ctx, { kind: 'epss', path: file, actor: 'alice' })).toMatchObject({ added: 0, updated: 0, unchanged: 1 });
    const scores = await getEpss(s.store.db, ['CVE-2024-0001', 'CVE-2024-0002']);
    expect(scores.get('CVE-2024-0001')).toEqual({ epss: 0.25, percentile: 0.75, scoreDate: '2026-09-30' });
    expect(scores.get('CVE-2024-0002')).toEqual({ epss: 0.00007, percentile: 0.01, scoreDate: '2026-09-30' });
  });

  it('stores the good rows, reports the bad ones by line, and refuses an unreadable file without touching stored scores', async () => {
    const file = path.join(dir, 'epss.csv');
    writeFileSync(file, epssFile('2026-09-29', ['CVE-2024-0001,0.1,0.5', 'CVE-2024-0002,lots,0.5']));
    const result = await ingestFeedFile(ctx, { kind: 'epss', path: file, actor: 'alice' });
    expect(result).toMatchObject({ added: 1, failed: 1 });
    expect(result.errors).toEqual([{ location: `${file}:4`, scope: 'record', message: expect.stringContaining('epss: expected a number') }]);
    writeFileSync(file, 'not,an,epss\nfile,at,all\n');
    await expect(ingestFeedFile(ctx, { kind: 'epss', path: file, actor: 'alice' })).rejects.toMatchObject({ code: 'PD_FEED_PARSE', message: expect.stringContaining('has no score date') });
    expect((await getEpss(s.store.db, ['CVE-2024-0001'])).get('CVE-2024-0001')).toMatchObject({ epss: 0.1 });
  });
});
