import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/store/audit.js';
import { toJson } from '../../src/store/json.js';
import { listArtifacts } from '../../src/store/queries/artifacts.js';
import { artifactPath, collectArtifactCandidates, expandTemplate, fetchCaseArtifacts, verifyArtifacts } from '../../src/workflow/artifacts.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { insertFixtureCase } from '../helpers/case-fixtures.js';
import { createTestContext } from '../helpers/context.js';
import { startFeedServer, type FeedServer } from '../helpers/feed-server.js';
import { describeEachStore } from '../helpers/stores.js';

const sha256 = (body: Buffer | string) => createHash('sha256').update(body).digest('hex');
const DEB = Buffer.from('!<arch>\ndebian-binary   libssl3 3.0.2-0ubuntu1.18 payload\n');
const DEB_NAME = 'pool/libssl3_3.0.2-0ubuntu1.18_amd64.deb';
const MSU = Buffer.alloc(70_000, 7);

let server: FeedServer;
beforeAll(async () => {
  server = await startFeedServer();
});
afterAll(async () => {
  await server.close();
});

describe('expandTemplate', () => {
  it('drops the epoch for {version}, keeps it in {evr}, and URL-encodes every value', () => {
    const fixed = { ecosystem: 'Ubuntu:22.04:LTS', package: 'openssh-server', version: '1:8.9p1-3ubuntu0.3' };
    expect(expandTemplate('http://m/pool/{name}_{version}_amd64.deb?e={evr}&x={ecosystem}', fixed)).toBe(
      'http://m/pool/openssh-server_8.9p1-3ubuntu0.3_amd64.deb?e=1%3A8.9p1-3ubuntu0.3&x=Ubuntu%3A22.04%3ALTS',
    );
    expect(expandTemplate('http://m/{name}', { ...fixed, package: '../../etc/passwd?x' })).toBe('http://m/..%2F..%2Fetc%2Fpasswd%3Fx');
  });
});

describe('collectArtifactCandidates', () => {
  it('finds remediations in any JSON column (CSAF and MSRC facts in vendor_details) and maps fixed packages to the first matching source', () => {
    const subject = {
      caseId: 1,
      advisoryId: 'RHSA-2025:0002',
      advisory: {
        id: 'RHSA-2025:0002',
        summary: '{ not json',
        affected: '[]',
        vendor_details: JSON.stringify({
          remediations: [
            { category: 'vendor_fix', details: 'KB', url: 'https://catalog.example/download/windows10.0-kb5032189-x64.msu', productIds: ['11568'] },
            { category: 'vendor_fix', details: 'errata', url: 'https://access.redhat.com/errata/RHSA-2025:0002', productIds: [] },
            { category: 'workaround', details: 'none', url: null, productIds: [] },
          ],
        }),
      },
      fixedPackages: [
        { ecosystem: 'AlmaLinux:9', package: 'python36', version: '3:3.6.8-38.module_el8.4.0' },
        { ecosystem: 'npm', package: 'lodash', version: '4.17.21' },
      ],
    };
    const sources = [
      { ecosystem: 'Debian:*', url: 'http://deb.internal/{name}_{version}.deb' },
      { ecosystem: 'AlmaLinux:*', packages: ['python36'], url: 'http://rpm.internal/{name}-{version}.rpm', checksumUrl: 'http://rpm.internal/{name}-{version}.rpm.sha256' },
      { ecosystem: 'AlmaLinux:9', url: 'http://second.internal/{name}.rpm' },
    ];
    const { candidates, skipped } = collectArtifactCandidates(subject, sources);
    expect(candidates.map((c) => [c.origin, c.url, c.checksumUrl])).toEqual([
      ['csaf', 'https://catalog.example/download/windows10.0-kb5032189-x64.msu', null],
      ['source', 'http://rpm.internal/python36-3.6.8-38.module_el8.4.0.rpm', 'http://rpm.internal/python36-3.6.8-38.module_el8.4.0.rpm.sha256'],
    ]);
    expect(skipped.map((s) => s.url)).toEqual(['https://access.redhat.com/errata/RHSA-2025:0002']);
  });
});

describeEachStore('patch artifacts', (s) => {
  let dir: string;
  let ctx: WorkflowContext;
  const requestsFor = (name: string) => server.requests.filter((r) => r === `/file/${name}`).length;
  const configure = (sources: Record<string, unknown>[], extra: Record<string, unknown> = {}, fetchExtra: Record<string, unknown> = {}) => {
    ctx = createTestContext(s.store, {
      fetch: { maxBytes: 1024 * 1024, timeoutMs: 2000, maxRedirects: 2, allowHosts: ['127.0.0.1'], ...fetchExtra },
      artifacts: { dir, sources, ...extra },
    }).ctx;
  };
  const debSource = (extra: Record<string, unknown> = {}) => ({ ecosystem: 'Ubuntu:*', url: `${server.url}/file/{{dir}}/pool/{name}_{version}_amd64.deb`, ...extra });
  /** Each test serves its files under its own folder, so request counts never mix. */
  let prefix: string;
  const serve = (name: string, body: Buffer | string) => server.serve(`${prefix}/${name}`, body);
  const sourceFor = (extra: Record<string, unknown> = {}) => {
    const source = debSource(extra) as { url: string; checksumUrl?: string };
    source.url = source.url.replace('{{dir}}', prefix);
    if (source.checksumUrl) source.checksumUrl = source.checksumUrl.replace('{{dir}}', prefix);
    return source;
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-artifacts-'));
    prefix = `t${Math.random().toString(36).slice(2, 10)}`;
    configure([]);
    return () => rmSync(dir, { recursive: true, force: true });
  });

  it('downloads a configured source file into the content-addressed store, records it, and never downloads it twice', async () => {
    serve(DEB_NAME, DEB);
    configure([sourceFor()]);
    const { caseId } = await insertFixtureCase(s.store.db, { hosts: [{ name: 'web-01' }, { name: 'web-02' }] });

    const first = await fetchCaseArtifacts(ctx, { caseId, actor: 'cli:alice' });
    const url = `${server.url}/file/${prefix}/${DEB_NAME}`;
    const file = path.join(dir, 'sha256', sha256(DEB).slice(0, 2), sha256(DEB));
    expect(first).toEqual({
      caseId,
      advisoryId: 'USN-7001-1',
      skipped: [],
      failed: 0,
      artifacts: [
        { url, origin: 'source', ecosystem: 'Ubuntu:22.04:LTS', package: 'libssl3', version: '3.0.2-0ubuntu1.18', status: 'fetched', sha256: sha256(DEB), size: DEB.length, path: file, error: null },
      ],
    });
    expect(readFileSync(file)).toEqual(DEB);
    expect(readdirSync(path.join(dir, 'tmp'))).toEqual([]);
    expect(await listArtifacts(s.store.db, { caseId })).toEqual([
      {
        url,
        sha256: sha256(DEB),
        size: DEB.length,
        contentType: 'application/octet-stream',
        fetchedAt: '2026-11-23T09:00:00.000Z',
        fetchedBy: 'cli:alice',
        links: [{ caseId, origin: 'source', ecosystem: 'Ubuntu:22.04:LTS', package: 'libssl3', version: '3.0.2-0ubuntu1.18' }],
      },
    ]);
    expect((await listAudit(s.store.db, { subjectType: 'case', subjectId: caseId })).map((a) => a.action)).toEqual(['artifact.fetched']);

    const again = await fetchCaseArtifacts(ctx, { caseId, actor: 'cli:alice' });
    expect(again.artifacts.map((a) => [a.status, a.sha256])).toEqual([['cached', sha256(DEB)]]);
    expect(requestsFor(`${prefix}/${DEB_NAME}`)).toBe(1);
    // Nothing changed, so nothing more is audited.
    expect((await listAudit(s.store.db, { subjectType: 'case', subjectId: caseId })).map((a) => a.action)).toEqual(['artifact.fetched']);
  });

  it('verifies the sha256 a checksum file gives, and discards and audits a file that does not match', async () => {
    serve(DEB_NAME, DEB);
    serve(`${DEB_NAME}.sha256`, `${sha256(DEB)}  libssl3_3.0.2-0ubuntu1.18_amd64.deb\n`);
    configure([sourceFor({ checksumUrl: `${server.url}/file/{{dir}}/pool/{name}_{version}_amd64.deb.sha256` })]);
    const good = await insertFixtureCase(s.store.db, { hosts: [{ name: 'web-01' }] });
    expect((await fetchCaseArtifacts(ctx, { caseId: good.caseId, actor: 'test' })).artifacts[0]).toMatchObject({ status: 'fetched', sha256: sha256(DEB) });

    // Another mirror serves tampered bytes under a checksum that names the real file.
    const tampered = Buffer.concat([DEB, Buffer.from('evil')]);
    configure([
      { ecosystem: 'Ubuntu:22.04:LTS', packages: ['libssl1.1'], url: `${server.url}/file/${prefix}/evil/pool/{name}_{version}_amd64.deb`, checksumUrl: `${server.url}/file/${prefix}/evil/pool/{name}_{version}_amd64.deb.sha256` },
    ]);
    rmSync(path.join(dir, 'sha256'), { recursive: true });
    const bad = await insertFixtureCase(s.store.db, {
      advisoryId: 'USN-7002-1',
      hosts: [{ name: 'web-03', packages: [{ name: 'libssl1.1', fixed: '3.0.2-0ubuntu1.18' }] }],
    });
    serve(`evil/pool/libssl1.1_3.0.2-0ubuntu1.18_amd64.deb`, tampered);
    serve(`evil/pool/libssl1.1_3.0.2-0ubuntu1.18_amd64.deb.sha256`, `${sha256(DEB).toUpperCase()} *libssl1.1.deb\n`);
    const result = await fetchCaseArtifacts(ctx, { caseId: bad.caseId, actor: 'test' });
    expect(result.failed).toBe(1);
    expect(result.artifacts[0]).toMatchObject({
      status: 'failed',
      sha256: null,
      error: { code: 'PD_ARTIFACT_CHECKSUM', message: expect.stringContaining(`has sha256 ${sha256(tampered)}, expected ${sha256(DEB)}; the file was discarded`) },
    });
    expect(existsSync(path.join(dir, 'sha256'))).toBe(false);
    expect(readdirSync(path.join(dir, 'tmp'))).toEqual([]);
    expect(await listArtifacts(s.store.db, { caseId: bad.caseId })).toEqual([]);
    const audit = await listAudit(s.store.db, { subjectType: 'case', subjectId: bad.caseId });
    expect(audit.map((a) => [a.action, (a.after as { sha256: string }).sha256])).toEqual([['artifact.rejected', sha256(tampered)]]);
  });

  it('does not download a new URL whose checksum names a file already in the store', async () => {
    serve(DEB_NAME, DEB);
    configure([sourceFor()]);
    const first = await insertFixtureCase(s.store.db, { hosts: [{ name: 'web-01' }] });
    await fetchCaseArtifacts(ctx, { caseId: first.caseId, actor: 'test' });

    serve(`mirror2/${DEB_NAME}`, DEB);
    serve(`mirror2/${DEB_NAME}.sha256`, sha256(DEB));
    configure([
      { ecosystem: 'Ubuntu:22.04:LTS', url: `${server.url}/file/${prefix}/mirror2/pool/{name}_{version}_amd64.deb`, checksumUrl: `${server.url}/file/${prefix}/mirror2/pool/{name}_{version}_amd64.deb.sha256` },
    ]);
    const second = await insertFixtureCase(s.store.db, { advisoryId: 'USN-7003-1', hosts: [{ name: 'web-02' }] });
    const result = await fetchCaseArtifacts(ctx, { caseId: second.caseId, actor: 'test' });
    expect(result.artifacts[0]).toMatchObject({ status: 'cached', sha256: sha256(DEB), url: `${server.url}/file/${prefix}/mirror2/${DEB_NAME}` });
    expect(requestsFor(`${prefix}/mirror2/${DEB_NAME}`)).toBe(0);
    expect(requestsFor(`${prefix}/mirror2/${DEB_NAME}.sha256`)).toBe(1);
    expect((await listArtifacts(s.store.db)).map((a) => [a.url.split('/file/')[1], a.sha256 === sha256(DEB), a.links.map((l) => l.caseId)])).toEqual([
      [`${prefix}/mirror2/${DEB_NAME}`, true, [second.caseId]],
      [`${prefix}/${DEB_NAME}`, true, [first.caseId]],
    ]);
  });

  it('downloads again when the stored file is gone, and refuses different bytes from a URL it fetched before', async () => {
    serve(DEB_NAME, DEB);
    configure([sourceFor()]);
    const { caseId } = await insertFixtureCase(s.store.db, { hosts: [{ name: 'web-01' }] });
    await fetchCaseArtifacts(ctx, { caseId, actor: 'test' });
    rmSync(artifactPath(dir, sha256(DEB)));
    expect((await fetchCaseArtifacts(ctx, { caseId, actor: 'test' })).artifacts[0]!.status).toBe('fetched');
    expect(requestsFor(`${prefix}/${DEB_NAME}`)).toBe(2);

    rmSync(artifactPath(dir, sha256(DEB)));
    serve(DEB_NAME, Buffer.from('republished with other bytes'));
    const changed = await fetchCaseArtifacts(ctx, { caseId, actor: 'test' });
    expect(changed.artifacts[0]!.error?.code).toBe('PD_ARTIFACT_CHECKSUM');
    expect((await listArtifacts(s.store.db))[0]!.sha256).toBe(sha256(DEB));
  });

  it('takes downloadable CSAF vendor-fix remediation URLs from the stored advisory and skips errata web pages', async () => {
    serve('KB5032190.msu', MSU);
    const { caseId } = await insertFixtureCase(s.store.db, { advisoryId: 'RHSA-2025:0002', hosts: [{ name: 'win-01' }] });
    const remediations = [
      { category: 'vendor_fix', url: 'https://access.redhat.com/errata/RHSA-2025:0002', product_ids: ['AppStream-8.4.0.Z.AUS:python36:3.6'] },
      { category: 'workaround', details: 'Mitigation is either not available or …', product_ids: ['x'] },
      { category: 'vendor_fix', url: `${server.url}/file/${prefix}/KB5032190.msu`, sha256: sha256(MSU), size: MSU.length },
      { category: 'mitigation', url: `${server.url}/file/${prefix}/other.msu` },
    ];
    await s.store.db
      .updateTable('advisories')
      .set({ affected: toJson([{ ecosystem: 'Windows', name: 'kb', binaries: [], ranges: [], versions: [], remediations }]) })
      .where('id', '=', 'RHSA-2025:0002')
      .execute();
    const result = await fetchCaseArtifacts(ctx, { caseId, actor: 'test' });
    expect(result.skipped).toEqual([{ url: 'https://access.redhat.com/errata/RHSA-2025:0002', reason: expect.stringContaining('web page') }]);
    expect(result.artifacts.map((a) => [a.origin, a.status, a.sha256, a.size])).toEqual([['csaf', 'fetched', sha256(MSU), MSU.length]]);
    expect(requestsFor(`${prefix}/other.msu`)).toBe(0);
  });

  it('reports a failed download and a too-large file without stopping the other artifacts or leaving partial files', async () => {
    serve(DEB_NAME, DEB);
    const { caseId } = await insertFixtureCase(s.store.db, {
      hosts: [{ name: 'web-01', packages: [{ name: 'libssl3', fixed: '3.0.2-0ubuntu1.18' }, { name: 'missing', fixed: '1.0' }, { name: 'big', fixed: '2.0' }] }],
    });
    serve('pool/big_2.0_amd64.deb', Buffer.alloc(5000, 1));
    configure([sourceFor()], { maxBytes: 4096 });
    const result = await fetchCaseArtifacts(ctx, { caseId, actor: 'test' });
    expect(result.artifacts.map((a) => [a.package, a.status, a.error?.code ?? null])).toEqual([
      ['big', 'failed', 'PD_ARTIFACT_TOO_LARGE'],
      ['libssl3', 'fetched', null],
      ['missing', 'failed', 'PD_ARTIFACT_HTTP'],
    ]);
    expect(result.failed).toBe(2);
    expect(readdirSync(path.join(dir, 'tmp'))).toEqual([]);
  });

  it('refuses a mirror on a loopback or private address unless config fetch.allowHosts names it', async () => {
    serve(DEB_NAME, DEB);
    configure([sourceFor()], {}, { allowHosts: [] });
    const { caseId } = await insertFixtureCase(s.store.db, { hosts: [{ name: 'web-01' }] });
    const result = await fetchCaseArtifacts(ctx, { caseId, actor: 'test' });
    expect(result.artifacts[0]!.error).toEqual({ code: 'PD_ARTIFACT_BLOCKED_ADDRESS', message: expect.stringContaining('fetch.allowHosts') });
    expect(requestsFor(`${prefix}/${DEB_NAME}`)).toBe(0);
  });

  it('says what to configure when a case names no file, and refuses an unknown case', async () => {
    const { caseId } = await insertFixtureCase(s.store.db, { hosts: [{ name: 'web-01' }] });
    await expect(fetchCaseArtifacts(ctx, { caseId, actor: 'test' })).rejects.toMatchObject({ code: 'PD_ARTIFACT_NONE', message: expect.stringContaining('artifacts.sources') });
    await expect(fetchCaseArtifacts(ctx, { caseId: 999, actor: 'test' })).rejects.toMatchObject({ code: 'PD_CASE_NOT_FOUND' });
  });

  it('verify re-hashes the stored files and reports missing and corrupt ones', async () => {
    serve(DEB_NAME, DEB);
    serve('pool/zlib1g_1.3_amd64.deb', 'zlib bytes');
    configure([sourceFor()]);
    const { caseId } = await insertFixtureCase(s.store.db, { hosts: [{ name: 'web-01', packages: [{ name: 'libssl3', fixed: '3.0.2-0ubuntu1.18' }, { name: 'zlib1g', fixed: '1.3' }] }] });
    await fetchCaseArtifacts(ctx, { caseId, actor: 'test' });
    expect(await verifyArtifacts(ctx)).toEqual({ checked: 2, ok: 2, problems: [] });

    writeFileSync(artifactPath(dir, sha256(DEB)), Buffer.concat([DEB.subarray(0, 10), Buffer.from('X'), DEB.subarray(11)]));
    rmSync(artifactPath(dir, sha256('zlib bytes')));
    const result = await verifyArtifacts(ctx);
    expect(result.checked).toBe(2);
    expect(result.ok).toBe(0);
    expect(result.problems.map((p) => [p.sha256, p.problem]).sort()).toEqual(
      [
        [sha256(DEB), 'corrupt'],
        [sha256('zlib bytes'), 'missing'],
      ].sort(),
    );
  });
});
