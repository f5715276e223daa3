import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createMessage, generateKey, readPrivateKey, sign } from 'openpgp';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { csafAdvisoryId, csafFeed, parsePurl } from '../../src/feeds/csaf.js';
import type { FeedReader } from '../../src/feeds/types.js';

const FIXTURES = new URL('../fixtures/feeds/csaf/', import.meta.url).pathname;
const SCHWARZ = `${FIXTURES}schwarz-informatik`;
const REDHAT = `${FIXTURES}redhat/rhsa-2025_0002.json`;
const NOW = new Date('2026-11-23T10:00:00.000Z');
const DOC = '2025/schwarz_informatik-c1234.json';

/** A reader over the real disk, as the workflow lends it (no size limits needed here). */
const diskReader: FeedReader = {
  now: NOW,
  ingestedStamp: () => null,
  async readFile(file) {
    const info = await stat(file).catch(() => null);
    return info === null || info.isDirectory() ? null : readFile(file);
  },
  async listFiles(dir, extensions) {
    const entries = await readdir(dir, { recursive: true });
    return entries
      .filter((e) => extensions.some((ext) => e.endsWith(ext)))
      .map((e) => path.join(dir, e))
      .sort();
  },
  fetch: async () => null,
};

const collectDir = (dir: string) => csafFeed.collect!({ type: 'file', path: dir }, diskReader);
const sha = (algorithm: string, body: Buffer) => createHash(algorithm).update(body).digest('hex');

/** An armoured detached signature over `body` by a freshly generated key that the provider does not list. */
let foreignSignature: (body: Buffer) => Promise<string>;
beforeAll(async () => {
  const { privateKey } = await generateKey({ type: 'curve25519', userIDs: [{ name: 'Mallory', email: 'mallory@example.invalid' }], date: new Date('2025-01-01T00:00:00Z') });
  const key = await readPrivateKey({ armoredKey: privateKey });
  foreignSignature = async (body) =>
    sign({ message: await createMessage({ binary: new Uint8Array(body) }), signingKeys: key, detached: true, date: new Date('2025-12-12T00:00:00Z') });
});

describe('csaf collect: hash and OpenPGP checks', () => {
  let dir: string;
  beforeEach(() => {
    dir = path.join(mkdtempSync(path.join(tmpdir(), 'patchdeck-csaf-')), 'provider');
    cpSync(SCHWARZ, dir, { recursive: true });
  });
  afterEach(() => rmSync(path.dirname(dir), { recursive: true, force: true }));

  it('verifies both real Schwarz Informatik documents with the key the provider lists', async () => {
    const collection = await collectDir(dir);
    expect(collection.quarantined).toEqual([]);
    expect(collection.errors).toEqual([]);
    expect(collection.documents.map((d) => path.relative(dir, d.location)).sort()).toEqual([DOC, '2025/schwarz_informatik-c1235.json']);
    for (const document of collection.documents) {
      expect(document.provenance).toEqual({ verification: 'signed', origin: 'file', signer: 'C3C70670C1BC7D803C13BE0808B22DD8E330E6E2', hashes: ['sha256', 'sha512'] });
    }
  });

  it('quarantines a document with one byte changed: the hash no longer matches', async () => {
    const file = path.join(dir, DOC);
    const body = readFileSync(file);
    body[200] = body[200]! ^ 0x01;
    writeFileSync(file, body);
    const collection = await collectDir(dir);
    expect(collection.documents).toHaveLength(1);
    expect(collection.quarantined).toEqual([
      expect.objectContaining({ location: file, reason: 'hash_mismatch', detail: expect.stringContaining(`sha256 of the document is ${sha('sha256', body)}`) }),
    ]);
  });

  it('quarantines a document whose hash files were updated but whose signature comes from another key', async () => {
    const file = path.join(dir, DOC);
    const body = Buffer.from(readFileSync(file, 'utf8').replace('Server Control', 'Server Kontrol'));
    writeFileSync(file, body);
    writeFileSync(`${file}.sha256`, `${sha('sha256', body)}  schwarz_informatik-c1234.json\n`);
    writeFileSync(`${file}.sha512`, `${sha('sha512', body)}  schwarz_informatik-c1234.json\n`);
    writeFileSync(`${file}.asc`, await foreignSignature(body));
    const collection = await collectDir(dir);
    expect(collection.quarantined).toEqual([expect.objectContaining({ location: file, reason: 'unknown_key', detail: expect.stringContaining('not among the provider') })]);
    expect(collection.documents).toHaveLength(1);
  });

  it('quarantines a document whose signature is from the right key but over other bytes', async () => {
    cpSync(path.join(dir, '2025/schwarz_informatik-c1235.json.asc'), path.join(dir, `${DOC}.asc`));
    const collection = await collectDir(dir);
    expect(collection.quarantined).toEqual([expect.objectContaining({ reason: 'signature_invalid' })]);
  });

  it('quarantines a document without its .asc when the provider publishes keys', async () => {
    unlinkSync(path.join(dir, `${DOC}.asc`));
    const collection = await collectDir(dir);
    expect(collection.quarantined).toEqual([expect.objectContaining({ reason: 'signature_missing', detail: expect.stringContaining('.asc does not exist') })]);
  });

  it('refuses a key file whose fingerprint is not the one the metadata lists', async () => {
    const metadataFile = path.join(dir, 'provider-metadata.json');
    const metadata = JSON.parse(readFileSync(metadataFile, 'utf8')) as { public_openpgp_keys: { fingerprint: string }[] };
    metadata.public_openpgp_keys[0]!.fingerprint = '0000000000000000000000000000000000000000';
    writeFileSync(metadataFile, JSON.stringify(metadata));
    const collection = await collectDir(dir);
    expect(collection.documents).toEqual([]);
    expect(collection.quarantined.map((q) => q.reason)).toEqual(['unknown_key', 'unknown_key']);
    expect(collection.quarantined[0]!.detail).toContain('has fingerprint C3C70670C1BC7D803C13BE0808B22DD8E330E6E2, but the provider metadata lists 0000');
  });

  it('reads nothing a listing points to outside the provider directory', async () => {
    writeFileSync(path.join(dir, 'changes.csv'), `../../etc/passwd,2025-12-11T22:12:34+00:00\n${DOC},2025-12-11T22:12:34+00:00\n`);
    const collection = await collectDir(dir);
    expect(collection.documents).toHaveLength(1);
    expect(collection.errors).toEqual([expect.objectContaining({ location: expect.stringContaining('../../etc/passwd'), message: expect.stringContaining('outside the provider directory') })]);
  });

  it('verifies a provider directory found inside a plain directory of documents', async () => {
    const top = path.dirname(dir);
    cpSync(REDHAT, path.join(top, 'rhsa-2025_0002.json'));
    unlinkSync(path.join(dir, `${DOC}.asc`));
    const collection = await collectDir(top);
    expect(collection.documents.map((d) => [path.relative(top, d.location), d.provenance?.verification])).toEqual([
      ['rhsa-2025_0002.json', 'unverified'],
      ['provider/2025/schwarz_informatik-c1235.json', 'signed'],
    ]);
    expect(collection.quarantined.map((q) => [path.relative(top, q.location), q.reason])).toEqual([[`provider/${DOC}`, 'signature_missing']]);
  });

  it('takes a document without signature files as unverified when no provider keys apply (Red Hat)', async () => {
    const collection = await collectDir(REDHAT);
    expect(collection.quarantined).toEqual([]);
    expect(collection.documents.map((d) => d.provenance)).toEqual([{ verification: 'unverified', origin: 'file', signer: null, hashes: [] }]);
  });
});

describe('csaf parse', () => {
  it('normalises the Schwarz documents: safe id, CVE, product name kept though the tree has no product', async () => {
    const { documents } = await collectDir(SCHWARZ);
    const result = await csafFeed.parse(documents, { feedName: 'csaf' });
    expect(result.errors).toEqual([]);
    const advisory = result.advisories.find((a) => a.id === 'Schwarz_Informatik-c1234')!;
    expect(advisory).toMatchObject({
      source: 'csaf',
      trust: 'authoritative',
      title: 'Remote Code Execution Vulnerability in React and Next.js Frameworks: December 2025',
      cves: ['CVE-2025-55182'],
      publishedAt: '2025-12-04T22:33:00.000Z',
      modifiedAt: '2025-12-11T22:12:34.000Z',
      affected: [],
      cvss: null,
      products: [{ id: '', name: 'Server Control', cpe: null, purl: null, status: [] }],
      provenance: { verification: 'signed', signer: 'C3C70670C1BC7D803C13BE0808B22DD8E330E6E2' },
    });
    expect(advisory.summary).toMatch(/^On December 3, 2025, the React team/);
  });

  it('normalises RHSA-2025:0002: purl packages with fixed versions, CVSS, severity, remediations and threats', async () => {
    const { documents } = await collectDir(REDHAT);
    const [advisory] = (await csafFeed.parse(documents, { feedName: 'csaf' })).advisories;
    expect(advisory).toMatchObject({
      id: 'RHSA-2025:0002',
      trust: 'authoritative',
      cves: ['CVE-2024-53899'],
      cvss: { score: 7.8, vector: 'CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H' },
      vendorSeverity: 'Important',
      url: 'https://access.redhat.com/errata/RHSA-2025:0002',
      provenance: { verification: 'unverified', origin: 'file' },
    });
    const wheel = advisory!.affected.find((a) => a.name === 'python3-wheel');
    // The epoch comes from the purl qualifier; the ecosystem major release from the platform CPE.
    expect(wheel).toEqual({
      ecosystem: 'Red Hat:8',
      name: 'python3-wheel',
      binaries: [],
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1:0.31.1-2.module+el8.4.0+15040+36b018e7.1' }] }],
      versions: [],
    });
    // The module stream (pkg:rpmmod) is a product, not an installable package.
    expect(advisory!.affected.some((a) => a.name === 'python36' && a.ranges[0]?.events[1]?.fixed?.startsWith('3.6:'))).toBe(false);
    expect(advisory!.products!.find((p) => p.id === 'AppStream-8.4.0.Z.AUS')).toMatchObject({ cpe: 'cpe:/a:redhat:rhel_aus:8.4::appstream', status: [] });
    expect(advisory!.products!.filter((p) => p.status.includes('fixed'))).toHaveLength(137);
    expect(advisory!.remediations!.map((r) => [r.category, r.restartRequired, r.productIds.length])).toEqual([
      ['vendor_fix', 'none', 137],
      ['workaround', null, 137],
    ]);
    expect(advisory!.threats).toEqual([{ category: 'impact', details: 'Important', productIds: [] }]);
  });

  it('reports a JSON document that is not CSAF, and keeps reading the others', async () => {
    const result = await csafFeed.parse(
      [
        { location: 'a.json', body: Buffer.from('{"document": {"title": "x"}}') },
        { location: 'b.json', body: Buffer.from('{"document": {') },
      ],
      { feedName: 'csaf' },
    );
    expect(result.advisories).toEqual([]);
    expect(result.errors).toEqual([
      { location: 'a.json', scope: 'document', message: 'is not a CSAF document: document.tracking: Invalid input: expected object, received undefined' },
      expect.objectContaining({ location: 'b.json', scope: 'document', message: expect.stringContaining('ends early') }),
    ]);
  });

  it('reads a withdrawn document (CSAF 2.1 csaf_withdrawn) or one whose every CVE is rejected as withdrawn, at its current release', async () => {
    const base = JSON.parse(readFileSync(REDHAT, 'utf8')) as { document: { category: string; tracking: { current_release_date: string } }; vulnerabilities: { notes?: unknown[] }[] };
    const parse = async (doc: unknown) => (await csafFeed.parse([{ location: 'r.json', body: Buffer.from(JSON.stringify(doc)) }], { feedName: 'csaf' })).advisories[0]!;
    expect((await parse(base)).withdrawnAt).toBeNull();
    const released = new Date(base.document.tracking.current_release_date).toISOString();
    expect((await parse({ ...base, document: { ...base.document, category: 'csaf_withdrawn' } })).withdrawnAt).toBe(released);
    const rejected = { ...base, vulnerabilities: base.vulnerabilities.map((v) => ({ ...v, notes: [{ category: 'description', text: '** REJECT ** This candidate was withdrawn by its CNA.' }] })) };
    expect((await parse(rejected)).withdrawnAt).toBe(released);
    // One rejected CVE among others does not withdraw the advisory.
    const partly = { ...base, vulnerabilities: [...base.vulnerabilities, { cve: 'CVE-2099-0001', notes: [{ category: 'description', text: '** REJECT ** duplicate' }] }] };
    expect((await parse(partly)).withdrawnAt).toBeNull();
  });

  it('treats a document parsed without provenance as a hint', async () => {
    const result = await csafFeed.parse([{ location: 'r.json', body: readFileSync(REDHAT) }], { feedName: 'csaf' });
    expect(result.advisories[0]!.trust).toBe('hint');
  });
});

describe('csaf helpers', () => {
  it('makes tracking ids safe for URLs and keeps the usual ones', () => {
    expect(csafAdvisoryId('Schwarz Informatik-c1234')).toBe('Schwarz_Informatik-c1234');
    expect(csafAdvisoryId('RHSA-2025:0002')).toBe('RHSA-2025:0002');
    expect(csafAdvisoryId(' a/b?c#d  e ')).toBe('a_b_c_d_e');
  });

  it('reads purls with namespaces, percent-encoding and qualifiers', () => {
    expect(parsePurl('pkg:rpm/redhat/python3-wheel@0.31.1-2.module%2Bel8.4.0?arch=noarch&epoch=1')).toEqual({
      type: 'rpm',
      namespace: 'redhat',
      name: 'python3-wheel',
      version: '0.31.1-2.module+el8.4.0',
      qualifiers: new Map([
        ['arch', 'noarch'],
        ['epoch', '1'],
      ]),
    });
    expect(parsePurl('pkg:npm/%40types/node@20.1.0')).toMatchObject({ namespace: '@types', name: 'node', version: '20.1.0' });
    expect(parsePurl('pkg:npm/left-pad')).toBeNull();
    expect(parsePurl('cpe:/a:redhat')).toBeNull();
  });
});
