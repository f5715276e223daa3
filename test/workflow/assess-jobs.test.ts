import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { scheduleEntries } from '../../src/app/scheduler.js';
import { drainJobs } from '../../src/app/worker.js';
import { parseConfig } from '../../src/config/load.js';
import type { HostInput } from '../../src/core/types.js';
import { listAudit } from '../../src/store/audit.js';
import { claimJob, completeJob, enqueueJob } from '../../src/store/jobs.js';
import { fromJson } from '../../src/store/json.js';
import { listCases } from '../../src/store/queries/cases.js';
import { ASSESS_DEFER_MS, ASSESS_SCOPE_LIMIT, createAssessJobHandlers, requestAssess } from '../../src/workflow/assess-jobs.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { ingestFeedFile } from '../../src/workflow/feeds.js';
import { importHosts, importInventory } from '../../src/workflow/inventory.js';
import { JOB_KINDS } from '../../src/workflow/jobs.js';
import { createTestContext, TEST_NOW } from '../helpers/context.js';
import { describeEachStore } from '../helpers/stores.js';

const INVENTORY = path.resolve(import.meta.dirname, '../fixtures/inventory');
const KEV_FIXTURE = path.resolve(import.meta.dirname, '../fixtures/feeds/kev/known_exploited_vulnerabilities.json');
const UBUNTU = 'Ubuntu:22.04:LTS';
const handlers = createAssessJobHandlers();

describeEachStore('assess jobs', (s) => {
  let ctx: WorkflowContext;
  let clock: ReturnType<typeof createTestContext>['clock'];
  let scratch: string;
  let osvDir: string;
  beforeEach(() => {
    ({ ctx, clock } = createTestContext(s.store, { policy: { alertThreshold: 'medium' } }));
    scratch = mkdtempSync(path.join(tmpdir(), 'patchdeck-assess-jobs-'));
    osvDir = path.join(scratch, 'osv');
    mkdirSync(osvDir);
    return () => rmSync(scratch, { recursive: true, force: true });
  });

  const jobs = async (state?: string) =>
    (await s.store.db.selectFrom('jobs').select(['id', 'kind', 'payload', 'state', 'run_at', 'last_error']).orderBy('id').execute())
      .filter((j) => state === undefined || j.state === state)
      .map((j) => ({ id: Number(j.id), kind: j.kind, payload: fromJson<Record<string, unknown>>(j.payload, {}), state: j.state, runAt: j.run_at, lastError: j.last_error }));
  const queuedAssess = async () => (await jobs('queued')).filter((j) => j.kind === JOB_KINDS.assess).map((j) => j.payload);
  const hostId = async (name: string) => Number((await s.store.db.selectFrom('hosts').select('id').where('name', '=', name).executeTakeFirstOrThrow()).id);
  const importFixtureHosts = () =>
    importInventory(ctx, { text: readFileSync(path.join(INVENTORY, 'hosts.json'), 'utf8'), format: 'json', source: 'file:hosts.json', actor: 'test' });
  const addOsv = (file: string) => copyFileSync(path.join(INVENTORY, 'osv', file), path.join(osvDir, file));
  const ingestOsv = () => ingestFeedFile(ctx, { kind: 'osv', path: osvDir, actor: 'test' });
  /** The fleet imported and assessed by its own job, so what follows starts from rest. */
  const settledFleet = async () => {
    await importFixtureHosts();
    await drainJobs(ctx, handlers);
    expect(await queuedAssess()).toEqual([]);
  };

  it('queues a job with exactly the new advisory; the worker opens its case and queues the alert', async () => {
    await settledFleet();
    addOsv('USN-6986-1.json');
    const result = await ingestOsv();
    expect(result).toMatchObject({ added: 1, updated: 0 });
    expect(await queuedAssess()).toEqual([{ advisoryIds: ['USN-6986-1'] }]);

    expect(await drainJobs(ctx, handlers)).toBe(1);
    const cases = await listCases(s.store.db);
    expect(cases.map((c) => [c.advisoryId, c.state])).toEqual([['USN-6986-1', 'awaiting_approval']]);
    expect((await jobs('queued')).map((j) => [j.kind, j.payload])).toEqual([[JOB_KINDS.chatPost, { caseId: cases[0]!.id, purpose: 'alert' }]]);
    const assessed = (await listAudit(s.store.db)).filter((e) => e.action === 'exposures.assessed').at(-1)!;
    expect(assessed).toMatchObject({ actor: 'patchdeck', subjectId: 'scope', after: { new: 1, scope: { advisoryIds: ['USN-6986-1'] } } });
  });

  it('queues nothing for an unchanged re-ingest, and only the changed record when one changes', async () => {
    addOsv('USN-6986-1.json');
    addOsv('USN-7270-1.json');
    await ingestOsv();
    expect(await queuedAssess()).toEqual([{ advisoryIds: ['USN-6986-1', 'USN-7270-1'] }]);
    await drainJobs(ctx, handlers);

    await ingestFeedFile(ctx, { kind: 'osv', path: osvDir, actor: 'test', full: true });
    expect(await queuedAssess()).toEqual([]);

    const file = path.join(osvDir, 'USN-7270-1.json');
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { summary: string };
    writeFileSync(file, JSON.stringify({ ...doc, summary: `${doc.summary} (revised)` }));
    expect(await ingestOsv()).toMatchObject({ added: 0, updated: 1 });
    expect(await queuedAssess()).toEqual([{ advisoryIds: ['USN-7270-1'] }]);
    await drainJobs(ctx, handlers);

    // A record withdrawn is left to its own job (withdrawals.ts), which closes what it raised.
    const usn = path.join(osvDir, 'USN-6986-1.json');
    writeFileSync(usn, JSON.stringify({ ...(JSON.parse(readFileSync(usn, 'utf8')) as object), withdrawn: '2026-11-23T08:00:00Z' }));
    expect(await ingestOsv()).toMatchObject({ updated: 1 });
    expect(await queuedAssess()).toEqual([]);
    expect((await jobs('queued')).map((j) => [j.kind, j.payload])).toEqual([[JOB_KINDS.advisoryWithdrawn, { advisoryId: 'USN-6986-1' }]]);
  });

  it('queues new hosts and hosts whose packages or assessed attributes changed, nothing for an unchanged import', async () => {
    await importFixtureHosts();
    const all = await Promise.all(['web-01', 'db-01.example.internal', 'ws-01', 'legacy-01'].map(hostId));
    expect(await queuedAssess()).toEqual([{ hostIds: [...all].sort((a, b) => a - b) }]);
    await drainJobs(ctx, handlers);

    await importFixtureHosts();
    expect(await queuedAssess()).toEqual([]);

    const web01: HostInput = {
      name: 'web-01',
      os: UBUNTU,
      role: 'server',
      criticality: 'high',
      usage: 0.9,
      owner: 'web-team',
      groups: ['web', 'pilot'],
      packages: [{ ecosystem: UBUNTU, name: 'libssl3', version: '3.0.2-0ubuntu1.18' }],
    };
    await importHosts(ctx, { hosts: [web01], source: 'test', actor: 'test' });
    expect(await queuedAssess()).toEqual([{ hostIds: [await hostId('web-01')] }]);
    await drainJobs(ctx, handlers);

    // The same again with groups in another order: nothing assessment reads has changed.
    await importHosts(ctx, { hosts: [{ ...web01, groups: ['pilot', 'web'], usage: 0.5 }], source: 'test', actor: 'test' });
    expect(await queuedAssess()).toEqual([]);
    // Criticality is read by classification.
    await importHosts(ctx, { hosts: [{ ...web01, criticality: 'critical' }], source: 'test', actor: 'test' });
    expect(await queuedAssess()).toEqual([{ hostIds: [await hostId('web-01')] }]);
    await drainJobs(ctx, handlers);

    // A partial source (a scan) keeps stored attributes and replaces only the ecosystems it reports.
    const scope = { keep: ['role', 'criticality', 'usage', 'owner', 'groups'] as const, replace: 'reported-ecosystems' as const };
    const scanned = { ...web01, criticality: 'low' as const, groups: [], packages: [{ ecosystem: UBUNTU, name: 'libssl3', version: '3.0.2-0ubuntu1.18' }] };
    await importHosts(ctx, { hosts: [scanned], source: 'ssh-scan:test', actor: 'test', scan: true, scope: { ...scope, keep: [...scope.keep] } });
    expect(await queuedAssess()).toEqual([]);
    await importHosts(ctx, { hosts: [{ ...scanned, packages: [{ ecosystem: 'npm', name: 'lodash', version: '4.17.20' }] }], source: 'ssh-scan:test', actor: 'test', scan: true, scope: { ...scope, keep: [...scope.keep] } });
    expect(await queuedAssess()).toEqual([{ hostIds: [await hostId('web-01')] }]);
  });

  it('merges requests into the job not yet claimed; ids arriving while a job runs go to a new one', async () => {
    const ask = (request: Parameters<typeof requestAssess>[2]) => s.store.transaction((trx) => requestAssess(trx, ctx, request));
    expect(await ask({ advisoryIds: [], hostIds: [] })).toBe('none');
    expect(await ask({ advisoryIds: ['B', 'A'] })).toBe('queued');
    expect(await ask({ advisoryIds: ['C', 'A'], hostIds: [3] })).toBe('merged');
    expect(await queuedAssess()).toEqual([{ advisoryIds: ['A', 'B', 'C'], hostIds: [3] }]);

    const claimed = await claimJob(s.store, { owner: 'w1', now: clock.now(), leaseMs: 60_000 });
    expect(claimed).toMatchObject({ kind: JOB_KINDS.assess, payload: { advisoryIds: ['A', 'B', 'C'], hostIds: [3] } });
    expect(await ask({ advisoryIds: ['D'] })).toBe('queued');
    expect(await ask({ hostIds: [4] })).toBe('merged');
    expect(await queuedAssess()).toEqual([{ advisoryIds: ['D'], hostIds: [4] }]);
    // A full request subsumes the scoped ones.
    expect(await ask({ full: true })).toBe('merged');
    expect(await ask({ advisoryIds: ['E'] })).toBe('merged');
    expect(await queuedAssess()).toEqual([{ full: true }]);
    expect((await jobs()).filter((j) => j.kind === JOB_KINDS.assess)).toHaveLength(2);
  });

  it('loses no id when producers merge at the same time', async () => {
    await s.store.transaction((trx) => requestAssess(trx, ctx, { advisoryIds: ['A-0'] }));
    // Concurrent transactions: on PostgreSQL each waits for the pending job's row lock and merges into what the last one wrote.
    const ids = Array.from({ length: 8 }, (_, i) => `A-${i + 1}`);
    await Promise.all(ids.map((id) => s.store.transaction((trx) => requestAssess(trx, ctx, { advisoryIds: [id] }))));
    expect(await queuedAssess()).toEqual([{ advisoryIds: ['A-0', ...ids].sort() }]);
  });

  it('runs a full assessment for { full: true }', async () => {
    await importFixtureHosts();
    addOsv('USN-6986-1.json');
    addOsv('USN-7270-1.json');
    await ingestOsv();
    await s.store.db.deleteFrom('jobs').execute();
    await s.store.transaction((trx) => requestAssess(trx, ctx, { full: true }));
    expect(await drainJobs(ctx, handlers)).toBe(1);
    expect((await listCases(s.store.db)).map((c) => c.advisoryId).sort()).toEqual(['USN-6986-1', 'USN-7270-1']);
    const assessed = (await listAudit(s.store.db)).filter((e) => e.action === 'exposures.assessed');
    expect(assessed.map((e) => [e.actor, e.subjectId])).toEqual([['patchdeck', 'all']]);
  });

  it('turns a scope grown past the limit into a full assessment', async () => {
    const ids = Array.from({ length: ASSESS_SCOPE_LIMIT }, (_, i) => `ADV-${String(i).padStart(5, '0')}`);
    await s.store.transaction((trx) => requestAssess(trx, ctx, { advisoryIds: ids }));
    expect((await queuedAssess())[0]!.advisoryIds).toHaveLength(ASSESS_SCOPE_LIMIT);
    await s.store.transaction((trx) => requestAssess(trx, ctx, { advisoryIds: ['ONE-MORE'] }));
    expect(await queuedAssess()).toEqual([{ full: true }]);
  });

  it('hands a job on while another assessment runs, so two never run at once', async () => {
    await settledFleet();
    addOsv('USN-6986-1.json');
    await ingestOsv();
    const first = await claimJob(s.store, { owner: 'w1', now: clock.now(), leaseMs: 60_000 });
    expect(first?.kind).toBe(JOB_KINDS.assess);
    addOsv('USN-7270-1.json');
    await ingestOsv();
    // Another worker takes the second job while the first still holds its lease.
    const second = await claimJob(s.store, { owner: 'w2', now: clock.now(), leaseMs: 60_000 });
    expect(second?.payload).toEqual({ advisoryIds: ['USN-7270-1'] });
    await handlers[JOB_KINDS.assess]!(ctx, second!);
    expect(await listCases(s.store.db)).toEqual([]);
    const pending = (await jobs('queued')).filter((j) => j.kind === JOB_KINDS.assess);
    expect(pending.map((j) => [j.payload, j.runAt])).toEqual([[{ advisoryIds: ['USN-7270-1'] }, new Date(Date.parse(TEST_NOW) + ASSESS_DEFER_MS).toISOString()]]);

    expect(await completeJob(s.store.db, second!, clock.now())).toBe(true);

    // The first one runs; afterwards the handed-on scope runs alone.
    await handlers[JOB_KINDS.assess]!(ctx, first!);
    expect((await listCases(s.store.db)).map((c) => c.advisoryId)).toEqual(['USN-6986-1']);
    expect(await completeJob(s.store.db, first!, clock.now())).toBe(true);
    expect(await drainJobs(ctx, handlers)).toBe(0);
    clock.advance(ASSESS_DEFER_MS);
    expect(await drainJobs(ctx, handlers)).toBe(1);
    expect((await listCases(s.store.db)).map((c) => c.advisoryId).sort()).toEqual(['USN-6986-1', 'USN-7270-1']);
  });

  it('re-classifies advisories with exposures on the CVEs of a KEV entry or an EPSS score that changed', async () => {
    await settledFleet();
    addOsv('USN-6986-1.json');
    await ingestOsv();
    await drainJobs(ctx, handlers);
    expect(await queuedAssess()).toEqual([]);

    const catalog = JSON.parse(readFileSync(KEV_FIXTURE, 'utf8')) as { vulnerabilities: Record<string, unknown>[] };
    const entry = (cve: string) => ({ ...catalog.vulnerabilities[0]!, cveID: cve });
    const kevFile = path.join(scratch, 'kev.json');
    // CVE-2024-6119 is USN-6986-1's; CVE-2099-0001 names nothing held.
    writeFileSync(kevFile, JSON.stringify({ ...catalog, count: 2, vulnerabilities: [entry('CVE-2024-6119'), entry('CVE-2099-0001')] }));
    await ingestFeedFile(ctx, { kind: 'kev', path: kevFile, actor: 'test' });
    expect(await queuedAssess()).toEqual([{ advisoryIds: ['KEV-CVE-2024-6119', 'KEV-CVE-2099-0001', 'USN-6986-1'].sort() }]);
    await drainJobs(ctx, handlers);
    const [exposure] = await s.store.db.selectFrom('exposures').select('reasons').where('advisory_id', '=', 'USN-6986-1').execute();
    expect(exposure!.reasons).toMatch(/KEV/);

    const epssFile = path.join(scratch, 'epss.csv');
    const epss = (rows: string) => writeFileSync(epssFile, `#model_version:v2026.06.15,score_date:2026-11-20T12:00:00Z\ncve,epss,percentile\n${rows}\n`);
    epss('CVE-2024-6119,0.41000,0.97000\nCVE-2099-0002,0.01000,0.10000');
    await ingestFeedFile(ctx, { kind: 'epss', path: epssFile, actor: 'test' });
    expect(await queuedAssess()).toEqual([{ advisoryIds: ['USN-6986-1'] }]);
    await drainJobs(ctx, handlers);
    // The same scores again, read in full: nothing moved.
    await ingestFeedFile(ctx, { kind: 'epss', path: epssFile, actor: 'test', full: true });
    expect(await queuedAssess()).toEqual([]);
  });

  it('fails a job with a bad payload, saying what is wrong', async () => {
    const now = clock.now();
    await s.store.transaction((trx) => enqueueJob(trx, { kind: JOB_KINDS.assess, payload: { advisoryIds: 'USN-1' }, runAt: now, maxAttempts: 1 }, now));
    await s.store.transaction((trx) => enqueueJob(trx, { kind: JOB_KINDS.assess, payload: {}, runAt: now, maxAttempts: 1 }, now));
    expect(await drainJobs(ctx, handlers)).toBe(2);
    expect((await jobs()).map((j) => [j.state, j.lastError])).toEqual([
      ['failed', expect.stringMatching(/^assess job \d+: payload field "advisoryIds": .*expected \{ advisoryIds\?: string\[\], hostIds\?: number\[\], full\?: boolean \}$/)],
      ['failed', expect.stringMatching(/^assess job \d+: payload: needs full: true, advisoryIds or hostIds/)],
    ]);
  });
});

it('schedules a daily full assessment, at a configurable time', () => {
  const entry = (raw: Record<string, unknown>) => scheduleEntries(parseConfig(raw)).find((e) => e.name === 'assess.full');
  expect(entry({})).toEqual({ name: 'assess.full', cron: '43 3 * * *', job: { kind: JOB_KINDS.assess, payload: { full: true } } });
  expect(entry({ assess: { fullSchedule: '5 1 * * *' } })?.cron).toBe('5 1 * * *');
  expect(() => entry({ assess: { fullSchedule: 'daily' } })).toThrow(/assess\.fullSchedule/);
});
