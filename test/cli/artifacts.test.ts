import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { fixedClock } from '../../src/core/clock.js';
import { CLI_NOW, insertFixtureCase } from '../helpers/case-fixtures.js';
import { startFeedServer, type FeedServer } from '../helpers/feed-server.js';
import { describeEachStore } from '../helpers/stores.js';
import { runCliCaptured } from '../helpers/cli.js';

const DEB = Buffer.from('libssl3 3.0.2-0ubuntu1.18 package bytes');
const DEB_SHA = createHash('sha256').update(DEB).digest('hex');

let server: FeedServer;
beforeAll(async () => {
  server = await startFeedServer();
});
afterAll(async () => {
  await server.close();
});

describeEachStore('patchdeck patches fetch / artifacts commands', (s) => {
  let dir: string;
  let configFile: string;
  let prefix: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-cli-artifacts-'));
    prefix = `c${Math.random().toString(36).slice(2, 10)}`;
    configFile = path.join(dir, 'patchdeck.yaml');
    // A relative artifacts.dir is relative to where the command runs (io.cwd below).
    writeFileSync(
      configFile,
      `fetch: { allowHosts: ['127.0.0.1'] }\nartifacts:\n  dir: ./store\n  sources:\n    - { ecosystem: 'Ubuntu:*', url: '${server.url}/file/${prefix}/pool/{name}_{version}_amd64.deb' }\n`,
    );
    return () => rmSync(dir, { recursive: true, force: true });
  });

  async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    return runCliCaptured(argv, { env: { DATABASE_URL: s.url, PATCHDECK_CONFIG: configFile, USER: 'carol', LOG_LEVEL: 'silent' }, cwd: dir, clock: fixedClock(CLI_NOW) });
  }

  it('fetches a case’s files into the store, lists and verifies them, and does not download them again', async () => {
    server.serve(`${prefix}/pool/libssl3_3.0.2-0ubuntu1.18_amd64.deb`, DEB);
    const { caseId } = await insertFixtureCase(s.store.db, { hosts: [{ name: 'web-01' }] });

    const fetched = await run('patches', 'fetch', String(caseId), '--json');
    expect(fetched.code).toBe(0);
    const file = path.join(dir, 'store', 'sha256', DEB_SHA.slice(0, 2), DEB_SHA);
    expect(JSON.parse(fetched.out)).toMatchObject({ caseId, failed: 0, artifacts: [{ status: 'fetched', sha256: DEB_SHA, size: DEB.length, path: file }] });
    expect(existsSync(file)).toBe(true);

    const again = await run('patches', 'fetch', String(caseId));
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/^STATUS\s+SIZE\s+SHA256\s+PACKAGE\s+URL\ncached\s+39 B\s+[0-9a-f]{16}\s+libssl3 3\.0\.2-0ubuntu1\.18\s+http:/);
    expect(server.requests.filter((r) => r.startsWith(`/file/${prefix}/`))).toHaveLength(1);

    const listed = await run('artifacts', 'list', '--case', String(caseId));
    expect(listed.code).toBe(0);
    expect(listed.out).toContain(`${DEB_SHA.slice(0, 16)}  39 B  `);
    expect(listed.out).toContain(`#${caseId}`);
    const json = JSON.parse((await run('artifacts', 'list', '--json')).out) as { sha256: string; path: string; links: unknown[] }[];
    expect(json.map((a) => [a.sha256, a.path, a.links.length])).toEqual([[DEB_SHA, file, 1]]);
    // A case that does not exist is an error, not an empty list (tested further in filters.test.ts).
    expect(await run('artifacts', 'list', '--case', '999')).toMatchObject({ code: 1, err: expect.stringContaining('[PD_CASE_NOT_FOUND] there is no case 999') });

    const verified = await run('artifacts', 'verify');
    expect(verified).toEqual({ code: 0, out: '1 artifact files checked: 1 ok, 0 with problems\n', err: '' });
    writeFileSync(file, 'tampered');
    const broken = await run('artifacts', 'verify', '--json');
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.out)).toMatchObject({ checked: 1, ok: 0, problems: [{ sha256: DEB_SHA, problem: 'corrupt' }] });
  });

  it('exits 1 with the reason when a download fails, 1 for an unknown case and 2 for a bad case id', async () => {
    const { caseId } = await insertFixtureCase(s.store.db, { hosts: [{ name: 'web-01' }] });
    const failed = await run('patches', 'fetch', String(caseId));
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(/\nfailed\s+-\s+-\s+libssl3/);
    expect(failed.err).toMatch(/^patchdeck: \[PD_ARTIFACT_HTTP\] \S+: .*answered HTTP 404\n/m);
    expect(await run('patches', 'fetch', '999')).toMatchObject({ code: 1, err: expect.stringContaining('[PD_CASE_NOT_FOUND]') });
    expect((await run('patches', 'fetch', 'twelve')).code).toBe(2);
  });

  it('describes the commands in --help, next to patches list', async () => {
    const help = await run('patches', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/list \[options\]\s+List cases/);
    expect(help.out).toMatch(/fetch \[options\] <case>\s+Download the patch files a case needs/);
    expect((await run('artifacts', '--help')).out).toMatch(/verify \[options\]\s+Re-hash every stored artifact file/);
  });
});
