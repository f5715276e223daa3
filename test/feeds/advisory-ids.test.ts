import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/app/logger.js';
import { parseConfig } from '../../src/config/load.js';
import { fixedClock } from '../../src/core/clock.js';
import { replacementRefusal } from '../../src/core/cve-merge.js';
import { listAudit } from '../../src/store/audit.js';
import { fromJson } from '../../src/store/json.js';
import { getFeedState } from '../../src/store/queries/advisories.js';
import { assessAll } from '../../src/workflow/assess.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { ingestFeedFile, ingestFeedUrl } from '../../src/workflow/feeds.js';
import { importHosts } from '../../src/workflow/inventory.js';
import { startFeedServer, type FeedServer } from '../helpers/feed-server.js';
import { describeEachStore } from '../helpers/stores.js';

// The same Red Hat document twice, as each source publishes it: Red Hat's CSAF 2.0 file and the OSV
// record Red Hat's converter makes from it (see test/fixtures/feeds/README.md).
const FIXTURES = new URL('../fixtures/feeds/', import.meta.url).pathname;
const CSAF = `${FIXTURES}csaf/redhat/rhsa-2024_4546.json`;
const OSV = `${FIXTURES}osv-rpm/redhat/RHSA-2024_4546.json`;
const GHSA = `${FIXTURES}osv/ghsa/GHSA-9wv6-86v2-598j.json`;
const ID = 'RHSA-2024:4546';
const NOW = '2026-11-23T10:00:00.000Z';
const ECOSYSTEM = 'Red Hat:rhel_aus:8.6::appstream';

let server: FeedServer;
beforeAll(async () => {
  server = await startFeedServer();
  server.serve('redhat/rhsa-2024_4546.json', readFileSync(CSAF), 'application/json');
  // A ROLIE feed fetched without provider keys: its documents are unverified hints.
  const rolie = { feed: { id: 'mirror', entry: [{ id: ID, content: { type: 'application/json', src: `${server.url}/file/redhat/rhsa-2024_4546.json` } }] } };
  server.serve('redhat/rolie.json', JSON.stringify(rolie), 'application/json');
});
afterAll(async () => {
  await server.close();
});

describeEachStore('one advisory per id: a less authoritative source never overwrites a record', (s) => {
  let ctx: WorkflowContext;
  let scratch: string;
  beforeEach(() => {
    ctx = {
      store: s.store,
      clock: fixedClock(NOW),
      logger: createSilentLogger(),
      config: parseConfig({ fetch: { maxBytes: 4 * 1024 * 1024, timeoutMs: 5000, maxRedirects: 2, allowHosts: ['127.0.0.1'] } }),
    };
    scratch = mkdtempSync(path.join(tmpdir(), 'patchdeck-advisory-ids-'));
    return () => rmSync(scratch, { recursive: true, force: true });
  });

  const row = (id: string) => s.store.db.selectFrom('advisories').select(['source', 'trust', 'affected']).where('id', '=', id).executeTakeFirstOrThrow();
  const openExposures = async (id: string) =>
    (await s.store.db.selectFrom('exposures').select('status').where('advisory_id', '=', id).execute()).filter((e) => e.status === 'open').length;

  it('keeps the vendor CSAF record when Red Hat OSV brings the same id: the OSV copy is superseded, not an error on its feed', async () => {
    expect(await ingestFeedFile(ctx, { kind: 'csaf', path: CSAF, name: 'redhat-csaf', actor: 'alice' })).toMatchObject({ added: 1, failed: 0, superseded: 0 });
    const result = await ingestFeedFile(ctx, { kind: 'osv', path: OSV, name: 'redhat-osv', actor: 'alice' });
    expect(result).toMatchObject({ added: 0, updated: 0, unchanged: 0, superseded: 1, failed: 0, errors: [] });
    expect(await row(ID)).toMatchObject({ source: 'csaf', trust: 'authoritative' });
    const state = await getFeedState(s.store.db, 'redhat-osv');
    expect(state).toMatchObject({ consecutiveFailures: 0, lastError: null });
    const audit = (await listAudit(s.store.db, { subjectType: 'feed', subjectId: 'redhat-osv' })).find((e) => e.action === 'feed.ingested');
    expect(audit?.after).toMatchObject({ superseded: 1, failed: 0 });
    // Remembered as read: the same bytes are not parsed again, and the record counts as unchanged.
    const again = await ingestFeedFile(ctx, { kind: 'osv', path: OSV, name: 'redhat-osv', actor: 'alice' });
    expect(again).toMatchObject({ skipped: 1, unchanged: 1, superseded: 0, failed: 0 });
    expect(await row(ID)).toMatchObject({ source: 'csaf' });
    // Read in full, it is superseded again.
    expect(await ingestFeedFile(ctx, { kind: 'osv', path: OSV, name: 'redhat-osv', actor: 'alice', full: true })).toMatchObject({ skipped: 0, superseded: 1, failed: 0 });
  });

  it('lets the vendor CSAF record take over an id first stored from OSV', async () => {
    await ingestFeedFile(ctx, { kind: 'osv', path: OSV, name: 'redhat-osv', actor: 'alice' });
    expect(await row(ID)).toMatchObject({ source: 'osv' });
    const result = await ingestFeedFile(ctx, { kind: 'csaf', path: CSAF, name: 'redhat-csaf', actor: 'alice' });
    expect(result).toMatchObject({ updated: 1, failed: 0 });
    expect(await row(ID)).toMatchObject({ source: 'csaf', trust: 'authoritative' });
  });

  it('refuses an unsigned CSAF hint over the authoritative OSV record: its packages and open exposures stay', async () => {
    await importHosts(ctx, {
      hosts: [{ name: 'rhel-01', os: 'RHEL 8.6', role: 'server', criticality: 'high', usage: 1, owner: '', groups: [], packages: [{ ecosystem: ECOSYSTEM, name: 'git-lfs', version: '2.13.3-3.el8_6' }] }],
      source: 'test',
      actor: 'test',
    });
    await ingestFeedFile(ctx, { kind: 'osv', path: OSV, name: 'redhat-osv', actor: 'alice' });
    await assessAll(ctx, { actor: 'scheduler' });
    expect(await openExposures(ID)).toBe(1);
    const before = await row(ID);

    const hint = await ingestFeedUrl(ctx, { kind: 'csaf', url: `${server.url}/file/redhat/rolie.json`, name: 'mirror', actor: 'alice' });
    // Not a copy to skip quietly: an unsigned hint over vendor data is how a forged bulletin looks.
    expect(hint).toMatchObject({ added: 0, updated: 0, superseded: 0, failed: 1 });
    expect(hint.errors[0]!.message).toBe(
      `${ID} is already stored from a more authoritative osv record (OSV record); this csaf record (unverified hint) was not stored, so it cannot replace that record or its exposures`,
    );
    expect(await row(ID)).toEqual(before);
    expect(fromJson<{ ecosystem: string }[]>(before.affected, []).every((a) => a.ecosystem.startsWith('Red Hat:'))).toBe(true);
    await assessAll(ctx, { actor: 'scheduler' });
    expect(await openExposures(ID)).toBe(1);
  });

  it('lets a signed or on-disk CSAF document replace the unsigned copy of itself, never the other way round', async () => {
    await ingestFeedUrl(ctx, { kind: 'csaf', url: `${server.url}/file/redhat/rolie.json`, name: 'mirror', actor: 'alice' });
    expect(await row(ID)).toMatchObject({ source: 'csaf', trust: 'hint' });
    expect(await ingestFeedFile(ctx, { kind: 'csaf', path: CSAF, name: 'redhat-csaf', actor: 'alice' })).toMatchObject({ updated: 1, failed: 0 });
    expect(await row(ID)).toMatchObject({ trust: 'authoritative' });
    const again = await ingestFeedUrl(ctx, { kind: 'csaf', url: `${server.url}/file/redhat/rolie.json`, name: 'mirror', actor: 'alice', full: true });
    expect(again).toMatchObject({ updated: 0, superseded: 0, failed: 1 });
    expect(await row(ID)).toMatchObject({ trust: 'authoritative' });
    // Refused, so not remembered: the next run reports it again.
    const third = await ingestFeedUrl(ctx, { kind: 'csaf', url: `${server.url}/file/redhat/rolie.json`, name: 'mirror', actor: 'alice' });
    expect(third).toMatchObject({ skipped: 0, failed: 1 });
  });

  it('records an unknown ecosystem on the feed; the feed keeps its earlier data and the other records are stored', async () => {
    const dir = path.join(scratch, 'osv');
    const frob = {
      id: 'FROB-2026-1',
      aliases: ['CVE-2026-0001'],
      affected: [{ package: { ecosystem: 'Frobnix:7', name: 'frob' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.2' }] }] }],
    };
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'GHSA.json'), readFileSync(GHSA));
    expect(await ingestFeedFile(ctx, { kind: 'osv', path: dir, name: 'mixed', actor: 'alice' })).toMatchObject({ added: 1, failed: 0 });
    writeFileSync(path.join(dir, 'FROB-2026-1.json'), JSON.stringify(frob));
    writeFileSync(path.join(dir, 'RHSA.json'), readFileSync(OSV));
    const result = await ingestFeedFile(ctx, { kind: 'osv', path: dir, name: 'mixed', actor: 'alice' });
    expect(result).toMatchObject({ added: 1, superseded: 0, failed: 1 });
    expect(result.errors).toEqual([
      { location: `${path.join(dir, 'FROB-2026-1.json')} (FROB-2026-1)`, scope: 'record', message: 'unknown ecosystem Frobnix:7: Patchdeck cannot order its versions; record skipped' },
    ]);
    expect(await s.store.db.selectFrom('advisories').select('id').where('id', '=', 'FROB-2026-1').executeTakeFirst()).toBeUndefined();
    expect(await s.store.db.selectFrom('advisories').select('id').where('id', '=', 'GHSA-9wv6-86v2-598j').executeTakeFirst()).toBeDefined();
    expect((await getFeedState(s.store.db, 'mixed'))!.lastError).toContain('unknown ecosystem Frobnix:7');
  });
});

describe('replacementRefusal', () => {
  const record = (source: string, trust: 'authoritative' | 'hint' = 'authoritative') => ({ source, trust });
  it('lets a record replace its own source and any less authoritative one', () => {
    expect(replacementRefusal('X', record('osv'), record('osv'))).toBeNull();
    expect(replacementRefusal('X', record('osv'), record('csaf'))).toBeNull();
    expect(replacementRefusal('X', record('osv'), record('distro'))).toBeNull();
    expect(replacementRefusal('X', record('csaf', 'hint'), record('csaf'))).toBeNull();
  });
  it('supersedes a less authoritative signed or curated record', () => {
    expect(replacementRefusal('X', record('distro'), record('osv'))).toEqual({
      outcome: 'superseded',
      message: expect.stringMatching(/^X is already stored from a more authoritative distro record/),
    });
    expect(replacementRefusal('X', record('csaf'), record('osv'))?.outcome).toBe('superseded');
    expect(replacementRefusal('X', record('osv'), record('kev'))?.outcome).toBe('superseded');
  });
  it('refuses an unsigned hint over any authoritative record, and another source of the same authority', () => {
    expect(replacementRefusal('X', record('csaf'), record('csaf', 'hint'))).toEqual({
      outcome: 'refused',
      message: expect.stringMatching(/more authoritative csaf record \(vendor advisory\); this csaf record \(unverified hint\)/),
    });
    expect(replacementRefusal('X', record('osv'), record('csaf', 'hint'))?.outcome).toBe('refused');
    expect(replacementRefusal('X', record('kev'), record('rss', 'hint'))?.outcome).toBe('refused');
    expect(replacementRefusal('X', record('csaf'), record('msrc'))).toEqual({
      outcome: 'refused',
      message: expect.stringMatching(/^X is already stored from a csaf record \(vendor advisory\) of the same authority; this msrc record/),
    });
    expect(replacementRefusal('X', record('csaf', 'hint'), record('rss', 'hint'))?.outcome).toBe('refused');
  });
});
