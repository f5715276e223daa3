import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/app/logger.js';
import { runCli } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { parseConfig } from '../../src/config/load.js';
import { fixedClock } from '../../src/core/clock.js';
import { listAudit, verifyAuditChain } from '../../src/store/audit.js';
import { fromJson } from '../../src/store/json.js';
import { listQuarantined } from '../../src/store/queries/quarantine.js';
import type { WorkflowContext } from '../../src/workflow/context.js';
import { ingestFeedFile, ingestFeedUrl } from '../../src/workflow/feeds.js';
import { startFeedServer, type FeedServer } from '../helpers/feed-server.js';
import { describeEachStore } from '../helpers/stores.js';

const FIXTURES = new URL('../fixtures/feeds/', import.meta.url).pathname;
const SCHWARZ = `${FIXTURES}csaf/schwarz-informatik`;
const REDHAT = `${FIXTURES}csaf/redhat/rhsa-2025_0002.json`;
const MSRC = `${FIXTURES}msrc/cvrfDocument-2023-Nov.xml`;
const DOC = '2025/schwarz_informatik-c1234.json';
const T0 = '2026-11-23T10:00:00.000Z';
const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('hex');

/** Every file of the provider directory under `/file/<prefix>/…`, the metadata's URLs pointed at the local server. */
function serveProvider(server: FeedServer, prefix: string): string {
  const base = `${server.url}/file/${prefix}/`;
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => (statSync(path.join(dir, name)).isDirectory() ? walk(path.join(dir, name)).map((f) => `${name}/${f}`) : [name]));
  for (const file of walk(SCHWARZ)) {
    let body = readFileSync(path.join(SCHWARZ, file));
    if (file === 'provider-metadata.json') body = Buffer.from(body.toString('utf8').replaceAll('https://schwarz-informatik.at/.well-known/csaf/', base));
    server.serve(`${prefix}/${file}`, body);
  }
  return `${base}provider-metadata.json`;
}

let server: FeedServer;
let metadataUrl: string;
beforeAll(async () => {
  server = await startFeedServer();
  metadataUrl = serveProvider(server, 'csaf');
  const rolie = {
    feed: {
      id: 'schwarz-white',
      entry: [{ id: 'c1234', content: { type: 'application/json', src: `${server.url}/file/csaf/${DOC}` }, link: [{ rel: 'self', href: `${server.url}/file/csaf/${DOC}` }] }],
    },
  };
  server.serve('rolie/white.json', JSON.stringify(rolie), 'application/json');
});
afterAll(async () => {
  await server.close();
});

describeEachStore('csaf and msrc ingest', (s) => {
  let ctx: WorkflowContext;
  let scratch: string;
  let provider: string;
  beforeEach(() => {
    ctx = {
      store: s.store,
      clock: fixedClock(T0),
      logger: createSilentLogger(),
      config: parseConfig({ fetch: { maxBytes: 2 * 1024 * 1024, timeoutMs: 5000, maxRedirects: 2, allowHosts: ['127.0.0.1'] } }),
    };
    scratch = mkdtempSync(path.join(tmpdir(), 'patchdeck-csaf-ingest-'));
    provider = path.join(scratch, 'provider');
    cpSync(SCHWARZ, provider, { recursive: true });
    return () => rmSync(scratch, { recursive: true, force: true });
  });

  const advisoryRow = (id: string) => s.store.db.selectFrom('advisories').selectAll().where('id', '=', id).executeTakeFirst();
  const packagesOf = async (id: string) =>
    (await s.store.db.selectFrom('advisory_packages').select(['ecosystem', 'name']).where('advisory_id', '=', id).execute()).map((r) => `${r.ecosystem}/${r.name}`);

  it('ingests a signed provider directory; the advisory keeps how it was verified', async () => {
    const result = await ingestFeedFile(ctx, { kind: 'csaf', path: provider, name: 'schwarz', actor: 'alice' });
    expect(result).toMatchObject({ feed: 'schwarz', documents: 2, added: 2, failed: 0, quarantined: 0, errors: [] });
    const row = await advisoryRow('Schwarz_Informatik-c1234');
    expect(row).toMatchObject({ source: 'csaf', trust: 'authoritative' });
    expect(fromJson<Record<string, unknown>>(row!.vendor_details, {})).toMatchObject({
      provenance: { verification: 'signed', origin: 'file', signer: 'C3C70670C1BC7D803C13BE0808B22DD8E330E6E2', hashes: ['sha256', 'sha512'] },
      products: [{ name: 'Server Control' }],
    });
    const again = await ingestFeedFile(ctx, { kind: 'csaf', path: provider, name: 'schwarz', actor: 'alice' });
    expect(again).toMatchObject({ added: 0, updated: 0, unchanged: 2 });
  });

  it('quarantines a tampered document with an audit event, ingests the other, and keeps what was stored before', async () => {
    await ingestFeedFile(ctx, { kind: 'csaf', path: provider, name: 'schwarz', actor: 'alice' });
    const before = await advisoryRow('Schwarz_Informatik-c1234');

    const file = path.join(provider, DOC);
    const forged = Buffer.from(readFileSync(file, 'utf8').replace('Remote Code Execution Vulnerability', 'Harmless Notice'));
    writeFileSync(file, forged);
    const result = await ingestFeedFile(ctx, { kind: 'csaf', path: provider, name: 'schwarz', actor: 'alice' });
    expect(result).toMatchObject({ documents: 2, added: 0, updated: 0, unchanged: 1, failed: 1, quarantined: 1 });
    expect(result.errors).toEqual([{ location: file, scope: 'document', message: expect.stringMatching(/^quarantined \(hash_mismatch\): sha256 of the document is /) }]);

    // The stored advisory is the verified one, untouched.
    expect(await advisoryRow('Schwarz_Informatik-c1234')).toEqual(before);
    expect(before!.title).toContain('Remote Code Execution');

    const quarantined = await listQuarantined(s.store.db);
    expect(quarantined).toEqual([{ id: expect.any(Number), feed: 'schwarz', location: file, reason: 'hash_mismatch', detail: expect.any(String), sha256: sha256(forged), receivedAt: T0 }]);
    const audit = await listAudit(s.store.db, { subjectType: 'feed', subjectId: 'schwarz' });
    const event = audit.find((e) => e.action === 'feed.document_quarantined');
    expect(event).toMatchObject({ actor: 'alice', after: { security: true, kind: 'csaf', location: file, reason: 'hash_mismatch', sha256: sha256(forged) } });
    // Written in the run's transaction, right after its feed.ingested event.
    expect(audit.map((e) => e.action).slice(-2)).toEqual(['feed.ingested', 'feed.document_quarantined']);
    expect(await verifyAuditChain(s.store.db)).toBeNull();
    const [state] = await s.store.db.selectFrom('feed_state').selectAll().where('name', '=', 'schwarz').execute();
    expect(state!.last_error).toContain('quarantined (hash_mismatch)');
  });

  it('keeps the quarantine record when every document is refused (run still succeeds)', async () => {
    rmSync(path.join(provider, `${DOC}.asc`));
    rmSync(path.join(provider, '2025/schwarz_informatik-c1235.json.asc'));
    const result = await ingestFeedFile(ctx, { kind: 'csaf', path: provider, name: 'schwarz', actor: 'alice' });
    expect(result).toMatchObject({ added: 0, quarantined: 2, failed: 2 });
    expect((await listQuarantined(s.store.db)).map((q) => q.reason)).toEqual(['signature_missing', 'signature_missing']);
    expect(await advisoryRow('Schwarz_Informatik-c1234')).toBeUndefined();
  });

  it('ingests the unsigned Red Hat document named on disk as authoritative, its packages indexed', async () => {
    const result = await ingestFeedFile(ctx, { kind: 'csaf', path: REDHAT, name: 'redhat', actor: 'alice' });
    expect(result).toMatchObject({ documents: 1, added: 1, quarantined: 0 });
    const row = await advisoryRow('RHSA-2025:0002');
    expect(row).toMatchObject({ trust: 'authoritative', cvss_score: 7.8, vendor_severity: 'Important' });
    expect(fromJson<{ provenance: unknown }>(row!.vendor_details, { provenance: null }).provenance).toEqual({
      verification: 'unverified',
      origin: 'file',
      signer: null,
      hashes: [],
    });
    expect(await packagesOf('RHSA-2025:0002')).toContain('Red Hat:8/python3-wheel');
  });

  it('follows provider-metadata.json → directory → changes.csv over HTTP, fetching the listed key', async () => {
    const result = await ingestFeedUrl(ctx, { kind: 'csaf', url: metadataUrl, name: 'schwarz-web', actor: 'alice' });
    expect(result).toMatchObject({ documents: 2, added: 2, quarantined: 0, failed: 0 });
    expect(server.requests).toEqual(
      expect.arrayContaining(['/file/csaf/openpgp/C3C70670C1BC7D803C13BE0808B22DD8E330E6E2.asc', '/file/csaf/changes.csv', `/file/csaf/${DOC}.asc`, `/file/csaf/${DOC}.sha512`]),
    );
    const row = await advisoryRow('Schwarz_Informatik-c1235');
    expect(row).toMatchObject({ trust: 'authoritative' });
    expect(fromJson<{ provenance: unknown }>(row!.vendor_details, { provenance: null }).provenance).toMatchObject({ verification: 'signed', origin: 'url' });
  });

  it('reads a ROLIE feed URL without provider keys as unverified hints', async () => {
    const result = await ingestFeedUrl(ctx, { kind: 'csaf', url: `${server.url}/file/rolie/white.json`, name: 'rolie', actor: 'alice' });
    expect(result).toMatchObject({ documents: 1, added: 1, quarantined: 0 });
    expect(await advisoryRow('Schwarz_Informatik-c1234')).toMatchObject({ trust: 'hint' });
  });

  it('fails the run, recorded on feed_state, when the provider metadata is missing', async () => {
    await expect(ingestFeedUrl(ctx, { kind: 'csaf', url: `${server.url}/file/csaf/nope.json`, name: 'schwarz-web', actor: 'alice' })).rejects.toMatchObject({
      code: 'PD_FEED_HTTP',
    });
    const [state] = await s.store.db.selectFrom('feed_state').selectAll().where('name', '=', 'schwarz-web').execute();
    expect(Number(state!.consecutive_failures)).toBe(1);
  });

  it('ingests the MSRC November 2023 document: 106 advisories, KB numbers indexed as Windows packages', async () => {
    const result = await ingestFeedFile(ctx, { kind: 'msrc', path: MSRC, actor: 'alice' });
    expect(result).toMatchObject({ feed: 'msrc', documents: 1, added: 106, failed: 0 });
    const row = await advisoryRow('MSRC-CVE-2023-36033');
    expect(row).toMatchObject({ source: 'msrc', trust: 'authoritative', cvss_score: 7.8, vendor_severity: 'Important' });
    expect(await packagesOf('MSRC-CVE-2023-36033')).toContain('Windows/KB5032189');
    const details = fromJson<{ remediations: { kb: string | null; supercedence: string | null; restartRequired: string | null }[] }>(row!.vendor_details, { remediations: [] });
    expect(details.remediations).toContainEqual(expect.objectContaining({ kb: 'KB5032196', supercedence: '5031361', restartRequired: 'Yes' }));
  });
});

describe('patchdeck feeds ingest --kind csaf / msrc', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-cli-csaf-'));
    writeFileSync(path.join(dir, 'patchdeck.yaml'), 'timezone: UTC\n');
    return () => rmSync(dir, { recursive: true, force: true });
  });

  function capture(): { io: CliIo; out: () => string; err: () => string } {
    let out = '';
    let err = '';
    return {
      io: {
        stdout: (t) => void (out += t),
        stderr: (t) => void (err += t),
        readStdin: async () => '',
        // The quarantine warning is asserted through stderr and the exit code, not the log.
        env: { DATABASE_URL: `sqlite:${path.join(dir, 'pd.db')}`, PATCHDECK_CONFIG: path.join(dir, 'patchdeck.yaml'), USER: 'carol', LOG_LEVEL: 'error' },
        cwd: FIXTURES,
      },
      out: () => out,
      err: () => err,
    };
  }
  const clock = fixedClock(T0);

  it('ingests a provider directory and an MSRC document through the existing command', async () => {
    const csaf = capture();
    expect(await runCli(['feeds', 'ingest', '--kind', 'csaf', '--file', 'csaf/schwarz-informatik'], csaf.io, { clock })).toBe(0);
    expect(csaf.out()).toBe(`csaf (csaf) from ${SCHWARZ}: 2 added, 0 updated, 0 unchanged, 0 failed\n`);
    const msrc = capture();
    expect(await runCli(['feeds', 'ingest', '--kind', 'msrc', '--file', 'msrc/cvrfDocument-2023-Nov.xml', '--json'], msrc.io, { clock })).toBe(0);
    expect(JSON.parse(msrc.out())).toMatchObject({ kind: 'msrc', added: 106, quarantined: 0 });
  });

  it('exits 1 and names the quarantined document', async () => {
    const copy = path.join(dir, 'provider');
    cpSync(SCHWARZ, copy, { recursive: true });
    writeFileSync(path.join(copy, `${DOC}.sha256`), `${'0'.repeat(64)}  schwarz_informatik-c1234.json\n`);
    const run = capture();
    expect(await runCli(['feeds', 'ingest', '--kind', 'csaf', '--file', copy], run.io, { clock })).toBe(1);
    expect(run.out()).toContain('1 added, 0 updated, 0 unchanged, 1 failed');
    expect(run.err()).toContain(`patchdeck: skipped ${path.join(copy, DOC)}: quarantined (hash_mismatch)`);
  });
});
